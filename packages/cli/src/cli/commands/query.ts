/** The definition of `query`: its flags; the work is packages/cli/src/cli/queryCommand.ts's. */
import { type Command, InvalidArgumentError, Option } from "commander";
import { integerOption } from "../duration.js";
import type { QueryFlags } from "../queryCommand.js";
import {
  addConnectionOptions,
  addOutputOptions,
  durationFlag,
  refuseGroup,
  rowFormatOption,
  verboseOption,
} from "../sharedFlags.js";
import type { CommandRuns } from "./runs.js";

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
export function defineQuery(program: Command, runs: CommandRuns): Command {
  const cmd = program
    .command("query")
    .description(
      "Read-only SQL over a synced lake's view audit_log (embedded DuckDB, sandboxed: it reads only the lake's listed files and writes nothing but the shell's history); without SQL, an interactive shell.",
    )
    .argument(
      "[sql]",
      'one SELECT statement, e.g. "SELECT operation_name, count(*) FROM audit_log GROUP BY 1"; without it, an interactive shell on a terminal, else the statements of a script on stdin',
    )
    .requiredOption("--lake <dir>", "the lake: the folder `sync --lake` (or --dest) writes");
  addOutputOptions(cmd, { format: rowFormatOption() })
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
    .addOption(
      verboseOption(
        "one line on stderr when the statement ends: its rows and time (query reads a local lake and makes no request)",
      ),
    )
    .option(
      "--no-history",
      "the shell keeps no history file (by default clarifai-audit/query_history in $XDG_STATE_HOME or ~/.local/state, mode 0600: the one file query writes)",
    );
  refuseGroup(
    cmd,
    addConnectionOptions,
    "query reads a local lake (--lake) and makes no request; connection flags do not apply",
  );
  // Reads a local lake only: the error reporting (which loads the client) loads only for an error.
  return cmd.action((sql: string | undefined, flags: QueryFlags) =>
    runs.run({ command: "query", json: flags.json, graceful: false }, async (ctx) =>
      (await import("../queryCommand.js")).runQueryCommand(ctx, sql, flags),
    ),
  );
}
