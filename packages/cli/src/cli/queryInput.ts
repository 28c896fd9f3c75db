/**
 * What the `query` shell and scripts do with what is typed (packages/cli/src/cli/queryShell.ts reads it): run a
 * statement through the one sandboxed session (packages/cli/src/cli/querySession.ts's LakeSession), or
 * a dot command (`.help`, `.tables`, `.schema`, `.format`, `.timer`, `.quit`).
 */
import type { CliOutput } from "./cliIo.js";
import { FORMATS, type QueryFormat } from "./queryPrinter.js";
import { type LakeSession, usage } from "./querySession.js";

/** `.help`'s text. */
export const SHELL_HELP = `Statements end with ";" and may span lines (the view is audit_log; read-only).
.help                           this text
.tables                         the tables and views (audit_log)
.schema                         audit_log's columns and their types
${`.format ${FORMATS.join("|")}`.padEnd(32)}how rows print (no argument: the format now)
.timer on|off                   print the time each statement took
.quit, .exit                    leave (Ctrl-D too)
Ctrl-C cancels the line being typed, or stops a running statement.
`;

/**
 * The catalog statements of `.tables` and `.schema` (names first: the shell completes them): plain
 * SELECTs, checked like any other.
 */
export const CATALOG: Readonly<Record<".tables" | ".schema", string>> = {
  ".tables": "SELECT view_name AS name FROM duckdb_views() WHERE NOT internal ORDER BY 1",
  ".schema":
    "SELECT column_name AS column, data_type AS type FROM duckdb_columns() WHERE table_name = 'audit_log' ORDER BY column_index",
};

/** What a dot command asks of the reader of the input. */
export type DotOutcome = "quit" | undefined;

/** The statements and dot commands of one shell or script, and what they have set. */
export class QueryInput {
  /** Statements run (refused or failed ones included). */
  statements = 0;
  /** Statements refused or failed. */
  failed = 0;
  /** Rows printed, over all statements. */
  rows = 0;
  private timer = false;

  /**
   * @param interactive a shell on a terminal: tables fit its width, and a line after each says how
   *   many rows (and with `.timer on`, how long); in a script only `.timer on` prints, on stderr.
   */
  constructor(
    private readonly session: LakeSession,
    private readonly out: CliOutput & { columns?: number },
    private readonly err: CliOutput,
    private format: QueryFormat,
    private readonly interactive: boolean,
  ) {}

  /** Runs one statement; a refused or failed one throws its usage error (exit 2). */
  async execute(sql: string): Promise<void> {
    this.statements++;
    const started = performance.now();
    let rows: number;
    try {
      const columns = this.interactive ? this.out.columns : undefined;
      rows = await this.session.run(sql, this.out, this.format, columns ? { lineWidth: columns } : {});
    } catch (error) {
      this.failed++;
      throw error;
    }
    this.rows += rows;
    const time = this.timer ? `${((performance.now() - started) / 1000).toFixed(3)} s` : undefined;
    if (this.interactive && (this.format === "table" || time !== undefined))
      this.out.write(`(${rows} row${rows === 1 ? "" : "s"}${time === undefined ? "" : `, ${time}`})\n`);
    else if (time !== undefined) this.err.write(`time: ${time}\n`);
  }

  /** Runs the dot command `line`; an unknown or malformed one throws a usage error. */
  async dot(line: string): Promise<DotOutcome> {
    const [name = "", ...args] = line.trim().split(/\s+/);
    const arg = args[0];
    const extra = async (most: number) => {
      if (args.length > most)
        throw await usage(`query: ${name} takes ${most === 0 ? "no argument" : "one argument"} (see .help)`);
    };
    switch (name) {
      case ".help":
        await extra(0);
        this.out.write(SHELL_HELP);
        return undefined;
      case ".quit":
      case ".exit":
        await extra(0);
        return "quit";
      case ".tables":
      case ".schema":
        await extra(0);
        await this.execute(CATALOG[name]);
        return undefined;
      case ".format":
      case ".mode":
        await extra(1);
        if (arg === undefined) this.out.write(`${this.format}\n`);
        else if ((FORMATS as readonly string[]).includes(arg)) this.format = arg as QueryFormat;
        else throw await usage(`query: ${name}: "${arg}" is not one of ${FORMATS.join(", ")}`);
        return undefined;
      case ".timer":
        await extra(1);
        if (arg === undefined) this.out.write(`${this.timer ? "on" : "off"}\n`);
        else if (arg === "on" || arg === "off") this.timer = arg === "on";
        else throw await usage(`query: .timer: "${arg}" is not on or off`);
        return undefined;
      default:
        throw await usage(`query: unknown command ${name} (.help lists them)`);
    }
  }
}
