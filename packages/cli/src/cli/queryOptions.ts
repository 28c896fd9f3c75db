/**
 * The flags every command shares — filters, time window, connection — and their conversion into an
 * `AuditLogSearchQuery` and an `AuditLogClient`. Everything is validated here, before any network call.
 */
import { AuditLogClient } from "@clarifai-audit/client/internal/client/client.js";
import type { AuditLogClientOptions } from "@clarifai-audit/client/internal/client/config.js";
import { type AuditLogSearchQuery, validateQuery } from "@clarifai-audit/client/internal/client/query.js";
import { parseTargetText } from "@clarifai-audit/client/internal/domain/targetText.js";
import {
  formatTimestamp,
  parseTimestamp,
  type Timestamp,
} from "@clarifai-audit/client/internal/domain/time.js";
import { ValidationError } from "@clarifai-audit/client/internal/errors.js";
import { reworded } from "./cliWording.js";
import { UsageError } from "./exitCodes.js";
import { parseTimeFlag } from "./timeFlag.js";

/** Parsed filter and window flags. */
export interface FilterFlags {
  from?: string;
  to?: string;
  since?: number;
  until?: number;
  operation?: string[];
  /** `--actor` (who acted); the deprecated `--user` is moved onto it before the command runs. */
  actor?: string[];
  target?: string[];
  success?: boolean;
  failed?: boolean;
  sourceIp?: string[];
}

/** Parsed connection flags. */
export interface ConnectionFlags {
  /** A profile of the config file (packages/cli/src/cli/options/resolve.ts). */
  profile?: string;
  endpoint?: string;
  insecure?: boolean;
  userId?: string;
  timeout?: number;
  maxAttempts?: number;
  rateLimit?: number;
}

// Defined apart so that declaring the CLI does not load the client (packages/cli/src/cli/sharedFlags.ts).
export { addConnectionOptions, addFilterOptions } from "./sharedFlags.js";

/** Parses `--target kind=[scope/…]id` into the client's short target form (see {@link parseTargetText}). */
export const parseTargetFlag = parseTargetText;

/** A resolved window; bounds absent when not asked for. */
export interface ResolvedWindow {
  from?: Timestamp;
  to?: Timestamp;
}

/**
 * Resolves --from/--to/--since/--until against `nowMs`, the run's clock (`ctx.clock.now()`): relative
 * flags and `today`, `yesterday`, `now` are relative to it; a day given to --to means its end
 * (packages/cli/src/cli/timeFlag.ts).
 */
export function resolveWindow(flags: FilterFlags, nowMs: number = Date.now()): ResolvedWindow {
  if (flags.from !== undefined && flags.since !== undefined)
    throw new UsageError("--from and --since cannot be combined");
  if (flags.to !== undefined && flags.until !== undefined)
    throw new UsageError("--to and --until cannot be combined");
  const rel = (ms: number): Timestamp => parseTimestamp(nowMs - ms, "now");
  const window: ResolvedWindow = {};
  if (flags.from !== undefined) window.from = parseTimeFlag(flags.from, "--from", "start", nowMs);
  if (flags.since !== undefined) window.from = rel(flags.since);
  if (flags.to !== undefined) window.to = parseTimeFlag(flags.to, "--to", "end", nowMs);
  if (flags.until !== undefined) window.to = rel(flags.until);
  if (window.from && window.to) {
    const f = window.from;
    const t = window.to;
    if (f.seconds > t.seconds || (f.seconds === t.seconds && f.nanos > t.nanos)) {
      throw new UsageError(`empty window: from ${formatTimestamp(f)} is after to ${formatTimestamp(t)}`);
    }
  }
  return window;
}

/** `from … to …` in UTC, for stderr. */
export function describeWindow(from: Timestamp | undefined, to: Timestamp | undefined): string {
  return `from ${from ? formatTimestamp(from) : "(beginning)"} to ${to ? formatTimestamp(to) : "(now)"} (UTC)`;
}

/** The filter part of a query (no window, no paging), validated. */
export function filtersToQuery(flags: FilterFlags): AuditLogSearchQuery {
  const query: AuditLogSearchQuery = {};
  if (flags.actor?.length) query.userIds = flags.actor;
  if (flags.operation?.length) query.operations = flags.operation;
  if (flags.target?.length) query.targets = flags.target.map(parseTargetFlag);
  if (flags.success) query.success = true;
  if (flags.failed) query.success = false;
  if (flags.sourceIp?.length) query.sourceIps = flags.sourceIp;
  try {
    validateQuery(query);
  } catch (error) {
    if (error instanceof ValidationError) throw new UsageError(flagName(error.message));
    throw error;
  }
  return query;
}

/** Rewrites the client's field names in a validation message to the flags that set them. */
function flagName(message: string): string {
  return message
    .replace(/^operations\[\d+\]/, "--operation")
    .replace(/^userIds\[\d+\]/, "--actor")
    .replace(/^targets\[\d+\]/, "--target")
    .replace(/^sourceIps\[\d+\]/, "--source-ip");
}

/** What the run gives the making of its client. */
export interface ClientHooks {
  /** Given each warning line of the merge (the environment overriding the profile). */
  warn?: (line: string) => void;
  /** Told of every attempt the client sends (`--verbose`). */
  onRequest?: AuditLogClientOptions["onRequest"];
  /** The run's stop signal: a profile's pat_command still running is killed. */
  signal?: AbortSignal;
}

/**
 * A client from the connection flags, the run's environment `env` and the profile, merged by
 * packages/cli/src/cli/options/resolve.ts (flag > environment > profile > default), with the run's
 * {@link ClientHooks}.
 */
export async function clientFromFlags(
  flags: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>> = process.env,
  hooks: ClientHooks = {},
): Promise<AuditLogClient> {
  const { warn = () => {}, onRequest, signal } = hooks;
  // 0 would read as "no deadline"; the client takes it as an already expired one.
  if (flags.timeout !== undefined && flags.timeout < 1)
    throw new UsageError(`--timeout: must be at least 1ms (got ${flags.timeout} ms)`);
  const { readResolvedPat, resolveConnection, settingError } = await import("./options/resolve.js");
  const { connectionClientOptions } = await import("./options/clientOptions.js");
  const settings = await resolveConnection(flags, env);
  for (const line of settings.warnings) warn(line);
  const pat = await readResolvedPat(settings, env, signal);
  const values = {
    ...(pat !== undefined ? { pat } : {}),
    ...(settings.userId.value !== undefined ? { userId: settings.userId.value } : {}),
    ...(settings.endpoint.value !== undefined ? { endpoint: settings.endpoint.value } : {}),
    ...(settings.insecure.value !== undefined ? { insecure: settings.insecure.value } : {}),
    ...(settings.rateLimit.value !== undefined ? { rateLimit: settings.rateLimit.value } : {}),
    ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}),
    ...(flags.maxAttempts !== undefined ? { maxAttempts: flags.maxAttempts } : {}),
  };
  return reworded(
    () => new AuditLogClient(connectionClientOptions(values, env, onRequest)),
    (error) => settingError(error, settings),
  );
}
