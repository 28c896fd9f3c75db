/**
 * The flags every command shares — filters, time window, connection — and their conversion into an
 * `AuditLogSearchQuery` and an `AuditLogClient`. Everything is validated here, before any network call.
 */
import { AuditLogClient } from "../client/client.js";
import { type AuditLogSearchQuery, validateQuery } from "../client/query.js";
import { camelToSnake, snakeToCamel } from "../domain/caseNames.js";
import { TARGET_KIND_TABLE, TARGET_KINDS, type TargetInput, type TargetKind } from "../domain/targets.js";
import { formatTimestamp, parseTimestamp, type Timestamp } from "../domain/time.js";
import { ValidationError } from "../errors.js";
import { connectionError, reworded, timeFlagError } from "./cliWording.js";
import { UsageError } from "./exitCodes.js";

/** Parsed filter and window flags. */
export interface FilterFlags {
  from?: string;
  to?: string;
  since?: number;
  until?: number;
  operation?: string[];
  user?: string[];
  target?: string[];
  success?: boolean;
  failed?: boolean;
  sourceIp?: string[];
}

/** Parsed connection flags. */
export interface ConnectionFlags {
  endpoint?: string;
  insecure?: boolean;
  userId?: string;
  timeout?: number;
  maxAttempts?: number;
  rateLimit?: number;
}

// Defined apart so that declaring the CLI does not load the client (src/cli/sharedFlags.ts).
export { addConnectionOptions, addFilterOptions } from "./sharedFlags.js";

/** The id-path forms of each kind, for help and errors. */
function targetForms(): string {
  return TARGET_KINDS.map((kind) =>
    TARGET_KIND_TABLE[kind].cliPaths.map((f) => `${camelToSnake(kind)}=${idPath(f)}`).join(" | "),
  ).join(", ");
}

function idPath(scope: readonly string[]): string {
  return [...scope.map(camelToSnake), "id"].join("/");
}

/** Parses `--target kind=[scope/…]id` into the client's short target form. */
export function parseTargetFlag(text: string): TargetInput {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new UsageError(`--target: "${text}" is not kind=id (forms: ${targetForms()})`);
  const rawKind = text.slice(0, eq).trim();
  // The CLI also takes kebab-case (`model-version`).
  const kind = snakeToCamel(rawKind.replace(/-/g, "_"));
  if (!Object.hasOwn(TARGET_KIND_TABLE, kind)) {
    throw new UsageError(
      `--target: unknown kind "${rawKind}" (kinds: ${TARGET_KINDS.map(camelToSnake).join(", ")})`,
    );
  }
  const forms = TARGET_KIND_TABLE[kind as TargetKind].cliPaths;
  const parts = text.slice(eq + 1).split("/");
  if (parts.some((p) => p.trim() === "")) throw new UsageError(`--target: empty id segment in "${text}"`);
  if (/\s/.test(text.slice(eq + 1))) throw new UsageError(`--target: "${text}": an id has no whitespace`);
  const scope = forms.find((f) => f.length === parts.length - 1);
  if (scope === undefined) {
    throw new UsageError(
      `--target: "${text}" has ${parts.length} segments; ${camelToSnake(kind)} accepts ${forms
        .map(idPath)
        .join(" or ")}`,
    );
  }
  const fields: Record<string, string> = { id: parts[parts.length - 1] as string };
  scope.forEach((name, i) => {
    fields[name] = parts[i] as string;
  });
  return { [kind]: scope.length === 0 ? fields.id : fields } as TargetInput;
}

/** A resolved window; bounds absent when not asked for. */
export interface ResolvedWindow {
  from?: Timestamp;
  to?: Timestamp;
}

/** Resolves --from/--to/--since/--until against `nowMs` (relative flags are relative to it). */
export function resolveWindow(flags: FilterFlags, nowMs: number = Date.now()): ResolvedWindow {
  if (flags.from !== undefined && flags.since !== undefined)
    throw new UsageError("--from and --since cannot be combined");
  if (flags.to !== undefined && flags.until !== undefined)
    throw new UsageError("--to and --until cannot be combined");
  const rel = (ms: number): Timestamp => parseTimestamp(nowMs - ms, "now");
  const window: ResolvedWindow = {};
  const at = (text: string, flag: string) =>
    reworded(
      () => parseTimestamp(text, flag),
      (e) => timeFlagError(flag, e),
    );
  if (flags.from !== undefined) window.from = at(flags.from, "--from");
  if (flags.since !== undefined) window.from = rel(flags.since);
  if (flags.to !== undefined) window.to = at(flags.to, "--to");
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
  if (flags.user?.length) query.userIds = flags.user;
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
    .replace(/^userIds\[\d+\]/, "--user")
    .replace(/^targets\[\d+\]/, "--target")
    .replace(/^sourceIps\[\d+\]/, "--source-ip");
}

/** A client from the connection flags (PAT from CLARIFAI_PAT of `env`, the run's environment). */
export function clientFromFlags(
  flags: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>> = process.env,
): AuditLogClient {
  // 0 would read as "no deadline"; the client takes it as an already expired one.
  if (flags.timeout !== undefined && flags.timeout < 1)
    throw new UsageError(`--timeout: must be at least 1ms (got ${flags.timeout} ms)`);
  return reworded(() => newClient(flags, env), connectionError);
}

function newClient(
  flags: ConnectionFlags,
  env: Readonly<Record<string, string | undefined>>,
): AuditLogClient {
  return new AuditLogClient({
    env,
    ...(flags.endpoint !== undefined ? { endpoint: flags.endpoint } : {}),
    ...(flags.insecure ? { insecure: true } : {}),
    ...(flags.userId !== undefined ? { userId: flags.userId } : {}),
    ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}),
    ...(flags.maxAttempts !== undefined ? { retry: { maxAttempts: flags.maxAttempts } } : {}),
    ...(flags.rateLimit !== undefined ? { rateLimit: flags.rateLimit } : {}),
  });
}
