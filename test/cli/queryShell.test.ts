/**
 * `query --lake DIR` without SQL: on a terminal, an interactive shell; elsewhere, a script on stdin.
 * The shell is driven in-process through main() with fake terminal streams (PassThrough with
 * isTTY), typed key by key as a user would (Enter, Ctrl-C, Ctrl-D, up-arrow): statements over
 * several lines, errors that leave the shell running, .format, the history file (0600, reloaded,
 * bounded, --no-history), Ctrl-C on a line and on a running statement, Ctrl-D's exit code; and every
 * write the one-shot query refuses is refused in the shell too, with nothing written.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { main } from "../../packages/cli/src/cli/cli.js";
import { historyEntries, splitStatements } from "../../packages/cli/src/cli/queryStatements.js";
import { waitFor } from "../helpers/waitFor.js";
import { CLI, cliEnv, type GeneratedEmulator, runMain, snapshot, startGeneratedEmulator } from "./helpers.js";

let generated: GeneratedEmulator;
let lake: string;
let home: string;

beforeAll(async () => {
  generated = await startGeneratedEmulator(120, 7);
  lake = join(generated.tmp.dir, "lake");
  home = join(generated.tmp.dir, "home");
  mkdirSync(home);
  const s = await runMain(["sync", ...generated.conn, "--dest", lake, "--settle", "0s"]);
  expect([s.code, s.stderr]).toEqual([0, expect.stringMatching(/synced 120 new entries /)]);
});
afterAll(async () => {
  await generated?.close();
});

/** What a terminal shows of `text`: readline's cursor moves and line clears taken out. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: readline's escape sequences are what is removed
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").replaceAll("\r\n", "\n");

/** A stream that keeps what is written to it and says it is a terminal. */
function screen(columns?: number): PassThrough & { isTTY: boolean; columns?: number; text: string } {
  const s = new PassThrough() as PassThrough & { isTTY: boolean; columns?: number; text: string };
  s.isTTY = true;
  if (columns !== undefined) s.columns = columns;
  s.text = "";
  s.setEncoding("utf8").on("data", (d: string) => {
    s.text += d;
  });
  return s;
}

/** A shell run in-process on fake terminals, typed into key by key. */
class Shell {
  readonly stdin = Object.assign(new PassThrough(), { isTTY: true });
  readonly stdout;
  readonly stderr = screen();
  readonly done: Promise<number>;
  constructor(args: string[] = [], env: NodeJS.ProcessEnv = cliEnv({ HOME: home }), columns?: number) {
    this.stdout = screen(columns);
    this.done = main(["query", "--lake", lake, ...args], env, {
      stdin: this.stdin,
      stdout: this.stdout,
      stderr: this.stderr,
    });
  }
  get out(): string {
    return plain(this.stdout.text);
  }
  /** Types `keys`, then waits for the shell to show `prompt` again after them. */
  async type(keys: string, prompt = "sql> "): Promise<string> {
    const before = this.stdout.text.length;
    this.stdin.write(keys);
    await waitFor(() => plain(this.stdout.text.slice(before)).endsWith(prompt), {
      what: `${prompt} after ${keys}`,
    });
    return plain(this.stdout.text.slice(before));
  }
  /** Ctrl-D: the shell ends; resolves with its exit code. */
  async quit(): Promise<number> {
    this.stdin.write("\x04");
    return this.done;
  }
}

describe("the interactive shell", () => {
  it("runs a statement typed over several lines at its ';', as a table, then leaves with Ctrl-D and 0", async () => {
    const sh = new Shell(["--no-history"]);
    await waitFor(() => sh.out.endsWith("sql> "), { what: "the first prompt" });
    expect(sh.out).toMatch(/^clarifai-audit query: the lake .* as the view audit_log, read-only\./);
    expect(await sh.type("SELECT count(*) AS n,\r", "...> ")).toBe("SELECT count(*) AS n,\n...> ");
    expect(await sh.type("  'x;y' AS s -- a ; in a comment\r", "...> ")).toMatch(/\n\.\.\.> $/);
    expect(await sh.type("FROM audit_log;\r")).toBe(
      "FROM audit_log;\nn    s\n---  ---\n120  x;y\n(1 row)\nsql> ",
    );
    expect(await sh.quit()).toBe(0);
    expect(sh.stderr.text).toBe("");
  });

  it("prints one line for an error and goes on; .format switches; .schema and .tables read the catalog; Tab completes", async () => {
    const sh = new Shell(["--no-history"]);
    await waitFor(() => sh.out.endsWith("sql> "));
    await sh.type("SELEC 1;\r");
    expect(sh.stderr.text).toMatch(
      /^clarifai-audit: error: query: Parser Error: syntax error at or near "SELEC"[^\n]*\n$/,
    );
    expect(await sh.type(".format csv\r")).toBe(".format csv\nsql> ");
    expect(await sh.type("SELECT 1 AS a, 'b' AS b;\r")).toBe("SELECT 1 AS a, 'b' AS b;\na,b\n1,b\nsql> ");
    // Tab completes a column, the view and a dot command (readline completes a Tab that ends what
    // arrives at once: one typed after other keys in the same write would be a paste's).
    const tab = async (keys: string, shows: string) => {
      sh.stdin.write(`${keys}\t`);
      await waitFor(() => sh.out.endsWith(shows), { what: shows });
    };
    await tab("SELECT operation_n", "sql> SELECT operation_name");
    await tab(" FROM audit_l", "sql> SELECT operation_name FROM audit_log");
    expect(await sh.type(" LIMIT 0;\r")).toBe(" LIMIT 0;\noperation_name\nsql> ");
    await tab(".form", "sql> .format");
    await sh.type(" jsonl\r");
    expect(await sh.type("SELECT 2 AS a;\r")).toBe('SELECT 2 AS a;\n{"a":2}\nsql> ');
    await sh.type(".format table\r");
    const schema = await sh.type(".schema\r");
    expect(schema).toMatch(/^column +type\n/m);
    expect(schema).toMatch(/^operation_name +VARCHAR$/m);
    expect(await sh.type(".tables\r")).toBe(".tables\nname\n---------\naudit_log\n(1 row)\nsql> ");
    await sh.type(".timer on\r");
    expect(await sh.type("SELECT 3 AS a;\r")).toMatch(
      /^SELECT 3 AS a;\na\n-\n3\n\(1 row, \d+\.\d{3} s\)\nsql> $/,
    );
    await sh.type(".format xml\r");
    await sh.type(".nope\r");
    expect(sh.stderr.text.split("\n").slice(1)).toEqual([
      'clarifai-audit: error: query: .format: "xml" is not one of table, json, jsonl, csv',
      "clarifai-audit: error: query: unknown command .nope (.help lists them)",
      "",
    ]);
    expect(await sh.type(".help\r")).toMatch(/\.format table\|json\|jsonl\|csv +how rows print/);
    // Still running after the errors: .quit ends it with 0.
    sh.stdin.write(".quit\r");
    expect(await sh.done).toBe(0);
  });

  it("fits a table to the terminal's width (or prints records), escaping control characters of values", async () => {
    const sh = new Shell(["--no-history"], undefined, 30);
    await waitFor(() => sh.out.endsWith("sql> "));
    const out = await sh.type(`SELECT repeat('w', 40) AS a, 'e' || chr(27) || '[31m' AS b;\r`);
    const lines = out.split("\n").slice(1, 4);
    expect(lines).toEqual([
      // a is cut to 19 so that a and b (9, uncut) fit 30 with their gap.
      `a${" ".repeat(18)}  b`,
      `${"-".repeat(19)}  ${"-".repeat(9)}`,
      `${"w".repeat(18)}…  e\\x1b[31m`,
    ]);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(30);
    // Too many columns to fit even cut: a record a row, values cut to what is left of the width.
    const wide = await sh.type(
      "SELECT x AS a, repeat('w', 40) AS b, 1 AS c, 2 AS d, 3 AS e, 4 AS f, 5 AS g, 6 AS h, 7 AS i, 8 AS j FROM range(2) t(x);\r",
    );
    const record = (n: number) => [
      `-[ row ${n + 1} ]`,
      `a | ${n}`,
      `b | ${"w".repeat(25)}…`,
      ..."cdefghij".split("").map((c, i) => `${c} | ${i + 1}`),
    ];
    expect(wide.split("\n").slice(1)).toEqual([...record(0), ...record(1), "(2 rows)", "sql> "]);
    expect(await sh.quit()).toBe(0);
  });

  it("keeps a history file of mode 0600, one line per statement, and reads it back for up-arrow", async () => {
    const state = join(generated.tmp.dir, "state");
    const env = cliEnv({ HOME: home, XDG_STATE_HOME: state });
    const file = join(state, "clarifai-audit", "query_history");
    const first = new Shell([], env);
    await waitFor(() => first.out.endsWith("sql> "));
    await first.type("SELECT 1\r", "...> ");
    await first.type("  AS one;\r");
    await first.type(".format csv\r");
    await first.type("SELECT 'a'\r", "...> ");
    await first.type("-- a line comment\r", "...> ");
    await first.type(";\r");
    expect(await first.quit()).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(
      "SELECT 1 AS one;\n.format csv\nSELECT 'a'\n-- a line comment\n;\n",
    );
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(join(state, "clarifai-audit")).mode & 0o777).toBe(0o700);

    const again = new Shell([], env);
    await waitFor(() => again.out.endsWith("sql> "));
    // Up five times: back to the first statement, recalled whole; Enter runs it.
    const out = await again.type("\x1b[A\x1b[A\x1b[A\x1b[A\x1b[A\r");
    expect(out).toMatch(/SELECT 1 AS one;\none\n---\n1\n\(1 row\)\nsql> $/);
    expect(await again.quit()).toBe(0);
    expect(readFileSync(file, "utf8").split("\n").slice(-2)).toEqual(["SELECT 1 AS one;", ""]);

    // Bounded (1,000 of 1,005 kept), and a file others could read (0644) is 0600 again once written.
    writeFileSync(file, Array.from({ length: 1005 }, (_, i) => `SELECT ${i};\n`).join(""));
    chmodSync(file, 0o644);
    const bounded = new Shell([], env);
    await waitFor(() => bounded.out.endsWith("sql> "));
    await bounded.type("SELECT 'last';\r");
    expect(await bounded.quit()).toBe(0);
    const kept = readFileSync(file, "utf8").split("\n");
    expect([kept.length, kept[0], kept[998], kept[999]]).toEqual([
      1001,
      "SELECT 6;",
      "SELECT 1004;",
      "SELECT 'last';",
    ]);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // Two shells side by side: each adds its statements, neither drops the other's.
    const [left, right] = [new Shell([], env), new Shell([], env)];
    await waitFor(() => left.out.endsWith("sql> ") && right.out.endsWith("sql> "));
    await left.type("SELECT 'left 1';\r");
    await right.type("SELECT 'right';\r");
    await left.type("SELECT 'left 2';\r");
    expect([await left.quit(), await right.quit()]).toEqual([0, 0]);
    expect(readFileSync(file, "utf8").split("\n").slice(-4)).toEqual([
      "SELECT 'left 1';",
      "SELECT 'right';",
      "SELECT 'left 2';",
      "",
    ]);

    // --no-history: nothing read, nothing written.
    const before = readFileSync(file, "utf8");
    const none = new Shell(["--no-history"], env);
    await waitFor(() => none.out.endsWith("sql> "));
    // Up-arrow recalls nothing: Enter sends an empty line.
    expect(await none.type("\x1b[A\r")).toBe("\nsql> ");
    await none.type("SELECT 4;\r");
    expect(await none.quit()).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(before);
  });

  it("appends only to a regular file: a symlink at the history's path is not followed, a FIFO not waited on", async () => {
    const state = join(generated.tmp.dir, "state-links");
    const dir = join(state, "clarifai-audit");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const target = join(generated.tmp.dir, "not-history.txt");
    writeFileSync(target, "someone else's file\n", { mode: 0o644 });
    chmodSync(target, 0o644);
    symlinkSync(target, join(dir, "query_history"));
    const linked = new Shell([], cliEnv({ HOME: home, XDG_STATE_HOME: state }));
    await waitFor(() => linked.out.endsWith("sql> "));
    await linked.type("SELECT 1;\r");
    expect(await linked.quit()).toBe(0);
    expect(linked.stderr.text).toMatch(
      /^clarifai-audit: warning: the history is no longer kept: cannot write /m,
    );
    expect(readFileSync(target, "utf8")).toBe("someone else's file\n");
    expect(statSync(target).mode & 0o777).toBe(0o644);

    const fifoState = join(generated.tmp.dir, "state-fifo");
    mkdirSync(join(fifoState, "clarifai-audit"), { recursive: true, mode: 0o700 });
    execFileSync("mkfifo", [join(fifoState, "clarifai-audit", "query_history")]);
    const fifo = new Shell([], cliEnv({ HOME: home, XDG_STATE_HOME: fifoState }));
    await waitFor(() => fifo.out.endsWith("sql> "));
    expect(fifo.stderr.text).toMatch(
      /^clarifai-audit: warning: the history is not kept: cannot read .*a FIFO/m,
    );
    expect(await fifo.quit()).toBe(0);
  });

  it("without HOME or an absolute XDG_STATE_HOME, says in one line that no history is kept, and runs", async () => {
    const sh = new Shell([], cliEnv({ XDG_STATE_HOME: "relative/state" }));
    await waitFor(() => sh.out.endsWith("sql> "));
    expect(await sh.type("SELECT 6 AS a;\r")).toMatch(/\n6\n\(1 row\)\nsql> $/);
    expect(await sh.quit()).toBe(0);
    expect(sh.stderr.text).toBe(
      "clarifai-audit: warning: the history is not kept: HOME and XDG_STATE_HOME name no absolute folder (set one, or pass --no-history)\n",
    );
  });

  it("Ctrl-C cancels the statement being typed, stops a running one, and twice at an empty prompt leaves", async () => {
    const sh = new Shell(["--no-history"]);
    await waitFor(() => sh.out.endsWith("sql> "));
    await sh.type("SELECT\r", "...> ");
    expect(await sh.type("1 AS a\x03")).toMatch(/1 AS a\nsql> $/);
    // The cancelled lines are gone: the next statement starts afresh.
    expect(await sh.type("SELECT 2 AS b;\r")).toMatch(/^SELECT 2 AS b;\nb\n-\n2\n/);
    // Ctrl-C with the Enter: the statement stops before it starts.
    const stopped = await sh.type("SELECT count(*) FROM range(100000000000000);\r\x03");
    expect(stopped).not.toMatch(/\(1 row\)/);
    expect(sh.stderr.text).toBe("clarifai-audit: error: query: interrupted\n");
    // Ctrl-C a moment later: DuckDB is (most likely) at work, and is interrupted (the same line
    // either way; without the interrupt the count would run for days, past the test's timeout).
    sh.stdin.write("SELECT count(*) FROM range(100000000000000);\r");
    const started = performance.now();
    await waitFor(() => performance.now() - started > 300);
    expect(await sh.type("\x03")).not.toMatch(/\(1 row\)/);
    expect(sh.stderr.text).toBe("clarifai-audit: error: query: interrupted\n".repeat(2));
    expect(await sh.type("\x03")).toMatch(/\(Ctrl-C again to leave, or Ctrl-D, or \.quit\)\nsql> $/);
    sh.stdin.write("\x03");
    expect(await sh.done).toBe(0);
  });

  it("--max-time limits each statement: one stopped, the next one runs", async () => {
    const sh = new Shell(["--no-history", "--max-time", "500ms"]);
    await waitFor(() => sh.out.endsWith("sql> "));
    await sh.type("SELECT count(*) FROM range(100000000000000);\r");
    expect(sh.stderr.text).toBe(
      "clarifai-audit: error: query: stopped after --max-time 500ms (raise --max-time, or 0 for no limit)\n",
    );
    expect(await sh.type("SELECT 5 AS a;\r")).toMatch(/^SELECT 5 AS a;\na\n-\n5\n\(1 row\)\n/);
    expect(await sh.quit()).toBe(0);
  });

  it("refuses every write the one-shot query refuses, and writes nothing in the lake", async () => {
    const before = snapshot(lake);
    const state = join(lake, "_clarifai_sync.json");
    const data = JSON.parse(readFileSync(state, "utf8")).files[0].path as string;
    const sh = new Shell(["--no-history"]);
    await waitFor(() => sh.out.endsWith("sql> "));
    const refused: Array<[string, RegExp]> = [
      [`COPY (SELECT 1 AS x) TO '${join(lake, "x.csv")}';`, /this one is COPY/],
      [`COPY (SELECT 1) TO '${join(lake, data)}' (FORMAT csv, USE_TMP_FILE false);`, /this one is COPY/],
      [`EXPLAIN ANALYZE COPY (SELECT 1) TO '${state}' (FORMAT csv, USE_TMP_FILE false);`, /only read-only/],
      [`EXPORT DATABASE '${join(lake, "exp")}';`, /this one is EXPORT/],
      [`ATTACH '${join(lake, "a.duckdb")}' AS a;`, /this one is ATTACH/],
      ["INSTALL httpfs;", /this one is INSTALL/],
      ["LOAD httpfs;", /this one is LOAD/],
      ["CREATE TABLE t AS SELECT 1;", /this one is CREATE/],
      ["SET enable_external_access = true;", /this one is SET/],
      ["RESET lock_configuration;", /this one is RESET/],
      ["PRAGMA enable_profiling;", /this one is PRAGMA/],
      ["SELECT * FROM read_text('/etc/passwd');", /read_text\(\) is not allowed/],
      [`SELECT * FROM '${state}';`, /Permission Error/],
      ["SELECT write_log('x');", /write_log\(\) is not allowed/],
      // Two statements on one line run one after the other, each checked: the second is refused.
      [`SELECT 1 AS ok; COPY (SELECT 1) TO '${join(lake, "y.csv")}';`, /this one is COPY/],
    ];
    for (const [sql, message] of refused) {
      const seen = sh.stderr.text.length;
      await sh.type(`${sql}\r`);
      expect({ sql, error: sh.stderr.text.slice(seen) }).toEqual({
        sql,
        error: expect.stringMatching(
          new RegExp(`^clarifai-audit: error: query: [^\\n]*${message.source}[^\\n]*\\n$`),
        ),
      });
    }
    // Still locked after all of them: the settings are DuckDB's sandbox's.
    await sh.type(".format jsonl\r");
    expect(
      await sh.type(
        "SELECT current_setting('enable_external_access') AS e, current_setting('lock_configuration') AS l;\r",
      ),
    ).toMatch(/\{"e":false,"l":true\}\n/);
    expect(await sh.quit()).toBe(0);
    expect(snapshot(lake)).toBe(before);
  });
});

describe("as users run it: the built bin in a real terminal (tmux)", () => {
  it("prompts, runs the statement typed and prints its table, and leaves with Ctrl-D and exit 0", async () => {
    const sql =
      "SELECT operation_name AS op, count(*) AS n FROM audit_log GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 3";
    const expected = await runMain(["query", "--lake", lake, sql, "--format", "table"]);
    expect(expected.code).toBe(0);
    // A tmux server of this test's own (its socket in the test's folder), killed at the end; the
    // CLI's exit code is printed after it.
    const tmux = (...args: string[]) =>
      execFileSync("tmux", ["-S", join(generated.tmp.dir, "tmux.sock"), ...args], {
        encoding: "utf8",
        env: cliEnv({ HOME: home, SHELL: "/bin/sh", TERM: "xterm-256color" }),
      });
    const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    tmux(
      "new-session",
      "-d",
      "-x",
      "120",
      "-y",
      "30",
      `${quote(process.execPath)} ${quote(CLI)} query --lake ${quote(lake)} --no-history; echo "exit=$?"; sleep 60`,
    );
    try {
      const pane = () => tmux("capture-pane", "-p");
      // capture-pane drops a line's trailing blanks: the prompt shows as "sql>".
      await waitFor(() => /^sql>$/m.test(pane()), { what: "the prompt in tmux" });
      // tmux reads an argument ending in ";" as the end of its command: a blank follows it.
      tmux("send-keys", "-l", `${sql}; `);
      tmux("send-keys", "Enter");
      await waitFor(() => pane().includes("(3 rows)"), { what: "the table in tmux" });
      expect(pane()).toContain(`sql> ${sql};\n${expected.stdout}(3 rows)\nsql>`);
      tmux("send-keys", "C-d");
      await waitFor(() => /exit=\d+/.test(pane()), { what: "the exit in tmux" });
      expect(pane()).toMatch(/\nexit=0\n/);
    } finally {
      tmux("kill-server");
    }
  });
});

describe("without SQL and not on a terminal: a script on stdin", () => {
  /** Runs `query --lake DIR` with `script` on a stdin that is not a terminal. */
  async function script(text: string, ...flags: string[]) {
    const stdin = new PassThrough();
    stdin.end(text);
    const stdout = screen();
    stdout.isTTY = false;
    const stderr = screen();
    stderr.isTTY = false;
    const code = await main(["query", "--lake", lake, ...flags], cliEnv({ HOME: home }), {
      stdin,
      stdout,
      stderr,
    });
    return { code, stdout: stdout.text, stderr: stderr.text };
  }
  it("runs each statement in turn (the last one's ';' optional), as jsonl by default", async () => {
    const r = await script("SELECT 1 AS a;\n-- next\nSELECT 'x'\n  AS b; .format csv\nSELECT 3 AS c");
    // ".format csv" after a statement on its line is not a dot command: part of the next statement.
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^clarifai-audit: error: query: stdin line 5: Parser Error/);
    const ok = await script("SELECT 1 AS a;\n-- next\nSELECT 'x'\n  AS b;\n.format csv\nSELECT 3 AS c\n");
    expect(ok).toEqual({ code: 0, stdout: '{"a":1}\n{"b":"x"}\nc\n3\n', stderr: "" });
  });
  it("stops at the first refused statement, naming its line, with nothing written", async () => {
    const before = snapshot(lake);
    const r = await script(`SELECT 1 AS a;\nCOPY (SELECT 1) TO '${join(lake, "z.csv")}';\nSELECT 2 AS b;\n`);
    expect(r).toEqual({
      code: 2,
      stdout: '{"a":1}\n',
      stderr: expect.stringMatching(
        /^clarifai-audit: error: query: stdin line 2: only read-only statements [^\n]*this one is COPY\n$/,
      ),
    });
    expect(snapshot(lake)).toBe(before);
  });
  it("an empty stdin is a usage error; no --lake is the usual one", async () => {
    expect(await script("")).toEqual({
      code: 2,
      stdout: "",
      stderr: expect.stringMatching(
        /^clarifai-audit: error: query: no SQL statement: give one as an argument[^\n]*\n$/,
      ),
    });
    const r = await runMain(["query"]);
    expect([r.code, r.stderr]).toEqual([
      2,
      "clarifai-audit: error: required option '--lake <dir>' not specified\n",
    ]);
  });
});

describe("where statements end", () => {
  it.each<[string, string[], string, boolean]>([
    ["SELECT 1", [], "SELECT 1", true],
    ["SELECT 1;", ["SELECT 1"], "", false],
    ["SELECT ';' AS a; SELECT 2", ["SELECT ';' AS a"], "SELECT 2", true],
    ['SELECT 1 AS "a;b"; ', ['SELECT 1 AS "a;b"'], "", false],
    ["SELECT 'it''s;'", [], "SELECT 'it''s;'", true],
    ["SELECT E'\\';' ;", ["SELECT E'\\';'"], "", false],
    ["SELECT $$;$$, $t$ $$; $t$;", ["SELECT $$;$$, $t$ $$; $t$"], "", false],
    ["/* ; /* ; */ ; */ SELECT 1;", ["SELECT 1"], "", false],
    ["-- only a comment;", [], "-- only a comment;", false],
    ["SELECT 1 -- ;\n;", ["SELECT 1 -- ;"], "", false],
    ["SELECT 'open;", [], "SELECT 'open;", true],
    ["/* open ;", [], "/* open ;", true],
    [";;", [], "", false],
  ])("%j", (text, complete, rest, pending) => {
    expect(splitStatements(text)).toEqual({ complete, rest, pending });
  });
  it.each<[string[], string[]]>([
    [["SELECT 1", "  FROM t;"], ["SELECT 1 FROM t;"]],
    [["SELECT 1 /* a", "b */;"], ["SELECT 1 /* a b */;"]],
    [
      ["SELECT 1 -- c", ";"],
      ["SELECT 1 -- c", ";"],
    ],
    [
      ["SELECT 'a", "b';"],
      ["SELECT 'a", "b';"],
    ],
    [["", "SELECT 1;"], ["SELECT 1;"]],
  ])("history of %j", (lines, entries) => {
    expect(historyEntries(lines)).toEqual(entries);
  });
});
