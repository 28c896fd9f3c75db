/**
 * The flag groups, each declared once and added by every command that takes it: connection, window,
 * filters, walk (--per-page, --concurrency, --memory), output (--format, --quiet, --json) and follow
 * (--follow, --interval, --lookback). A command words a flag's help for itself where it differs (the
 * text of `--interval` says polls or runs), but names, argument parsers and defaults live here.
 * A command that must refuse a group (report with --input, query, rules) refuses it through
 * {@link givenFlag} or {@link refuseGroup}, so a flag added to a group is refused everywhere it does
 * not apply. They depend on commander and duration.js only, so that declaring the CLI loads neither
 * the client nor the exporter; packages/cli/src/cli/queryOptions.ts turns the parsed flags into a query and a client.
 */

import { DEFAULT_PER_PAGE, MAX_PER_PAGE } from "@clarifai-audit/client/internal/domain/limits.js";
import { Command, InvalidArgumentError, Option } from "commander";
import { addDeprecatedAlias } from "./deprecatedFlags.js";
import { collect, durationOption, formatDurationMs, integerOption } from "./duration.js";
import { MEMORY_MODES } from "./exportMemory.js";
import { FORMATS, QUIET_HELP } from "./vocabulary.js";

/** A group of flags: adds them to a command. */
export type FlagGroup = (cmd: Command) => Command;

/** A duration flag whose help prints its default as a duration the flag accepts back (`60s`). */
export function durationFlag(flags: string, description: string, defaultMs?: number): Option {
  const name = flags.split(" ")[0] as string;
  const option = new Option(flags, description).argParser(durationOption(name));
  return defaultMs === undefined ? option : option.default(defaultMs, formatDurationMs(defaultMs));
}

/**
 * What a time flag takes (packages/cli/src/cli/timeFlag.ts parses them all), for the help texts and
 * the refusals of every time flag.
 */
export const TIME_FORMS =
  "RFC 3339 (2025-01-17T12:04:55Z), a date (2025-01-17), today, yesterday or now, in UTC";

/** --to's help past "latest entry time": a day as an inclusive end means the whole of it. */
const TO_DAY_END =
  "inclusive: the same forms as --from; a date, today or yesterday means the END of that day (23:59:59.999999999Z)";

/**
 * The time-window flags: all of them (`"full"`); only the start (`"start"`, for commands that read up
 * to now: `--to`/`--until` are then accepted only to be refused with a reason, and the help does not
 * list them); or only the start of a first run (`"origin"`: sync and watch, which follow the log to
 * now), with `text` wording --from and --since for it.
 */
export function addWindowOptions(
  cmd: Command,
  window: "full" | "start" | "origin",
  text: { from?: string; since?: string } = {},
): Command {
  cmd.option("--from <time>", text.from ?? `earliest entry time, inclusive: ${TIME_FORMS}`);
  if (window !== "origin")
    cmd.addOption(hideIf(window === "start", new Option("--to <time>", `latest entry time, ${TO_DAY_END}`)));
  cmd.option(
    "--since <duration>",
    text.since ?? "from = now − duration (e.g. 24h, 30m, 7d)",
    durationOption("--since"),
  );
  if (window === "origin") return cmd;
  return cmd.addOption(
    hideIf(
      window === "start",
      new Option("--until <duration>", "to = now − duration").argParser(durationOption("--until")),
    ),
  );
}

/**
 * Adds the filter flags and the time-window flags: all of them (`window` true), none (false), or
 * only the start (`"start"`, see {@link addWindowOptions}).
 */
export function addFilterOptions(cmd: Command, window: boolean | "start" = true): Command {
  if (window !== false) addWindowOptions(cmd, window === true ? "full" : "start");
  cmd
    .option("--operation <op>", "operation name (MODEL_CREATE) or code (300); repeatable", collect)
    .option("--actor <id>", "only operations performed by this user (who acted); repeatable", collect)
    .option(
      "--target <kind=id>",
      "only operations on this resource, e.g. model=my-model, model=app1/my-model, app=user1/app1, or an entry's targets as printed (model:my-model;app:app1); repeatable",
      collect,
    )
    .addOption(new Option("--success", "only successful operations").conflicts("failed"))
    .addOption(new Option("--failed", "only failed operations").conflicts("success"))
    .option("--source-ip <ip>", "only requests from this IP address; repeatable", collect);
  return addDeprecatedAlias(cmd, "--user", "--actor");
}

function hideIf(hide: boolean, option: Option): Option {
  return hide ? option.hideHelp() : option;
}

/** The help's note on the environment: where the PAT comes from. */
export const ENVIRONMENT_HELP = `
Environment:
  CLARIFAI_PAT            Personal Access Token (or a profile's pat_env, pat_file or pat_command; there
                          is no flag, so it never shows in ps)
  CLARIFAI_USER_ID        default of --user-id
  CLARIFAI_GRPC_BASE      default of --endpoint
  CLARIFAI_AUDIT_PROFILE  default of --profile
  CLARIFAI_AUDIT_CONFIG   the config file (default: $XDG_CONFIG_HOME/clarifai-audit/config.yaml)
Each connection setting: flag, else environment, else the profile, else the default.`;

/**
 * Adds the connection flags. The PAT comes from CLARIFAI_PAT or a profile's source, never a flag,
 * so it never shows in `ps`.
 * `maxAttempts` is the command's default of --max-attempts, as its help prints it (the client's is 5).
 */
export function addConnectionOptions(cmd: Command, defaults: { maxAttempts?: number } = {}): Command {
  return cmd
    .addHelpText("after", ENVIRONMENT_HELP)
    .option(
      "--profile <name>",
      "a profile of the config file: user id, endpoint, PAT source… (default: CLARIFAI_AUDIT_PROFILE, else the file's default_profile)",
    )
    .option("--endpoint <host:port>", "gRPC endpoint (default: CLARIFAI_GRPC_BASE or api.clarifai.com:443)")
    .option("--insecure", "plaintext gRPC (loopback hosts only, e.g. the local emulator)")
    .option("--user-id <id>", "whose audit log to search (default: CLARIFAI_USER_ID)")
    .option(
      "--timeout <duration>",
      "deadline of one page request, retries included (default 60s)",
      durationOption("--timeout"),
    )
    .option(
      "--max-attempts <n>",
      `attempts per page request, retries included (default ${defaults.maxAttempts ?? 5})`,
      integerOption("--max-attempts", 1, 100),
    )
    .option(
      "--rate-limit <n>",
      `requests per second this run may make, shared by all its calls, > 0 and ≤ ${MAX_RATE_LIMIT_FLAG} (default: CLARIFAI_RATE_LIMIT, else Clarifai's 15/s; a loopback endpoint is not paced until it throttles)`,
      rateLimitOption("--rate-limit"),
    );
}

/**
 * The walk flags: --per-page (`perPage.default` undefined: the API's default, printed in the help)
 * and --concurrency when asked for (`true`: the engine's wording; a string: the command's), then
 * --commit-interval when given (its description and default: how often the destination commits).
 */
export function addWalkOptions(
  cmd: Command,
  walk: {
    perPage: { prefix?: string; default?: number };
    concurrency?: string | true;
    commitInterval?: [description: string, defaultMs: number];
  },
): Command {
  const prefix = walk.perPage.prefix ?? "";
  const perPage = new Option(
    "--per-page <n>",
    `${prefix}entries per page, 1-${MAX_PER_PAGE}${walk.perPage.default === undefined ? ` (default ${DEFAULT_PER_PAGE})` : ""}`,
  ).argParser(integerOption("--per-page", 1, MAX_PER_PAGE));
  if (walk.concurrency !== undefined) {
    const text =
      walk.concurrency === true
        ? "most pages fetched in parallel (fewer while the server throttles)"
        : walk.concurrency;
    cmd.option(
      "--concurrency <n>",
      text,
      integerOption("--concurrency", 1, CONCURRENCY_MAX),
      CONCURRENCY_DEFAULT,
    );
  }
  cmd.addOption(walk.perPage.default === undefined ? perPage : perPage.default(walk.perPage.default));
  if (walk.commitInterval !== undefined)
    cmd.addOption(durationFlag("--commit-interval <duration>", ...walk.commitInterval));
  return cmd;
}

/** `--settle`'s default: entries of the last minute may still be landing. */
export const SETTLE_DEFAULT_MS = 60_000;
/** `--concurrency`'s default: pages fetched in parallel (fewer while the server throttles). */
export const CONCURRENCY_DEFAULT = 12;
/** `--concurrency`'s most. */
export const CONCURRENCY_MAX = 64;

/** The window's `--settle`: how far behind now a pinned window ends (`prefix` scopes it: "live window: "). */
export function settleOption(prefix = ""): Option {
  return durationFlag(
    "--settle <duration>",
    `${prefix}leave out the last duration before now (entries still landing)`,
    SETTLE_DEFAULT_MS,
  );
}

/** The walk's `--memory lean|fast` (packages/cli/src/cli/exportMemory.ts), worded for the command. */
export function memoryOption(description: string): Option {
  return new Option("--memory <mode>", description).choices(MEMORY_MODES).default("lean");
}

/** The help of `--json`: what the object on stderr holds (packages/cli/src/cli/runner.ts's JsonSummary). */
export const JSON_SUMMARY_HELP =
  'after the run, one JSON object on stderr\'s last line for scripts: {"command", "exitCode", the summary\'s figures; "error" on failure}';

/**
 * The output flags: --format (an Option of {@link formatOption}), -q/--quiet (when `quiet`: one
 * meaning and one help text everywhere, the vocabulary's) and --json.
 */
export function addOutputOptions(cmd: Command, output: { format?: Option; quiet?: boolean }): Command {
  if (output.format !== undefined) cmd.addOption(output.format);
  if (output.quiet) cmd.option("-q, --quiet", QUIET_HELP);
  return cmd.option("--json", JSON_SUMMARY_HELP);
}

/** The formats a file of entries can take: the entry formats but the terminal's table. */
export const FILE_FORMATS = FORMATS.entries.filter(
  (f): f is Exclude<(typeof FORMATS.entries)[number], "table"> => f !== "table",
);

/**
 * `--format` with its choices, the vocabulary's names for that output (FORMATS), checked by
 * commander before the command runs: the one validation of every command's --format, whose error
 * lists what is allowed.
 */
export function formatOption(formats: readonly string[], description: string): Option {
  return new Option("--format <format>", description).choices(formats);
}

/** `-v/--verbose`'s meaning where the command makes requests (packages/cli/src/cli/requestLog.ts). */
export const VERBOSE_HELP =
  "one line on stderr per request: page, offset, per_page, entries, ms, throttles and retries (never the PAT)";

/** `-v/--verbose`, worded for the command where it means something else (default {@link VERBOSE_HELP}). */
export function verboseOption(description: string = VERBOSE_HELP): Option {
  return new Option("-v, --verbose", description);
}

/**
 * Gives `-v/--verbose` to every command of `program` that runs (one without subcommands), worded
 * {@link VERBOSE_HELP} unless its definition added its own, and tells `note` before each action
 * whether it was given: the one place the flag is declared for all, so no command lacks it.
 */
export function addVerboseEverywhere(program: Command, note: (verbose: boolean) => void): void {
  const runnable = (cmd: Command): Command[] =>
    cmd.commands.length === 0 ? [cmd] : cmd.commands.flatMap(runnable);
  for (const cmd of program.commands.flatMap(runnable))
    if (!cmd.options.some((o) => o.long === "--verbose")) cmd.addOption(verboseOption());
  program.hook("preAction", (_, action) => note(action.opts().verbose === true));
}

/** `--format jsonl|text` of alerts (watch, rules test). */
export function alertFormatOption(): Option {
  return formatOption(FORMATS.alerts, "alerts on stdout").default("jsonl");
}

/** `--format` of entries on stdout (search, tail): a table on a terminal, else JSON Lines. */
export function entryFormatOption(): Option {
  return formatOption(
    FORMATS.entries,
    "entries on stdout (default: table on a terminal, else jsonl; ocsf: OCSF 1.8 events)",
  );
}

/** `--format` of a statement's rows on stdout (query): a table on a terminal, else JSON Lines. */
export function rowFormatOption(): Option {
  return formatOption(FORMATS.rows, "rows on stdout (default: table on a terminal, else jsonl)");
}

/**
 * The follow flags: -f/--follow when given a description (watch always follows), --interval with
 * the command's default, and --lookback when given a description.
 */
export function addFollowOptions(
  cmd: Command,
  follow: { follow?: string; interval: [description: string, defaultMs: number]; lookback?: string },
): Command {
  if (follow.follow !== undefined) cmd.option("-f, --follow", follow.follow);
  cmd.addOption(durationFlag("--interval <duration>", ...follow.interval));
  if (follow.lookback !== undefined)
    cmd.addOption(durationFlag("--lookback <duration>", follow.lookback, 60_000));
  return cmd;
}

/** packages/client/src/client/rateBudget.ts's MAX_RATE_LIMIT (importing it would load the client to print the help). */
export const MAX_RATE_LIMIT_FLAG = 10_000;

/** A commander argument parser for a rate in requests per second: > 0 and ≤ 10000, decimals allowed. */
export function rateLimitOption(flag: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value.trim()) || !(n > 0) || n > MAX_RATE_LIMIT_FLAG) {
      throw new InvalidArgumentError(
        `${flag}: "${value}" is not a number of requests per second above 0 and at most ${MAX_RATE_LIMIT_FLAG}`,
      );
    }
    return n;
  };
}

/** A group's flags as [option key, flag] pairs, read from the group itself. */
export function groupFlags(group: FlagGroup): ReadonlyArray<readonly [key: string, flag: string]> {
  return group(new Command()).options.map((o) => [o.attributeName(), o.long as string] as const);
}

/** The connection flags, so that one added there is refused everywhere connection flags do not apply. */
export const CONNECTION_FLAGS = groupFlags((cmd) => addConnectionOptions(cmd));
/** The filter and window flags. */
export const FILTER_FLAGS = groupFlags((cmd) => addFilterOptions(cmd));

/** The first flag of `groups` that `flags` (as commander parsed them) holds, if any. */
export function givenFlag(
  flags: object,
  ...groups: ReadonlyArray<readonly [key: string, flag: string]>[]
): string | undefined {
  for (const group of groups) {
    for (const [key, flag] of group) if ((flags as Record<string, unknown>)[key] !== undefined) return flag;
  }
  return undefined;
}

/**
 * Makes `cmd` refuse a group's flags with one line (`--endpoint: <why>`, exit 2) instead of
 * commander's "unknown option": the flags are accepted by the parser, hidden from the help, and
 * refused before the action runs.
 */
export function refuseGroup(cmd: Command, group: FlagGroup, why: string): Command {
  for (const option of group(new Command()).options) cmd.addOption(option.hideHelp());
  const flags = groupFlags(group);
  return cmd.hook("preAction", (_, action) => {
    const flag = givenFlag(action.opts(), flags);
    if (flag !== undefined)
      action.error(`error: ${flag}: ${why}`, { exitCode: 2, code: "clarifai.refusedFlag" });
  });
}
