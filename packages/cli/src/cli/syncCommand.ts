/**
 * `clarifai-audit sync --dest DIR | postgres://…` (or `--lake DIR`): keeps a Parquet lake (src/sync/lake/) or a
 * PostgreSQL table (src/sync/postgres/) a complete copy of the log (packages/cli/src/sync/sync.ts). Each store is
 * imported when chosen, so DuckDB and pg load only for the destination in use.
 */

import type { SignOptions } from "@clarifai-audit/client/internal/digest/chain.js";
import { EXPORT_MAX_ATTEMPTS } from "@clarifai-audit/client/internal/domain/limits.js";
import { formatTs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import { ExportInterruptedError } from "@clarifai-audit/client/internal/export/errors.js";
import { followRounds } from "@clarifai-audit/client/internal/export/followPoll.js";
import {
  createDestinationStore,
  type DestinationTarget,
  type EntryFormat,
  isLakeDestination,
  parseDestination,
  STREAM_KINDS,
} from "../sync/destination.js";
import { type SyncStore, SyncUsageError } from "../sync/store.js";
import { runSync, type SyncRunSummary } from "../sync/sync.js";
import { UsageError } from "./exitCodes.js";
import type { MemoryMode } from "./exportMemory.js";
import { resolveHecToken } from "./options/hecToken.js";
import { type ConnectionFlags, type FilterFlags, filtersToQuery, resolveWindow } from "./queryOptions.js";
import { requestFigures } from "./requestStats.js";
import type { CommandContext, CommandResult } from "./runner.js";
import { checkReadableFile, checkStatePath } from "./statePaths.js";

/** The flags of `sync`, as commander parses them. */
export interface SyncFlags extends Omit<FilterFlags, "to" | "until">, ConnectionFlags {
  /** `--dest`; the deprecated `--to` is moved onto it before the command runs. */
  dest?: string;
  /** `--lake`: a lake destination (a folder). */
  lake?: string;
  table?: string;
  /** `--checkpoint`: the state file of a syslog or Splunk HEC destination. */
  checkpoint?: string;
  /** `--ca`: a PEM file of the CA(s) a TLS destination's certificate must chain to. */
  ca?: string;
  /** `--format`: what each entry becomes at a destination carrying events. */
  format?: EntryFormat;
  /** `--sign`: private keys signing every commit of a lake. */
  sign?: string[];
  /** `--tsa`: the time-stamping authority of each digest (needs --sign). */
  tsa?: string;
  settle: number;
  reconcile: number;
  follow?: boolean;
  interval: number;
  concurrency: number;
  perPage: number;
  commitInterval: number;
  commitEntries?: number;
  memory: MemoryMode;
  quiet?: boolean;
  json?: boolean;
}

/** The destination and the flag that named it (`--dest` or `--lake`), checked before any request. */
export interface Destination {
  flag: "--dest" | "--lake";
  value: string;
  target: DestinationTarget;
}

/**
 * The one destination of the flags, parsed, with the flags only some kinds take checked against it:
 * exactly one of --dest and --lake; --lake a folder; --table for PostgreSQL; --checkpoint for (and
 * required by) the stream destinations, which keep their cursor in a local file; --ca for TLS ones;
 * --format ocsf where entries travel as messages or objects.
 */
export async function syncDestination(
  flags: Pick<SyncFlags, "dest" | "lake" | "table" | "checkpoint" | "ca" | "format" | "sign" | "tsa">,
): Promise<Destination> {
  if (flags.dest !== undefined && flags.lake !== undefined)
    throw new UsageError("--lake: give one destination, --dest or --lake, not both");
  const named =
    flags.lake !== undefined
      ? { flag: "--lake" as const, value: flags.lake }
      : flags.dest !== undefined
        ? { flag: "--dest" as const, value: flags.dest }
        : undefined;
  if (named === undefined)
    throw new UsageError(
      "--dest: name the destination: --dest DIR, --dest postgres://…, s3://…, syslog://…, splunk+https://… or --lake DIR",
    );
  if (named.value.trim() === "")
    throw new UsageError(
      named.flag === "--lake"
        ? "--lake: name a folder"
        : "--dest: name a folder or a postgres://, s3://, syslog://, syslog+tls:// or splunk+https:// URL",
    );
  let target: DestinationTarget;
  try {
    target = await parseDestination(named.value);
  } catch (error) {
    if (error instanceof SyncUsageError)
      throw new UsageError(error.message.replaceAll("`store`", named.flag));
    throw error;
  }
  if (named.flag === "--lake" && target.kind !== "lake")
    throw new UsageError(
      "--lake: a lake is a folder; for a postgres://, s3://, syslog:// or splunk+https:// destination use --dest",
    );
  if (flags.table !== undefined && target.kind !== "postgres")
    throw new UsageError("--table: only for a PostgreSQL destination (--dest postgres://…)");
  const stream = STREAM_KINDS.has(target.kind);
  if (stream && flags.checkpoint === undefined)
    throw new UsageError(
      `--checkpoint: a ${target.kind === "hec" ? "Splunk HEC" : "syslog"} destination keeps what it delivered in a local state file: name one with --checkpoint FILE`,
    );
  if (!stream && flags.checkpoint !== undefined)
    throw new UsageError(
      "--checkpoint: only for syslog and Splunk HEC destinations (a lake, S3 and PostgreSQL keep their state themselves)",
    );
  const tls = target.kind === "hec" || (target.kind === "syslog" && target.target.tls);
  if (flags.ca !== undefined && !tls)
    throw new UsageError("--ca: only for a TLS destination (syslog+tls://…, splunk+https://…)");
  const columns =
    target.kind === "lake" ||
    target.kind === "postgres" ||
    (target.kind === "s3" && target.target.layout === "lake");
  if (flags.format === "ocsf" && columns)
    throw new UsageError(
      "--format: ocsf is for destinations that carry events (an S3 stream, `layout=stream` in the URL's query; syslog://…; splunk+https://…); a lake and PostgreSQL hold the entries' own columns",
    );
  if (flags.format === "json" && target.kind === "s3" && target.target.layout === "security-lake")
    throw new UsageError(
      "--format: json is not for s3://…?layout=security-lake, which holds OCSF events only (leave --format out)",
    );
  if (flags.sign !== undefined && !isLakeDestination(target))
    throw new UsageError(
      "--sign: signed commits are for a lake (a folder, or s3://… with the lake layout); PostgreSQL, an S3 stream, syslog and Splunk HEC are not signed",
    );
  if (flags.tsa !== undefined && flags.sign === undefined)
    throw new UsageError("--tsa: time-stamps go on digests: give --sign KEY too");
  return { ...named, target };
}

/** The keys of `--sign` (read, and checked, before any request) and the `--tsa` stamper. */
async function signOptions(flags: SyncFlags, ctx: CommandContext): Promise<SignOptions | undefined> {
  if (flags.sign === undefined) return undefined;
  const { readSigningKey } = await import("@clarifai-audit/client/internal/digest/keys.js");
  const keys = [];
  for (const path of flags.sign) keys.push(await readSigningKey(path, "sign"));
  if (flags.tsa === undefined) return { keys };
  const { createTsaStamper } = await import("../timestamp/index.js");
  return { keys, stamp: createTsaStamper({ url: flags.tsa, signal: ctx.signal }) };
}

async function openStore(
  dest: Destination,
  flags: SyncFlags,
  ctx: CommandContext,
  sign: SignOptions | undefined,
): Promise<SyncStore> {
  const hecToken = dest.target.kind === "hec" ? await resolveHecToken(flags, ctx.env) : undefined;
  if (flags.checkpoint !== undefined) await checkStatePath("--checkpoint", flags.checkpoint);
  if (flags.ca !== undefined) await checkReadableFile("--ca", flags.ca);
  return createDestinationStore(dest.target, {
    env: ctx.env,
    signal: ctx.signal,
    format: flags.format ?? "json",
    memory: flags.memory,
    ...(flags.table !== undefined ? { table: flags.table } : {}),
    ...(flags.checkpoint !== undefined ? { statePath: flags.checkpoint } : {}),
    ...(flags.ca !== undefined ? { ca: flags.ca } : {}),
    ...(hecToken !== undefined ? { hecToken } : {}),
    ...(sign !== undefined ? { sign } : {}),
  });
}

function summaryLine(to: string, s: SyncRunSummary, head?: { seq: number; hash: string }): string {
  const seconds = s.durationMs / 1000;
  const window = s.window
    ? ` (window ${s.window.from} to ${s.window.to}${s.resumed ? ", resumed" : ""})`
    : "";
  return (
    `synced ${s.inserted} new entries (${s.late} late) to ${to}${window}: ` +
    `${s.walked} walked, ${s.requests} requests, ${seconds.toFixed(2)} s; ` +
    `${s.held !== undefined ? `the destination holds ${s.held} entries, ` : ""}up to ${s.highWater ?? "(nothing yet)"}` +
    (head !== undefined ? `; signed, digest head ${head.seq} sha256 ${head.hash}` : "")
  );
}

/** Runs `sync` with its parsed flags (defined in packages/cli/src/cli/commands/sync.ts). */
export async function runSyncCommand(ctx: CommandContext, flags: SyncFlags): Promise<CommandResult> {
  const dest = await syncDestination(flags);
  // The keys are read (and refused) before any request.
  const sign = await signOptions(flags, ctx);
  const query = filtersToQuery(flags);
  // Only the start of a first run: later runs continue where the last one ended.
  const window = resolveWindow(
    {
      ...(flags.from !== undefined ? { from: flags.from } : {}),
      ...(flags.since !== undefined ? { since: flags.since } : {}),
    },
    ctx.clock.now(),
  );
  const client = await ctx.client(flags, { maxAttempts: EXPORT_MAX_ATTEMPTS });
  // As export's: a small, steady heap (the entries of a commit are the only large live set).
  const memory = await ctx.tuneMemory(flags.memory);
  const totals = { runs: 0, inserted: 0, late: 0, walked: 0 };
  const result = (): CommandResult => {
    // A signed lake's newest digest: what an auditor is given to check the head against.
    const head = store?.digestHead?.();
    return {
      // `to` is `dest`'s name before 0.2.0's vocabulary, kept beside it for scripts until then.
      figures: {
        dest: description,
        to: description,
        ...totals,
        ...(head !== undefined ? { digest: head } : {}),
        ...requestFigures(client.stats()),
      },
    };
  };
  // One store for every run, holding the destination's lock from the first run's open to the end of
  // the command: a second sync of it is refused while this one waits between runs (--follow).
  let store: SyncStore | undefined;
  // The store's own description: a PostgreSQL URL without its password.
  let description = "";
  ctx.defer(() => store?.release?.());
  const { walkReading } = await import("./progress.js");
  const progress = await ctx.progress(!flags.quiet);
  // The follow schedule tail and watch poll on (packages/client/src/export/followPoll.ts): a run each round.
  for await (const round of followRounds({
    follow: flags.follow === true,
    intervalMs: flags.interval,
    clock: ctx.clock,
    signal: ctx.signal,
  })) {
    let summary: SyncRunSummary;
    try {
      if (store === undefined) {
        store = await openStore(dest, flags, ctx, sign);
        store.hold?.();
      }
      description = store.description;
      summary = await runSync({
        client,
        store,
        query,
        ...(window.from !== undefined ? { origin: window.from } : {}),
        settleMs: flags.settle,
        reconcileMs: flags.reconcile,
        concurrency: flags.concurrency,
        perPage: flags.perPage,
        commitIntervalMs: flags.commitInterval,
        ...(flags.commitEntries !== undefined ? { commitEntries: flags.commitEntries } : {}),
        signal: ctx.signal,
        onProgress: (p) => {
          memory.afterPage();
          progress.update(walkReading(p));
        },
        onWindow: (w) => {
          if (!flags.quiet)
            ctx.say(
              `${w.resumed ? "resuming" : "syncing"} window from ${formatTs(w.from)} to ${formatTs(w.to)} (UTC) into ${description}`,
            );
        },
      });
    } catch (error) {
      progress.stop();
      // The destination's refusals name the flag that named it (the library calls it `store`).
      if (error instanceof SyncUsageError)
        throw new UsageError(error.message.replaceAll("`store`", dest.flag));
      // With --follow, an interrupt between or during runs is the normal way to stop.
      if (error instanceof ExportInterruptedError && flags.follow) return result();
      throw error;
    }
    totals.runs++;
    totals.inserted += summary.inserted;
    totals.late += summary.late;
    totals.walked += summary.walked;
    // Each run's own summary line, as it ends (a --follow run may last for days), below its bar;
    // not with --quiet.
    progress.stop();
    if (!flags.quiet) ctx.say(summaryLine(description, summary, store.digestHead?.()));
    if (ctx.signal.aborted) return result();
    // A resumed run ends at the window a crashed run pinned; entries that landed behind its cursor
    // meanwhile, and everything since, need a fresh run (its reconcile part re-reads them) before
    // this invocation has brought the destination up to now − settle.
    if (summary.resumed) round.again();
  }
  return result();
}
