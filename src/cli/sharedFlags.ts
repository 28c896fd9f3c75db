/**
 * The definitions (names, help, argument parsers) of the flags search, export and tail share. They
 * depend on commander and duration.js only, so that declaring the CLI loads neither the client nor
 * the exporter; src/cli/queryOptions.ts turns the parsed flags into a query and a client.
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { collect, durationOption, integerOption } from "./duration.js";

/**
 * Adds the filter flags and the time-window flags: all of them (`window` true), none (false), or
 * only the start (`"start"`, for commands that read up to now: `--to`/`--until` are then accepted
 * only to be refused with a reason, and the help does not list them).
 */
export function addFilterOptions(cmd: Command, window: boolean | "start" = true): Command {
  if (window !== false) {
    cmd
      .option("--from <time>", "earliest entry time, RFC 3339 (e.g. 2025-01-17T12:04:55.449860Z); inclusive")
      .addOption(
        hideIf(window === "start", new Option("--to <time>", "latest entry time, RFC 3339; inclusive")),
      )
      .option("--since <duration>", "from = now − duration (e.g. 24h, 30m, 7d)", durationOption("--since"))
      .addOption(
        hideIf(
          window === "start",
          new Option("--until <duration>", "to = now − duration").argParser(durationOption("--until")),
        ),
      );
  }
  return cmd
    .option("--operation <op>", "operation name (MODEL_CREATE) or code (300); repeatable", collect)
    .option("--user <id>", "only operations performed by this user; repeatable", collect)
    .option(
      "--target <kind=id>",
      "only operations on this resource, e.g. model=my-model, model=app1/my-model, app=user1/app1; repeatable",
      collect,
    )
    .addOption(new Option("--success", "only successful operations").conflicts("failed"))
    .addOption(new Option("--failed", "only failed operations").conflicts("success"))
    .option("--source-ip <ip>", "only requests from this IP address; repeatable", collect);
}

function hideIf(hide: boolean, option: Option): Option {
  return hide ? option.hideHelp() : option;
}

/** The help's note on the environment: where the PAT comes from. */
export const ENVIRONMENT_HELP = `
Environment:
  CLARIFAI_PAT        Personal Access Token (required; there is no flag, so it never shows in ps)
  CLARIFAI_USER_ID    default of --user-id
  CLARIFAI_GRPC_BASE  default of --endpoint`;

/**
 * Adds the connection flags. The PAT comes from CLARIFAI_PAT only, so it never shows in `ps`.
 * `maxAttempts` is the command's default of --max-attempts, as its help prints it (the client's is 5).
 */
export function addConnectionOptions(cmd: Command, defaults: { maxAttempts?: number } = {}): Command {
  return cmd
    .addHelpText("after", ENVIRONMENT_HELP)
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

/** src/client/rateBudget.ts's MAX_RATE_LIMIT (importing it would load the client to print the help). */
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

/**
 * The connection flags as [option key, flag] pairs, read from {@link addConnectionOptions} itself so
 * that a flag added there is refused everywhere connection flags do not apply (report --input).
 */
export const CONNECTION_FLAGS: ReadonlyArray<readonly [key: string, flag: string]> = addConnectionOptions(
  new Command(),
).options.map((o) => [o.attributeName(), o.long as string] as const);
