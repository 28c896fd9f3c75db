/**
 * The definitions of `search`, `export`, `tail`, `watch` and `rules`: flags, help texts and argument
 * parsers. An action imports its command's module (searchCommand.ts, exportCommand.ts, …) when it
 * runs, so `--help`, `--version` and a usage error load neither the client nor the exporter, and each
 * The definitions of `search`, `export`, `tail` and `report`: flags, help texts and argument parsers.
 * An action imports its command's module (searchCommand.ts, exportCommand.ts, tailCommand.ts,
 * reportCommand.ts) when it runs, so `--help`, `--version` and a usage error load neither the client nor the exporter, and each
 * command loads only its own implementation.
 */
import { type Command, InvalidArgumentError, Option } from "commander";
import { DEFAULT_PER_PAGE, EXPORT_MAX_ATTEMPTS, MAX_PER_PAGE } from "../domain/limits.js";
import { collect, durationOption, formatDurationMs, integerOption } from "./duration.js";
import type { ExportFlags } from "./exportCommand.js";
import { MEMORY_MODES } from "./exportMemory.js";
import type { QueryFlags } from "./queryCommand.js";
import type { ReportFlags } from "./reportCommand.js";
import type { RulesTestFlags } from "./rulesCommand.js";
import type { SearchFlags } from "./searchCommand.js";
import { addConnectionOptions, addFilterOptions } from "./sharedFlags.js";
import type { SyncFlags } from "./syncCommand.js";
import type { TailFlags } from "./tailCommand.js";
import type { WatchFlags } from "./watchCommand.js";

/** A duration flag whose help prints its default as a duration the flag accepts back (`60s`). */
function durationFlag(flags: string, description: string, defaultMs: number): Option {
  const name = flags.split(" ")[0] as string;
  return new Option(flags, description)
    .argParser(durationOption(name))
    .default(defaultMs, formatDurationMs(defaultMs));
}

/** Registers `search`. */
export function registerSearchCommand(program: Command): Command {
  const cmd = program
    .command("search")
    .description("Search the audit log (one page, or every page with --all).")
    .option("--page <n>", "page number, from 1 (default 1)", integerOption("--page", 1, 1_000_000_000))
    .option(
      "--per-page <n>",
      `entries per page, 1-${MAX_PER_PAGE} (default ${DEFAULT_PER_PAGE})`,
      integerOption("--per-page", 1, MAX_PER_PAGE),
    )
    .option("--asc", "oldest first (default: newest first, as the API)")
    .option("--all", "follow pages until the last one (the window's end is pinned at the first request)")
    .option("--format <format>", "table | json | jsonl | csv (default: table on a terminal, else jsonl)")
    .option("-q, --quiet", "no informational lines on stderr");
  addFilterOptions(cmd);
  addConnectionOptions(cmd);
  return cmd.action(async (flags: SearchFlags) => (await import("./searchCommand.js")).runSearch(flags));
}

/** Registers `export`. */
export function registerExportCommand(program: Command): Command {
  const cmd = program
    .command("export")
    .description(
      "Export a pinned window of the audit log to a file: parallel, ordered, deduplicated, resumable.",
    )
    .requiredOption(
      "--out <file>",
      "output file; .gz compresses; FILE.partial and FILE.manifest.json live beside it",
    )
    .option("--format <format>", "jsonl | csv | json (default: from the file name, else jsonl)")
    .addOption(
      durationFlag(
        "--settle <duration>",
        "leave out the last duration before now (entries still landing)",
        60_000,
      ),
    )
    .option(
      "--concurrency <n>",
      "most pages fetched in parallel (fewer while the server throttles)",
      integerOption("--concurrency", 1, 64),
      12,
    )
    .option(
      "--per-page <n>",
      `entries per page, 1-${MAX_PER_PAGE}`,
      integerOption("--per-page", 1, MAX_PER_PAGE),
      MAX_PER_PAGE,
    )
    .addOption(
      durationFlag(
        "--commit-interval <duration>",
        "how often progress is made durable in the manifest (0 = every page)",
        1000,
      ),
    )
    .addOption(
      new Option(
        "--memory <mode>",
        "lean: tune V8's garbage collector for a small, steady footprint; fast: V8's defaults (more RSS, a little less CPU)",
      )
        .choices(MEMORY_MODES)
        .default("lean"),
    )
    .option("--resume", "continue the interrupted export of FILE (same query required)")
    .option("--force", "overwrite FILE, or discard an interrupted export of it")
    .option("-q, --quiet", "no progress bar and no window line (the summary line stays)");
  addFilterOptions(cmd);
  addConnectionOptions(cmd, { maxAttempts: EXPORT_MAX_ATTEMPTS });
  return cmd.action(async (flags: ExportFlags) =>
    (await import("./exportCommand.js")).runExportCommand(flags),
  );
}

/** Registers `tail`. */
export function registerTailCommand(program: Command): Command {
  const cmd = program
    .command("tail")
    .description(
      "Print new entries oldest first; with --follow keep polling. Exactly once across restarts with --checkpoint.",
    )
    .option("-f, --follow", "keep polling until interrupted (SIGINT/SIGTERM end it cleanly, exit 0)")
    .addOption(durationFlag("--interval <duration>", "time between polls with --follow", 10_000))
    .addOption(
      durationFlag(
        "--lookback <duration>",
        "re-read this far behind the newest printed entry, for entries that land late (later ones are counted on stderr)",
        60_000,
      ),
    )
    .option("--checkpoint <file>", "resume from and save progress to this file (written atomically)")
    .option(
      "--per-page <n>",
      `entries per page, 1-${MAX_PER_PAGE}`,
      integerOption("--per-page", 1, MAX_PER_PAGE),
      MAX_PER_PAGE,
    )
    .option("--format <format>", "table | json | jsonl | csv (default: table on a terminal, else jsonl)")
    .option("-q, --quiet", "no informational lines on stderr");
  addFilterOptions(cmd, "start");
  addConnectionOptions(cmd);
  return cmd.action(async (flags: TailFlags) => (await import("./tailCommand.js")).runTail(flags));
}

/** Registers `sync` (DuckDB or pg load only in its action, for the destination chosen). */
export function registerSyncCommand(program: Command): Command {
  const cmd = program
    .command("sync")
    .description(
      "Keep a Parquet lake (a folder) or a PostgreSQL table a complete copy of the audit log: exactly once, late arrivals included.",
    )
    .requiredOption(
      "--to <dir|url>",
      "a folder (Hive-partitioned Parquet lake + state file) or postgres://user@host:port/db[?schema=…]",
    )
    .option("--table <name>", "PostgreSQL only: the table (default audit_log)")
    .option(
      "--from <time>",
      "first run only: oldest entry to sync, RFC 3339 (default: the oldest the server holds)",
    )
    .option("--since <duration>", "first run only: from = now − duration", durationOption("--since"))
    .addOption(
      durationFlag(
        "--settle <duration>",
        "leave out the last duration before now (entries still landing)",
        60_000,
      ),
    )
    .addOption(
      durationFlag(
        "--reconcile <duration>",
        "re-read this far behind the last run's end for entries that land late",
        3_600_000,
      ),
    )
    .option("-f, --follow", "run again every --interval until interrupted (SIGINT/SIGTERM end it cleanly)")
    .addOption(durationFlag("--interval <duration>", "time between runs with --follow", 60_000))
    .option(
      "--concurrency <n>",
      "most pages fetched in parallel (fewer while the server throttles)",
      integerOption("--concurrency", 1, 64),
      12,
    )
    .option(
      "--per-page <n>",
      `entries per page, 1-${MAX_PER_PAGE}`,
      integerOption("--per-page", 1, MAX_PER_PAGE),
      MAX_PER_PAGE,
    )
    .addOption(
      durationFlag(
        "--commit-interval <duration>",
        "least time between commits (each commit adds a file per partition to a lake)",
        5000,
      ),
    )
    .option(
      "--commit-entries <n>",
      "commit once this many entries are waiting (default: 10000 for a lake, 20000 for PostgreSQL)",
      integerOption("--commit-entries", 1, 1_000_000),
    )
    .addOption(
      new Option(
        "--memory <mode>",
        "lean: a small, steady footprint (V8 tuned; a lake's one DuckDB writer hands freed memory back); fast: V8's defaults, and a lake writes with two DuckDB writers (about 3x the speed, 1.8x the memory)",
      )
        .choices(MEMORY_MODES)
        .default("lean"),
    )
    .option("-q, --quiet", "no window line (the summary line of each run stays)");
  addFilterOptions(cmd, false);
  addConnectionOptions(cmd, { maxAttempts: EXPORT_MAX_ATTEMPTS });
  return cmd.action(async (flags: SyncFlags) => (await import("./syncCommand.js")).runSyncCommand(flags));
}

/** `query --max-time`'s default: 2 minutes. */
const QUERY_MAX_TIME_MS = 120_000;

/** A size DuckDB reads as a memory limit: a number and a unit (decimal KB/MB/GB/TB or binary KiB…). */
function memorySize(value: string): string {
  const m = /^(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i.exec(value.trim());
  if (!m || Number(m[1]) <= 0)
    throw new InvalidArgumentError(
      `--max-memory: "${value}" is not a size (a number and a unit: KB, MB, GB, TB or KiB, MiB, GiB, TiB — e.g. 512MB, 4GB)`,
    );
  return `${m[1]}${m[2]}`;
}

/** Registers `query`. */
export function registerQueryCommand(program: Command): Command {
  return program
    .command("query")
    .description(
      "Read-only SQL over a synced lake's view audit_log (embedded DuckDB, sandboxed: it reads only the lake's listed files and writes nothing).",
    )
    .argument(
      "<sql>",
      'one SELECT statement, e.g. "SELECT operation_name, count(*) FROM audit_log GROUP BY 1"',
    )
    .requiredOption("--lake <dir>", "the folder `sync --to` writes")
    .option("--format <format>", "table | csv | json | jsonl (default: table on a terminal, else jsonl)")
    .addOption(
      durationFlag(
        "--max-time <duration>",
        "stop the statement once DuckDB has worked this long; 0: no limit; waiting for a slow reader of stdout does not count",
        QUERY_MAX_TIME_MS,
      ),
    )
    .addOption(
      new Option("--max-memory <size>", "DuckDB's memory limit; nothing spills to disk (e.g. 512MB, 4GB)")
        .argParser(memorySize)
        .default("1GB"),
    )
    .addOption(
      new Option("--threads <n>", "DuckDB's worker threads, 1-256")
        .argParser(integerOption("--threads", 1, 256))
        .default(4),
    )
    .action(async (sql: string, flags: QueryFlags) =>
      (await import("./queryCommand.js")).runQueryCommand(sql, flags),
    );
}

/** Registers `watch` (yaml and ajv load only when it runs). */
export function registerWatchCommand(program: Command): Command {
  const cmd = program
    .command("watch")
    .description(
      "Evaluate detection rules on new audit-log entries as they arrive; alerts to stdout, webhooks, Slack or a command. Exactly once across restarts with --checkpoint.",
    )
    .requiredOption(
      "--rules <file>",
      "rules file (YAML), or builtin for the built-in pack; repeatable",
      collect,
    )
    .option(
      "--checkpoint <file>",
      "resume from and save progress, rule state and pending alerts to this file",
    )
    .addOption(durationFlag("--interval <duration>", "time between polls", 10_000))
    .addOption(
      durationFlag(
        "--lookback <duration>",
        "re-read this far behind the newest entry seen, for entries that land late",
        60_000,
      ),
    )
    .option("--from <time>", "first run: evaluate entries from this time (RFC 3339; default now)")
    .option(
      "--since <duration>",
      "first run: evaluate entries from now − duration",
      durationOption("--since"),
    )
    .option(
      "--per-page <n>",
      `entries per page, 1-${MAX_PER_PAGE}`,
      integerOption("--per-page", 1, MAX_PER_PAGE),
      MAX_PER_PAGE,
    )
    .option(
      "--once",
      "poll once and exit (for cron), instead of polling until interrupted; exit 5 if an alert could not be delivered",
    )
    .option("--alert-webhook <url>", "POST each alert as JSON to this URL; repeatable", collect)
    .option("--alert-slack <url>", "post each alert to this Slack incoming-webhook URL; repeatable", collect)
    .option(
      "--alert-exec <command>",
      "run this shell command with each alert as JSON on stdin; repeatable",
      collect,
    )
    .option(
      "--alert-secret <secret>",
      "sign webhook bodies: X-Clarifai-Audit-Signature: sha256=HMAC (default: CLARIFAI_AUDIT_ALERT_SECRET)",
    )
    .addOption(durationFlag("--alert-timeout <duration>", "deadline of one delivery attempt", 10_000))
    .option(
      "--alert-attempts <n>",
      "delivery attempts per alert and destination",
      integerOption("--alert-attempts", 1, 100),
      5,
    )
    .addOption(
      durationFlag(
        "--alert-backoff <duration>",
        "delay before the first retry, doubled for each next one",
        1000,
      ),
    )
    .option(
      "--dead-letter <file>",
      "alerts that could not be delivered (default: CHECKPOINT.dead-letter.jsonl, else ./clarifai-audit-watch.dead-letter.jsonl)",
    )
    .option("--no-destination-check", "skip the start-up TCP connect check of webhook URLs")
    .addOption(
      new Option("--format <format>", "alerts on stdout").choices(["jsonl", "text"]).default("jsonl"),
    )
    .option("-q, --quiet", "no informational lines on stderr");
  addConnectionOptions(cmd);
  return cmd.action(async (flags: WatchFlags) => (await import("./watchCommand.js")).runWatch(flags));
}

/** Registers `rules check` and `rules test` (yaml and ajv load only when they run). */
export function registerRulesCommand(program: Command): Command[] {
  const rules = program.command("rules").description("Validate rules files and backtest them on exports.");
  const check = rules
    .command("check")
    .description(
      "Validate rules files (or builtin): exit 0 when valid, else one line naming file, rule and field, exit 2.",
    )
    .argument("<file...>", "rules files, or builtin")
    .action(async (files: string[]) => (await import("./rulesCommand.js")).runRulesCheck(files));
  const test = rules
    .command("test")
    .description(
      "Replay an export (JSON Lines or JSON array, optionally gzipped) or a lake and print the alerts that would have fired.",
    )
    .requiredOption("--rules <file>", "rules file, or builtin; repeatable", collect)
    .option("--input <file>", "an export: .jsonl, .json, either .gz")
    .option(
      "--lake <dir>",
      "every entry of a Parquet lake written by sync --to DIR, oldest first (not with --input)",
    )
    .addOption(
      new Option("--format <format>", "alerts on stdout").choices(["jsonl", "text"]).default("jsonl"),
    )
    .option("-q, --quiet", "no summary line on stderr")
    .action(async (flags: RulesTestFlags) => (await import("./rulesCommand.js")).runRulesTest(flags));
  return [check, test];
}

/** Registers `report`. */
export function registerReportCommand(program: Command): Command {
  const cmd = program
    .command("report")
    .description(
      "Build an activity report (one self-contained HTML page with charts and tables; optionally a PDF) of a window of the audit log, of an export file or of a Parquet lake.",
    )
    .requiredOption("--out <file>", "the HTML report to write")
    .option(
      "--pdf <file>",
      "also print the report to this PDF (needs Chromium: chromium on PATH, or CHROMIUM_PATH)",
    )
    .option("--title <text>", "the report's title (default: Audit-log activity report)")
    .option(
      "--input <file>",
      "report on an export file: JSONL or JSON (export --format jsonl|json), .gz too; without it or --lake, the live window the filters select",
    )
    .option(
      "--lake <dir>",
      "report on every entry of a Parquet lake written by sync --to DIR (not with --input)",
    )
    .addOption(
      durationFlag(
        "--settle <duration>",
        "live window: leave out the last duration before now (entries still landing)",
        60_000,
      ),
    )
    .option(
      "--concurrency <n>",
      "live window: most pages fetched in parallel",
      integerOption("--concurrency", 1, 64),
      12,
    )
    .option(
      "--per-page <n>",
      `live window: entries per page, 1-${MAX_PER_PAGE}`,
      integerOption("--per-page", 1, MAX_PER_PAGE),
      MAX_PER_PAGE,
    )
    .option("-q, --quiet", "no window and summary lines on stderr");
  addFilterOptions(cmd);
  addConnectionOptions(cmd, { maxAttempts: EXPORT_MAX_ATTEMPTS });
  return cmd.action(async (flags: ReportFlags, command: Command) =>
    (await import("./reportCommand.js")).runReport(flags, command.parent?.version() ?? ""),
  );
}
