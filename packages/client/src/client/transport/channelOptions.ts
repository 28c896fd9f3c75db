/**
 * The client's `channelOptions`: the keys of grpc-js's channel options that the client's own
 * transport honours, under the same names so that existing settings keep working. Any other key is
 * refused rather than silently ignored.
 */
import { ValidationError } from "../../errors.js";
import type { HttpProxy } from "./httpProxy.js";

/** Channel options the client honours (grpc-js's names). */
export interface ChannelOptions {
  /** Largest reply message accepted, in bytes; -1 for no limit but the 4 GiB the prefix can state. Default 64 MiB. */
  "grpc.max_receive_message_length"?: number;
  /** Largest request message sent, in bytes; -1 for no limit. Default 16 MiB. */
  "grpc.max_send_message_length"?: number;
  /** Interval of HTTP/2 keepalive pings while calls are in flight, in ms. Default: no pings. */
  "grpc.keepalive_time_ms"?: number;
  /** How long a keepalive ping may go unanswered before the connection is dropped, in ms. Default 20000. */
  "grpc.keepalive_timeout_ms"?: number;
  /** 1: keep pinging with no call in flight too. Default 0. */
  "grpc.keepalive_permit_without_calls"?: number;
  /** The name the server's certificate is checked against (and sent as SNI), instead of the host. */
  "grpc.ssl_target_name_override"?: string;
  /** The `:authority` sent, instead of `host:port`. */
  "grpc.default_authority"?: string;
  /** Put before the client's own user-agent. */
  "grpc.primary_user_agent"?: string;
  /** The HTTP/2 flow-control window of the connection and of each call, in bytes. Default 8 MiB. */
  "grpc-node.flow_control_window"?: number;
  /** 0: connect directly even when `grpc_proxy`/`https_proxy`/`http_proxy` names a proxy. Default 1. */
  "grpc.enable_http_proxy"?: number;
}

/** What the transport takes, resolved from {@link ChannelOptions} over the defaults. */
export interface TransportSettings {
  maxReceiveBytes: number;
  maxSendBytes: number;
  keepaliveTimeMs: number | undefined;
  keepaliveTimeoutMs: number;
  keepaliveWithoutCalls: boolean;
  targetNameOverride: string | undefined;
  authority: string | undefined;
  userAgentPrefix: string | undefined;
  flowControlWindow: number;
  /** Whether a proxy named by the environment may be used (`grpc.enable_http_proxy`). */
  enableHttpProxy: boolean;
  /** The CONNECT proxy to tunnel through, when one applies (set by packages/client/src/client/config.ts). */
  proxy?: HttpProxy;
}

/**
 * Defaults. A 1000-entry page with nested users and targets can exceed gRPC's usual 4 MiB receive
 * limit, so it is 64 MiB. A 1000-entry page is ~0.4-6 MB; an 8 MiB HTTP/2 window lets a page
 * stream without waiting on window updates (bench: exports 5-8% faster, bench/notes.md).
 */
export const DEFAULT_CHANNEL_OPTIONS = {
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
  "grpc.max_send_message_length": 16 * 1024 * 1024,
  "grpc-node.flow_control_window": 8 * 1024 * 1024,
} as const satisfies ChannelOptions;

/** The largest length a message prefix can state: -1 ("no limit") means this. */
const PREFIX_LIMIT = 0xffff_ffff;
/** HTTP/2's largest flow-control window. */
const MAX_WINDOW = 2 ** 31 - 1;

type Check = (value: unknown) => boolean;
const integer =
  (min: number, max: number): Check =>
  (v) =>
    typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
const header: Check = (v) => typeof v === "string" && /^[\x21-\x7e][\x20-\x7e]*$/.test(v);

const CHECKS: Record<keyof ChannelOptions, [Check, string]> = {
  "grpc.max_receive_message_length": [
    integer(-1, PREFIX_LIMIT),
    `an integer number of bytes, 0-${PREFIX_LIMIT}, or -1`,
  ],
  "grpc.max_send_message_length": [
    integer(-1, PREFIX_LIMIT),
    `an integer number of bytes, 0-${PREFIX_LIMIT}, or -1`,
  ],
  "grpc.keepalive_time_ms": [integer(1, 2 ** 31 - 1), "an integer number of ms ≥ 1"],
  "grpc.keepalive_timeout_ms": [integer(1, 2 ** 31 - 1), "an integer number of ms ≥ 1"],
  "grpc.keepalive_permit_without_calls": [integer(0, 1), "0 or 1"],
  "grpc.ssl_target_name_override": [header, "a host name"],
  "grpc.default_authority": [header, "host[:port]"],
  "grpc.primary_user_agent": [header, "printable ASCII"],
  "grpc-node.flow_control_window": [
    integer(65_535, MAX_WINDOW),
    `an integer number of bytes, 65535-${MAX_WINDOW}`,
  ],
  "grpc.enable_http_proxy": [integer(0, 1), "0 or 1"],
};

/** The keys {@link resolveChannelOptions} accepts. */
export const SUPPORTED_CHANNEL_OPTIONS: readonly string[] = Object.keys(CHECKS);

/**
 * Checks `given` (merged over the defaults) and resolves the transport's settings.
 * @throws ValidationError naming an unsupported key (and listing the supported ones) or a bad value.
 */
export function resolveChannelOptions(given: Record<string, unknown>): TransportSettings {
  const merged: Record<string, unknown> = { ...DEFAULT_CHANNEL_OPTIONS, ...given };
  for (const [key, value] of Object.entries(merged)) {
    const check = CHECKS[key as keyof ChannelOptions] as [Check, string] | undefined;
    if (check === undefined) {
      throw new ValidationError(
        `channelOptions.${key}`,
        value,
        `one of ${SUPPORTED_CHANNEL_OPTIONS.join(", ")}`,
        "unsupported channel option",
      );
    }
    if (!check[0](value)) {
      throw new ValidationError(`channelOptions.${key}`, value, check[1], "invalid channel option");
    }
  }
  const o = merged as unknown as ChannelOptions & typeof DEFAULT_CHANNEL_OPTIONS;
  const limit = (n: number) => (n < 0 ? PREFIX_LIMIT : n);
  return {
    maxReceiveBytes: limit(o["grpc.max_receive_message_length"]),
    maxSendBytes: limit(o["grpc.max_send_message_length"]),
    keepaliveTimeMs: o["grpc.keepalive_time_ms"],
    keepaliveTimeoutMs: o["grpc.keepalive_timeout_ms"] ?? 20_000,
    keepaliveWithoutCalls: o["grpc.keepalive_permit_without_calls"] === 1,
    targetNameOverride: o["grpc.ssl_target_name_override"],
    authority: o["grpc.default_authority"],
    userAgentPrefix: o["grpc.primary_user_agent"],
    flowControlWindow: o["grpc-node.flow_control_window"],
    enableHttpProxy: o["grpc.enable_http_proxy"] !== 0,
  };
}
