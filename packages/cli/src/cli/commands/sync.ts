/** The definition of `sync` (DuckDB or pg load only in its work, for the destination chosen). */

import { EXPORT_MAX_ATTEMPTS, MAX_PER_PAGE } from "@clarifai-audit/client/internal/domain/limits.js";
import type { Command } from "commander";
import { addDeprecatedAlias } from "../deprecatedFlags.js";
import { collect, integerOption } from "../duration.js";
import {
  addConnectionOptions,
  addFilterOptions,
  addFollowOptions,
  addOutputOptions,
  addWalkOptions,
  addWindowOptions,
  durationFlag,
  formatOption,
  memoryOption,
  settleOption,
  TIME_FORMS,
} from "../sharedFlags.js";
import type { SyncFlags } from "../syncCommand.js";
import { FORMATS } from "../vocabulary.js";
import type { CommandRuns } from "./runs.js";

/**
 * sync's defaults that are not shared flags' (`--settle`, `--concurrency`: packages/cli/src/cli/sharedFlags.ts),
 * also the defaults of the collector's config (packages/cli/src/cli/collectorConfig/).
 */
export const SYNC_DEFAULTS = {
  /** `--reconcile`: how far behind the last run's end entries are re-read for late ones. */
  reconcileMs: 3_600_000,
  /** `--interval`: between runs with --follow. */
  intervalMs: 60_000,
  /** `--commit-interval`: least time between commits. */
  commitIntervalMs: 5000,
  /** `--per-page`: the most the API serves. */
  perPage: MAX_PER_PAGE,
} as const;

/** Registers `sync`. */
export function defineSync(program: Command, runs: CommandRuns): Command {
  const cmd = program
    .command("sync")
    .description(
      "Keep a Parquet lake (a folder, or S3), a PostgreSQL table or an S3 stream a complete copy of the audit log (exactly once, late arrivals included), or deliver it to syslog or Splunk HEC (at least once).",
    )
    .option(
      "--dest <dir|url>",
      "the destination (this or --lake is required): a folder (Parquet lake), postgres://user@host:port/db[?schema=…], s3://bucket/prefix[?layout=stream], syslog://host:port, syslog+tls://host:port or splunk+https://host:port[?index=…]",
    )
    .option("--lake <dir>", "the destination is this Parquet lake (a folder), as --dest DIR")
    .option("--table <name>", "PostgreSQL only: the table (default audit_log)")
    .option(
      "--checkpoint <file>",
      "syslog and Splunk HEC only (required there): the state file of what was delivered (written atomically)",
    )
    .option(
      "--ca <file>",
      "syslog+tls and Splunk HEC only: trust the CA(s) of this PEM file instead of the system's",
    )
    .option(
      "--sign <key>",
      "a lake (folder or s3:// lake layout) only: sign every commit with this Ed25519 private key (keys generate; mode 0600), a digest per commit in _clarifai_digests/; twice (old and new key) to change keys; repeatable",
      collect,
    )
    .option(
      "--tsa <url>",
      "with --sign: time-stamp each digest at this RFC 3161 time-stamping authority (a failure fails the commit)",
    )
    .addOption(
      formatOption(
        FORMATS.destination,
        "what each entry becomes at a destination carrying events (s3 stream layout, syslog, Splunk HEC): its JSON, or an OCSF 1.8 event",
      ).default("json"),
    );
  // --to named the destination (every other command's --to is the window's end): kept, hidden and
  // with a warning, until 0.2.0.
  addDeprecatedAlias(cmd, "--to", "--dest");
  // Only the window's start, worded for a first run: later runs continue where the last one ended.
  addWindowOptions(cmd, "origin", {
    from: `first run only: oldest entry to sync, ${TIME_FORMS} (default: the oldest the server holds)`,
    since: "first run only: from = now − duration",
  })
    .addOption(settleOption())
    .addOption(
      durationFlag(
        "--reconcile <duration>",
        "re-read this far behind the last run's end for entries that land late",
        SYNC_DEFAULTS.reconcileMs,
      ),
    );
  addFollowOptions(cmd, {
    follow: "run again every --interval until interrupted (SIGINT/SIGTERM end it cleanly)",
    interval: ["time between runs with --follow", SYNC_DEFAULTS.intervalMs],
  });
  addWalkOptions(cmd, {
    concurrency: true,
    perPage: { default: SYNC_DEFAULTS.perPage },
    commitInterval: [
      "least time between commits (each commit adds a file per partition to a lake)",
      SYNC_DEFAULTS.commitIntervalMs,
    ],
  })
    .option(
      "--commit-entries <n>",
      "commit once this many entries are waiting (default: 10000 for a lake, 20000 for PostgreSQL)",
      integerOption("--commit-entries", 1, 1_000_000),
    )
    .addOption(
      memoryOption(
        "lean: a small, steady footprint (V8 tuned; a lake's one DuckDB writer hands freed memory back); fast: V8's defaults, and a lake writes with two DuckDB writers (about 3x the speed, 1.8x the memory)",
      ),
    );
  addOutputOptions(cmd, { quiet: true });
  addFilterOptions(cmd, false);
  addConnectionOptions(cmd, { maxAttempts: EXPORT_MAX_ATTEMPTS });
  return cmd.action((flags: SyncFlags) =>
    runs.run({ command: "sync", json: flags.json, secrets: true }, async (ctx) =>
      (await import("../syncCommand.js")).runSyncCommand(ctx, flags),
    ),
  );
}
