/** The definition of `sync` (DuckDB or pg load only in its work, for the destination chosen). */

import { EXPORT_MAX_ATTEMPTS, MAX_PER_PAGE } from "@clarifai-audit/client/internal/domain/limits.js";
import type { Command } from "commander";
import { integerOption } from "../duration.js";
import {
  addConnectionOptions,
  addFilterOptions,
  addFollowOptions,
  addOutputOptions,
  addWalkOptions,
  addWindowOptions,
  durationFlag,
  memoryOption,
  settleOption,
} from "../sharedFlags.js";
import type { SyncFlags } from "../syncCommand.js";
import type { CommandRuns } from "./runs.js";

/** Registers `sync`. */
export function defineSync(program: Command, runs: CommandRuns): Command {
  const cmd = program
    .command("sync")
    .description(
      "Keep a Parquet lake (a folder) or a PostgreSQL table a complete copy of the audit log: exactly once, late arrivals included.",
    )
    .requiredOption(
      "--to <dir|url>",
      "a folder (Hive-partitioned Parquet lake + state file) or postgres://user@host:port/db[?schema=…]",
    )
    .option("--table <name>", "PostgreSQL only: the table (default audit_log)");
  // --to is the destination here: only the window's start, worded for a first run.
  addWindowOptions(cmd, "origin", {
    from: "first run only: oldest entry to sync, RFC 3339 (default: the oldest the server holds)",
    since: "first run only: from = now − duration",
  })
    .addOption(settleOption())
    .addOption(
      durationFlag(
        "--reconcile <duration>",
        "re-read this far behind the last run's end for entries that land late",
        3_600_000,
      ),
    );
  addFollowOptions(cmd, {
    follow: "run again every --interval until interrupted (SIGINT/SIGTERM end it cleanly)",
    interval: ["time between runs with --follow", 60_000],
  });
  addWalkOptions(cmd, {
    concurrency: true,
    perPage: { default: MAX_PER_PAGE },
    commitInterval: ["least time between commits (each commit adds a file per partition to a lake)", 5000],
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
  addOutputOptions(cmd, { quiet: "no progress bar and no window line (the summary line of each run stays)" });
  addFilterOptions(cmd, false);
  addConnectionOptions(cmd, { maxAttempts: EXPORT_MAX_ATTEMPTS });
  return cmd.action((flags: SyncFlags) =>
    runs.run({ command: "sync", json: flags.json, secrets: true }, async (ctx) =>
      (await import("../syncCommand.js")).runSyncCommand(ctx, flags),
    ),
  );
}
