/**
 * Client configuration: the one place where explicit options, environment variables and defaults
 * are merged (explicit option > environment > default), and where transport safety is decided.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { isPlainObject } from "../domain/plainObject.js";
import { REDACTED, redactUrl, registerUrlSecrets } from "../domain/redact.js";
import { ValidationError } from "../errors.js";
import { CLARIFAI_DEFAULT_RATE_LIMIT, MAX_RATE_LIMIT } from "./rateBudget.js";
import type { RequestEvent } from "./requestEvent.js";
import { DEFAULT_RETRY, type RetryOptions, validateRetry } from "./retry.js";
import {
  type ChannelOptions,
  DEFAULT_CHANNEL_OPTIONS,
  resolveChannelOptions,
  SUPPORTED_CHANNEL_OPTIONS,
  type TransportSettings,
} from "./transport/channelOptions.js";
import { type HttpProxy, noProxyMatches, parseProxyUrl } from "./transport/httpProxy.js";

export type { ChannelOptions };

/** Options of {@link AuditLogClient}. Every field is optional. */
export interface AuditLogClientOptions {
  /** Personal Access Token. Default: `CLARIFAI_PAT`. Never printed. */
  pat?: string;
  /** User id whose audit log is searched. Default: `CLARIFAI_USER_ID`. */
  userId?: string;
  /** gRPC endpoint `host[:port]`. Default: `CLARIFAI_GRPC_BASE`, else `api.clarifai.com:443`. */
  endpoint?: string;
  /** Plaintext gRPC instead of TLS. Allowed only to loopback hosts unless {@link allowInsecureRemote}. */
  insecure?: boolean;
  /** Send the PAT in plaintext to a non-loopback host anyway. Only for trusted private networks. */
  allowInsecureRemote?: boolean;
  /** Overall deadline of one `search` (all its attempts), in ms. Default 60000. */
  timeoutMs?: number;
  /** Retry policy, merged over {@link DEFAULT_RETRY}; `false` disables retries. */
  retry?: Partial<RetryOptions> | false;
  /**
   * Transport settings under grpc-js's channel option names (message size limits, keepalive, TLS
   * name override, authority, user agent, flow-control window, proxy use), merged over the defaults; see
   * {@link ChannelOptions}. Any other key is refused.
   */
  channelOptions?: ChannelOptions;
  /**
   * PEM root certificates to trust instead of the system ones (private CAs, TLS tests). Default: the
   * file named by `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`, as gRPC libraries read it, else the system's.
   */
  rootCerts?: Buffer;
  /**
   * The account's request limit, in requests per second (> 0, ≤ 10000), shared by every call of
   * this client (packages/client/src/client/rateBudget.ts); `false`: no budget (no pacing, no adapting). Default:
   * `CLARIFAI_RATE_LIMIT` (a number, or `off`), else Clarifai's documented 15/s for every endpoint
   * but a loopback one, where calls are not paced until the server throttles (the local emulator
   * has no limit unless started with one; a throttled reply that names the limit teaches it).
   */
  rateLimit?: number | false;
  /** Where the defaults above are read instead of `process.env` (a CLI run in-process, a test). */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Told of every attempt this client sends, once its fate is known: its page, entries, time,
   * whether it was served, throttled or failed, and the retry that follows (see
   * {@link RequestEvent}; the CLI's `--verbose` prints one line each). Called synchronously, so it
   * should be quick; an exception it throws is ignored (observing never changes a call). The event
   * holds no credentials. Default: none, at no cost.
   */
  onRequest?: (event: RequestEvent) => void;
}

/** Environment variables read, as Clarifai's own SDKs name them. */
const ENV = {
  pat: "CLARIFAI_PAT",
  userId: "CLARIFAI_USER_ID",
  endpoint: "CLARIFAI_GRPC_BASE",
  rateLimit: "CLARIFAI_RATE_LIMIT",
  /** gRPC's own variable for a file of root certificates that replace the system's (grpc-js and C-core read it). */
  rootCertsFile: "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
  /** The proxy URL, first set of these wins; lower case only, as grpc-js reads them. */
  proxy: ["grpc_proxy", "https_proxy", "http_proxy"],
  /** Hosts reached directly, first set of these wins. */
  noProxy: ["no_grpc_proxy", "no_proxy"],
} as const;

/** Clarifai's public gRPC endpoint. */
export const DEFAULT_ENDPOINT = "api.clarifai.com:443";
/** Default overall deadline of one search, in ms. */
const DEFAULT_TIMEOUT_MS = 60_000;
/** A fully resolved configuration (what a client actually uses). */
export interface ResolvedConfig {
  pat: string;
  userId: string;
  /** `host:port` (IPv6 hosts in brackets). */
  address: string;
  host: string;
  port: number;
  insecure: boolean;
  timeoutMs: number;
  retry: RetryOptions;
  /** The channel options in force (defaults merged under the given ones). */
  channelOptions: ChannelOptions;
  /** What the transport takes from them. */
  transport: TransportSettings;
  rootCerts?: Buffer;
  /**
   * The request budget: `limit` in requests per second, undefined when unknown (not paced until the
   * server throttles); `enabled` false for no budget at all.
   */
  rateLimit: { limit: number | undefined; enabled: boolean };
}

function fromEnv(env: Readonly<NodeJS.ProcessEnv>, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

/** The PAT exactly as a client without a `pat` option sends it (for redacting it where it may be echoed). */
export function patFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return fromEnv(env, ENV.pat);
}

/** Parses `host`, `host:port`, `[v6]:port` or a bare IPv6 address. */
export function parseEndpoint(endpoint: string, field = "endpoint"): { host: string; port: number } {
  const allowed = 'host[:port], e.g. "api.clarifai.com:443", "127.0.0.1:50051" or "[::1]:50051" (no scheme)';
  if (typeof endpoint !== "string" || endpoint.trim() === "") {
    throw new ValidationError(field, endpoint, allowed, "empty endpoint");
  }
  const e = endpoint.trim();
  // gRPC's own target syntax (unix sockets) is not served by this client's transport.
  if (/^unix(-abstract)?:/i.test(e)) {
    throw new ValidationError(field, endpoint, allowed, "unix: socket endpoints are not supported");
  }
  // User info and queries are credentials as often as not: the refusals show the endpoint redacted.
  if (e.includes("@")) {
    throw new ValidationError(
      field,
      redactUrl(endpoint),
      allowed,
      "an endpoint carries no user info (user@host); the PAT goes in CLARIFAI_PAT or the pat option",
    );
  }
  if (/[?#]/.test(e)) {
    throw new ValidationError(
      field,
      redactUrl(endpoint),
      allowed,
      "an endpoint has no query (?) or fragment (#)",
    );
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(e)) {
    throw new ValidationError(
      field,
      endpoint,
      allowed,
      "a gRPC endpoint has no URL scheme; use insecure: true for plaintext",
    );
  }
  let host: string;
  let portText: string | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(e);
  if (bracket) {
    host = bracket[1];
    portText = bracket[2];
  } else if (isIP(e) === 6) {
    host = e;
  } else {
    const i = e.lastIndexOf(":");
    host = i < 0 ? e : e.slice(0, i);
    portText = i < 0 ? undefined : e.slice(i + 1);
  }
  if (host === "" || /[\s/]/.test(host) || (host.includes(":") && isIP(host) !== 6)) {
    throw new ValidationError(field, endpoint, allowed, "invalid host");
  }
  const port = portText === undefined ? 443 : Number(portText);
  if (!/^\d*$/.test(portText ?? "") || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ValidationError(field, endpoint, allowed, "port must be 1-65535");
  }
  return { host, port };
}

/** Whether `host` is loopback: 127.0.0.0/8, ::1 or localhost. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (h.startsWith("::ffff:") && isIP(h.slice(7)) === 4) return h.slice(7).startsWith("127.");
  return false;
}

/**
 * Longest deadline accepted, in ms: 99,999,999 hours, the largest timeout the `grpc-timeout` header
 * can state (and a Date cannot hold deadlines past ~8.64e15 ms at all).
 */
export const MAX_TIMEOUT_MS = 99_999_999 * 3_600_000;

/** Checks a deadline in ms (the client's `timeoutMs` or a call's). */
export function validateTimeoutMs(value: unknown, field = "timeoutMs"): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_TIMEOUT_MS) {
    throw new ValidationError(
      field,
      value,
      `an integer number of milliseconds, 1-${MAX_TIMEOUT_MS}`,
      "invalid deadline",
    );
  }
  return value;
}

const RETRY_KEYS: readonly string[] = ["maxAttempts", "initialDelayMs", "maxDelayMs", "multiplier"];

function checkRetryOption(retry: unknown): void {
  if (retry === undefined || retry === false) return;
  if (!isPlainObject(retry)) {
    throw new ValidationError(
      "retry",
      retry,
      `false, or an object with any of ${RETRY_KEYS.join(", ")}`,
      "not a retry policy",
    );
  }
  for (const key of Object.keys(retry)) {
    if (!RETRY_KEYS.includes(key)) {
      throw new ValidationError(
        `retry.${key}`,
        (retry as Record<string, unknown>)[key],
        RETRY_KEYS.join(", "),
        "unknown retry option",
      );
    }
  }
}

const OPTION_KEYS: ReadonlySet<string> = new Set([
  "pat",
  "userId",
  "endpoint",
  "insecure",
  "allowInsecureRemote",
  "timeoutMs",
  "retry",
  "channelOptions",
  "rootCerts",
  "rateLimit",
  "env",
  "onRequest",
]);

const RATE_LIMIT_ALLOWED = `a number of requests per second, > 0 and ≤ ${MAX_RATE_LIMIT}, or false for no budget`;

/** Checks a rate limit option (a number of requests per second, or false). */
export function validateRateLimit(value: unknown, field = "rateLimit"): number | false {
  if (value === false) return false;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0 || value > MAX_RATE_LIMIT) {
    throw new ValidationError(field, value, RATE_LIMIT_ALLOWED, "invalid rate limit");
  }
  return value;
}

/**
 * A rate limit written as text (`CLARIFAI_RATE_LIMIT`, a config file): a number of requests per
 * second, or `off` for no budget.
 * @throws ValidationError naming `field`.
 */
export function parseRateLimitText(text: string, field: string): number | false {
  if (text.trim().toLowerCase() === "off") return false;
  return validateRateLimit(/^\d+(\.\d+)?$/.test(text.trim()) ? Number(text) : text, field);
}

/** The budget: option > `CLARIFAI_RATE_LIMIT` > 15/s (Clarifai's default), unknown for loopback. */
function resolveRateLimit(
  option: unknown,
  env: Readonly<NodeJS.ProcessEnv>,
  host: string,
): { limit: number | undefined; enabled: boolean } {
  let value: number | false | undefined;
  if (option !== undefined) value = validateRateLimit(option);
  else {
    const text = fromEnv(env, ENV.rateLimit);
    if (text !== undefined) value = parseRateLimitText(text, ENV.rateLimit);
  }
  if (value === false) return { limit: undefined, enabled: false };
  if (value !== undefined) return { limit: value, enabled: true };
  return { limit: isLoopbackHost(host) ? undefined : CLARIFAI_DEFAULT_RATE_LIMIT, enabled: true };
}

/** The roots of `GRPC_DEFAULT_SSL_ROOTS_FILE_PATH`, when set. */
function rootCertsFromEnv(env: NodeJS.ProcessEnv): Buffer | undefined {
  const path = fromEnv(env, ENV.rootCertsFile);
  if (path === undefined) return undefined;
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ValidationError(
      ENV.rootCertsFile,
      path,
      "a readable file of PEM certificates",
      `cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
}

/**
 * The CONNECT proxy for `host` named by the environment, as grpc-js chose it: none when proxies
 * are disabled (`grpc.enable_http_proxy: 0`) or the no-proxy list exempts `host`. Loopback hosts
 * are not exempt by themselves (grpc-js did not exempt them either).
 * @throws ValidationError naming the variable when its URL is not `http://[user:password@]host[:port]`.
 */
function proxyFromEnv(env: NodeJS.ProcessEnv, host: string, enabled: boolean): HttpProxy | undefined {
  if (!enabled) return undefined;
  const variable = ENV.proxy.find((name) => fromEnv(env, name) !== undefined);
  if (variable === undefined) return undefined;
  const url = fromEnv(env, variable) as string;
  // The CLI's stderr hook then hides the password should anything ever quote it.
  registerUrlSecrets(url);
  const proxy = parseProxyUrl(url, variable);
  const noProxy = ENV.noProxy.map((name) => fromEnv(env, name)).find((list) => list !== undefined);
  return noProxy !== undefined && noProxyMatches(host, noProxy) ? undefined : proxy;
}

/**
 * Merges options over the environment over defaults, and enforces the transport rules.
 * @throws ValidationError for a missing PAT or user id (naming both ways to give them), a bad
 * endpoint, plaintext to a remote host without `allowInsecureRemote`, or a malformed proxy URL in
 * `grpc_proxy`/`https_proxy`/`http_proxy`.
 */
export function resolveConfig(
  options: AuditLogClientOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): ResolvedConfig {
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) {
      // The value is not echoed: a misspelled `pat` option would carry the token.
      throw new ValidationError(key, REDACTED, [...OPTION_KEYS].join(", "), "unknown client option");
    }
  }
  const vars = options.env ?? env;
  const pat = options.pat ?? fromEnv(vars, ENV.pat);
  if (typeof pat !== "string" || pat.trim() === "") {
    throw new ValidationError(
      "pat",
      undefined,
      `the pat option or the ${ENV.pat} environment variable`,
      `no Personal Access Token: pass { pat } or set ${ENV.pat}`,
    );
  }
  // A header value HTTP/2 refuses could end up quoted in an error; a space inside is never a PAT.
  if (!/^[\x21-\x7e]+$/.test(pat)) {
    throw new ValidationError(
      "pat",
      REDACTED,
      "printable ASCII without spaces or control characters",
      "malformed PAT",
    );
  }
  const userId = options.userId ?? fromEnv(vars, ENV.userId);
  if (typeof userId !== "string" || userId.trim() === "") {
    throw new ValidationError(
      "userId",
      userId,
      `the userId option or the ${ENV.userId} environment variable`,
      `no user id: pass { userId } or set ${ENV.userId}`,
    );
  }
  if (/\s/.test(userId)) {
    throw new ValidationError("userId", userId, "a Clarifai user id", "a user id has no whitespace");
  }
  const endpointField = options.endpoint !== undefined ? "endpoint" : ENV.endpoint;
  const endpoint = options.endpoint ?? fromEnv(vars, ENV.endpoint) ?? DEFAULT_ENDPOINT;
  const { host, port } = parseEndpoint(endpoint, endpointField);
  const insecure = options.insecure ?? false;
  if (typeof insecure !== "boolean")
    throw new ValidationError("insecure", insecure, "true or false", "not a boolean");
  if (insecure && !isLoopbackHost(host) && options.allowInsecureRemote !== true) {
    throw new ValidationError(
      "insecure",
      endpoint,
      "TLS (the default), plaintext to a loopback host (127.0.0.0/8, ::1, localhost), or allowInsecureRemote: true",
      `refusing to send the PAT in plaintext to the non-loopback host ${host}`,
    );
  }
  checkRetryOption(options.retry);
  if (options.onRequest !== undefined && typeof options.onRequest !== "function") {
    throw new ValidationError("onRequest", options.onRequest, "a function (event) => void", "not a function");
  }
  const channelOptions = options.channelOptions as unknown;
  if (channelOptions !== undefined && !isPlainObject(channelOptions)) {
    throw new ValidationError(
      "channelOptions",
      channelOptions,
      `an object of channel options (${SUPPORTED_CHANNEL_OPTIONS.join(", ")}), e.g. { "grpc.keepalive_time_ms": 30000 }`,
      "not an object",
    );
  }
  if (options.rootCerts !== undefined && !Buffer.isBuffer(options.rootCerts)) {
    throw new ValidationError("rootCerts", "(not a Buffer)", "a Buffer of PEM certificates", "not a Buffer");
  }
  const transport = resolveChannelOptions((channelOptions ?? {}) as Record<string, unknown>);
  const proxy = proxyFromEnv(vars, host, transport.enableHttpProxy);
  if (proxy !== undefined) transport.proxy = proxy;
  return {
    pat,
    userId,
    address: host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`,
    host,
    port,
    insecure,
    timeoutMs: options.timeoutMs === undefined ? DEFAULT_TIMEOUT_MS : validateTimeoutMs(options.timeoutMs),
    retry:
      options.retry === false
        ? { ...DEFAULT_RETRY, maxAttempts: 1 }
        : validateRetry({ ...DEFAULT_RETRY, ...options.retry }),
    channelOptions: { ...DEFAULT_CHANNEL_OPTIONS, ...options.channelOptions },
    transport,
    rootCerts: options.rootCerts ?? (insecure ? undefined : rootCertsFromEnv(vars)),
    rateLimit: resolveRateLimit(options.rateLimit, vars, host),
  };
}
