/**
 * The CLI's one vocabulary: every flag's one meaning, declared here and nowhere else, and the names
 * that are deprecated with their replacement and the version that removes them. A command words a
 * flag's help for itself (what `--interval` waits between), but a flag name means one thing on
 * every command that takes it, with one argument placeholder and one short letter.
 * docs/vocabulary.md is generated from this table and the command definitions (`npm run docs`,
 * scripts/gen-docs.ts); test/cli/vocabulary.test.ts checks every command's flags against it. It
 * loads nothing: declaring the CLI reads it.
 */

/** One flag's entry: its argument placeholder (none: a switch), its short letter, its meaning. */
export interface FlagMeaning {
  /** `<time>`, as every command that takes the flag prints it; absent for a switch. */
  readonly argument?: string;
  /** The one short letter (`-q`), the same wherever the flag is taken. */
  readonly short?: string;
  readonly meaning: string;
}

/** The output formats, by what is printed: the same names wherever the same output is meant. */
export const FORMATS = {
  /** Audit-log entries (search, tail; export writes the machine ones to a file); ocsf: OCSF events as JSON lines. */
  entries: ["table", "json", "jsonl", "csv", "ocsf"],
  /** Rows of a SQL statement (query): not entries, so not OCSF events. */
  rows: ["table", "json", "jsonl", "csv"],
  /** Alerts (watch, rules test). */
  alerts: ["jsonl", "text"],
  /** A report (report): the page, printed, or its aggregates for scripts. */
  report: ["html", "pdf", "json"],
  /** What each entry becomes at a destination carrying events (sync; a collector destination's `format`). */
  destination: ["json", "ocsf"],
} as const;

/** The formats of the collector's log lines (`run --log-format`). */
export const LOG_FORMATS = ["text", "json"] as const;

/** The version that removes every deprecated name of {@link DEPRECATED_FLAGS}: the next minor one. */
export const REMOVED_IN = "0.2.0";

/** A deprecated flag name: still accepted (hidden from help, one warning line) until {@link REMOVED_IN}. */
export interface DeprecatedFlag {
  /** The old name, e.g. `--user`. */
  readonly flag: string;
  /** The flag that replaces it on every command that takes the replacement. */
  readonly replacement: string;
  readonly removedIn: string;
  /** Why it was renamed (for docs/vocabulary.md). */
  readonly why: string;
}

/** The renamed flags: the old name is an alias of the replacement wherever the replacement is taken. */
export const DEPRECATED_FLAGS: readonly DeprecatedFlag[] = [
  {
    flag: "--to",
    replacement: "--dest",
    removedIn: REMOVED_IN,
    why: "on sync it named the destination, everywhere else `--to` is the window's end; from 0.2.0 sync has no --to",
  },
  {
    flag: "--user",
    replacement: "--actor",
    removedIn: REMOVED_IN,
    why: "too close to --user-id (whose log): --actor is who acted",
  },
  {
    flag: "--profile",
    replacement: "--preset",
    removedIn: REMOVED_IN,
    why: "on emulator it named a server preset; --profile is the config file's named profile",
  },
];

/** The help text of `-q/--quiet`: the same words on every command. */
export const QUIET_HELP =
  "only errors and warnings on stderr (no progress, window or summary lines; --json's object still prints)";

const REPEATABLE = "; repeatable";

/** Every flag of the CLI, by long name (sorted): its one meaning. */
export const VOCABULARY: Readonly<Record<string, FlagMeaning>> = {
  "--account": {
    argument: "<spec>",
    meaning: `an account the emulator serves with a log of its own (TOKEN=USER_ID,generate=N,…)${REPEATABLE}`,
  },
  "--actor": {
    argument: "<id>",
    meaning: `filter: only operations performed by this user (who acted)${REPEATABLE}`,
  },
  "--alert-attempts": { argument: "<n>", meaning: "delivery attempts per alert and destination" },
  "--alert-backoff": {
    argument: "<duration>",
    meaning: "delay before an alert's first retry, doubled for each next one",
  },
  "--alert-exec": {
    argument: "<command>",
    meaning: `run this shell command with each alert as JSON on stdin${REPEATABLE}`,
  },
  "--alert-secret": { argument: "<secret>", meaning: "HMAC key signing webhook bodies" },
  "--alert-slack": {
    argument: "<url>",
    meaning: `post each alert to this Slack incoming webhook${REPEATABLE}`,
  },
  "--alert-timeout": { argument: "<duration>", meaning: "deadline of one alert delivery attempt" },
  "--alert-webhook": { argument: "<url>", meaning: `POST each alert as JSON to this URL${REPEATABLE}` },
  "--all": { meaning: "follow pages until the last one" },
  "--asc": { meaning: "oldest first" },
  "--ca": {
    argument: "<file>",
    meaning: "a PEM file of the CA(s) a TLS destination's certificate must chain to",
  },
  "--checkpoint": {
    argument: "<file>",
    meaning: "state file to resume from and save progress to (written atomically)",
  },
  "--commit-entries": { argument: "<n>", meaning: "commit once this many entries are waiting" },
  "--commit-interval": { argument: "<duration>", meaning: "how often progress is made durable (a commit)" },
  "--concurrency": { argument: "<n>", meaning: "most pages fetched in parallel" },
  "--config": { argument: "<file>", meaning: "the collector's config file (YAML)" },
  "--data": { argument: "<file>", meaning: `JSONL file of entries for the emulator to serve${REPEATABLE}` },
  "--data-user": { argument: "<user_id>", meaning: "whose audit log the emulator's data goes to" },
  "--dead-letter": { argument: "<file>", meaning: "where alerts that could not be delivered are written" },
  "--dest": {
    argument: "<dir|url>",
    meaning:
      "sync's destination: a folder (Parquet lake), postgres://…, s3://bucket/prefix, syslog://host:port, syslog+tls://host:port or splunk+https://host:port",
  },
  "--drop-connection-every": {
    argument: "<n>",
    meaning: "emulator fault: drop the connection of every Nth call",
  },
  "--endpoint": { argument: "<host:port>", meaning: "the gRPC endpoint to call" },
  "--failed": { meaning: "filter: only failed operations" },
  "--fault-seed": {
    argument: "<s>",
    meaning: "seed of the emulator's fault probabilities, jitter and growth",
  },
  "--follow": {
    short: "-f",
    meaning:
      "keep going until interrupted (SIGINT/SIGTERM end it cleanly): poll or run again every --interval",
  },
  "--force": { meaning: "overwrite the output file, or discard an interrupted run of it" },
  "--format": {
    argument: "<format>",
    meaning: `output format: entries ${FORMATS.entries.join("|")} (a file: json|jsonl|csv|ocsf), query rows ${FORMATS.rows.join("|")}, alerts ${FORMATS.alerts.join("|")}, a report ${FORMATS.report.join("|")}, a destination's events ${FORMATS.destination.join("|")}`,
  },
  "--from": { argument: "<time>", meaning: "window: earliest entry time, RFC 3339, inclusive" },
  "--generate": { argument: "<n>", meaning: "number of synthetic entries the emulator generates" },
  "--generate-since": {
    argument: "<duration>",
    meaning: "start the emulator's generated entries this long before now",
  },
  "--growth-count": { argument: "<k>", meaning: "emulator: append K entries every --growth-every-ms" },
  "--growth-every-ms": { argument: "<ms>", meaning: "emulator: growth period" },
  "--growth-late-fraction": {
    argument: "<f>",
    meaning: "emulator: fraction of grown entries timestamped in the past",
  },
  "--help": { short: "-h", meaning: "print the command's help" },
  "--host": { argument: "<host>", meaning: "interface the emulator binds" },
  "--input": {
    argument: "<file>",
    meaning: "an export file to read (JSONL or JSON, .gz too) instead of the API",
  },
  "--insecure": { meaning: "plaintext gRPC (loopback hosts only)" },
  "--interval": { argument: "<duration>", meaning: "time between polls or runs when following" },
  "--jitter-ms": { argument: "<ms>", meaning: "emulator: extra random delay per call" },
  "--json": { meaning: "after the run, one JSON object on stderr's last line for scripts" },
  "--lake": {
    argument: "<dir>",
    meaning: "a Parquet lake (a folder): what sync writes, and query, report and rules test read",
  },
  "--latency-ms": { argument: "<ms>", meaning: "emulator: fixed delay per call" },
  "--log-format": { argument: "<format>", meaning: `log lines: ${LOG_FORMATS.join(" or ")}` },
  "--lookback": {
    argument: "<duration>",
    meaning: "re-read this far behind the newest entry, for entries that land late",
  },
  "--max-attempts": { argument: "<n>", meaning: "attempts per page request, retries included" },
  "--max-memory": { argument: "<size>", meaning: "DuckDB's memory limit" },
  "--max-time": { argument: "<duration>", meaning: "stop the statement once DuckDB has worked this long" },
  "--memory": { argument: "<mode>", meaning: "memory profile of a long walk: lean or fast" },
  "--names": { meaning: "config list: profile names only, one per line (what shell completion reads)" },
  "--no-destination-check": { meaning: "skip the start-up TCP connect check of webhook URLs" },
  "--no-history": { meaning: "query's shell keeps no history file" },
  "--no-rest": { meaning: "do not start the emulator's REST server" },
  "--once": { meaning: "one poll or round, then exit (for cron)" },
  "--operation": {
    argument: "<op>",
    meaning: `filter: operation name (MODEL_CREATE) or code (300)${REPEATABLE}`,
  },
  "--out": { argument: "<file>", meaning: "the file to write" },
  "--page": { argument: "<n>", meaning: "page number, from 1" },
  "--pat": { argument: "<token=user_id>", meaning: `a PAT the emulator accepts, and its user${REPEATABLE}` },
  "--pdf": { argument: "<file>", meaning: "also print the report to this PDF" },
  "--per-page": { argument: "<n>", meaning: "entries per page request" },
  "--port": { argument: "<port>", meaning: "the emulator's gRPC port (0 = ephemeral)" },
  "--preset": { argument: "<name>", meaning: "the emulator rehearses a real service's limits and latency" },
  "--profile": {
    argument: "<name>",
    meaning: "named profile from the config file (default: CLARIFAI_AUDIT_PROFILE, else the file's default)",
  },
  "--quiet": { short: "-q", meaning: QUIET_HELP },
  "--rate-limit": {
    argument: "<n>",
    meaning:
      "requests per second at most: a command paces its calls to it, the emulator throttles calls above it",
  },
  "--reconcile": {
    argument: "<duration>",
    meaning: "re-read this far behind the last run's end for late entries",
  },
  "--rest-port": { argument: "<port>", meaning: "the emulator's REST port (0 = ephemeral)" },
  "--resolve": { meaning: "config check: also run each PAT source and say whether it gave a PAT" },
  "--resume": { meaning: "continue an interrupted export of the output file" },
  "--rules": { argument: "<file>", meaning: `rules file (YAML), or builtin${REPEATABLE}` },
  "--seed": { argument: "<s>", meaning: "seed of the emulator's generated entries" },
  "--settle": {
    argument: "<duration>",
    meaning: "leave out the last duration before now (entries still landing)",
  },
  "--since": { argument: "<duration>", meaning: "window: from = now − duration" },
  "--sign": {
    argument: "<key>",
    meaning: `sign every commit with this Ed25519 private key (a digest per commit, chained); two keys while changing keys${REPEATABLE}`,
  },
  "--source-ip": { argument: "<ip>", meaning: `filter: only requests from this IP address${REPEATABLE}` },
  "--success": { meaning: "filter: only successful operations" },
  "--table": { argument: "<name>", meaning: "PostgreSQL table of sync's destination" },
  "--target": {
    argument: "<kind=id>",
    meaning: `filter: only operations on this resource (model=app1/my-model, as entries print it)${REPEATABLE}`,
  },
  "--threads": { argument: "<n>", meaning: "DuckDB's worker threads" },
  "--throttle-above-in-flight": {
    argument: "<n>",
    meaning: "emulator fault: throttle calls arriving while N are served",
  },
  "--throttle-burst": { argument: "<k>", meaning: "emulator fault: throttle the first K calls" },
  "--throttle-every": { argument: "<n>", meaning: "emulator fault: throttle every Nth call" },
  "--throttle-probability": {
    argument: "<p>",
    meaning: "emulator fault: throttle each call with probability p",
  },
  "--timeout": { argument: "<duration>", meaning: "deadline of one page request, retries included" },
  "--title": { argument: "<text>", meaning: "the report's title" },
  "--tls-cert": { argument: "<file>", meaning: "the emulator's PEM certificate chain (enables TLS)" },
  "--tls-key": { argument: "<file>", meaning: "the emulator's PEM private key" },
  "--to": { argument: "<time>", meaning: "window: latest entry time, RFC 3339, inclusive" },
  "--tsa": {
    argument: "<url>",
    meaning: "with --sign: time-stamp each digest at this RFC 3161 time-stamping authority",
  },
  "--unavailable-burst": {
    argument: "<k>",
    meaning: "emulator fault: fail the first K calls with UNAVAILABLE",
  },
  "--unavailable-every": { argument: "<n>", meaning: "emulator fault: fail every Nth call with UNAVAILABLE" },
  "--unavailable-probability": {
    argument: "<p>",
    meaning: "emulator fault: fail each call with UNAVAILABLE with probability p",
  },
  "--until": { argument: "<duration>", meaning: "window: to = now − duration" },
  "--user-id": { argument: "<id>", meaning: "whose audit log (the account the PAT reads)" },
  "--verbose": {
    short: "-v",
    meaning: "one line per request on stderr (page, entries, ms, throttles, retries)",
  },
  "--version": { short: "-V", meaning: "print the version" },
};

/** The deprecated name `flag` on a command that takes `replacement`, if it is one. */
export function deprecationOf(flag: string, replacement?: string): DeprecatedFlag | undefined {
  return DEPRECATED_FLAGS.find(
    (d) => d.flag === flag && (replacement === undefined || d.replacement === replacement),
  );
}
