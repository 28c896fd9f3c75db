/**
 * The command runner (packages/cli/src/cli/runner.ts) through `main(argv, env, io)` in-process: a second signal
 * ends tail, watch and search with 130 at once while the first one's clean stop is stuck (here on a
 * stdout that never drains); `--json` puts one summary object on stderr's last line; query and rules
 * refuse connection flags with one line; nothing a run installs on the process outlives it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { main } from "../../packages/cli/src/cli/cli.js";
import { buildProgram } from "../../packages/cli/src/cli/program.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { cliEnv, connection, PAT, runMain, tempDir, USER } from "./helpers.js";
import { until } from "./watchHelpers.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let conn: string[];
let everyEntry: string;

beforeAll(async () => {
  tmp = tempDir();
  emu = await startEmulator({ pats: { [PAT]: USER }, entries: generateEntries(300, 11), restPort: false });
  conn = connection(emu.grpcAddress);
  everyEntry = join(tmp.dir, "every.yaml");
  writeFileSync(everyEntry, "rules:\n  - id: every\n    severity: low\n");
});
afterAll(async () => {
  await emu.close();
  tmp.cleanup();
});

/** A stdout whose reader never reads: its first write never completes, until `release`. */
function stuckStdout(): { stream: Writable; written: () => boolean; release: () => void } {
  let pending: (() => void) | undefined;
  let wrote = false;
  const stream = new Writable({
    highWaterMark: 1,
    write(_chunk, _encoding, done) {
      wrote = true;
      pending = done;
    },
  });
  return {
    stream,
    written: () => wrote,
    release: () => {
      // From now on every write completes at once.
      stream._write = (_chunk, _encoding, done) => done();
      pending?.();
    },
  };
}

/** What the process has installed: listeners a run adds must be gone when it ends. */
function processListeners(): number[] {
  return (["SIGINT", "SIGTERM", "uncaughtException", "unhandledRejection"] as const).map((event) =>
    process.listenerCount(event),
  );
}

describe("a second signal ends the run with 130 at once", () => {
  it.each([
    ["tail", () => ["tail", ...conn, "--from", "2000-01-01T00:00:00Z", "--follow", "--interval", "1s"]],
    ["watch", () => ["watch", ...conn, "--rules", everyEntry, "--from", "2000-01-01T00:00:00Z", "--quiet"]],
    ["search", () => ["search", ...conn, "--all", "--per-page", "10"]],
  ])(
    "%s, whose clean stop waits on a stdout that never drains",
    async (_name, args) => {
      const before = processListeners();
      const stdout = stuckStdout();
      const stderr = new PassThrough();
      let err = "";
      stderr.setEncoding("utf8").on("data", (d: string) => {
        err += d;
      });
      const deadLetter = join(tmp.dir, `${_name}.dead.jsonl`);
      const run = main([...args(), ...(_name === "watch" ? ["--dead-letter", deadLetter] : [])], cliEnv(), {
        stdin: new PassThrough(),
        stdout: stdout.stream,
        stderr,
      });
      let code: number | undefined;
      void run.then((c) => {
        code = c;
      });
      await until(stdout.written, 20_000, "the first write to stdout");
      process.emit("SIGINT");
      // The first signal only asks: the command is still waiting for its stdout.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(code).toBeUndefined();
      process.emit("SIGINT");
      expect(await run).toBe(130);
      expect(err).not.toMatch(/still stopping/);
      expect(processListeners()).toEqual(before);
      // Lets the abandoned command finish (it was aborted), so it closes its client.
      stdout.release();
    },
    60_000,
  );
});

describe("--json: one summary object on stderr's last line", () => {
  function lastJson(stderr: string): Record<string, unknown> {
    const lines = stderr.trimEnd().split("\n");
    return JSON.parse(lines[lines.length - 1] as string) as Record<string, unknown>;
  }

  it("search --all: its figures after its summary line", async () => {
    const r = await runMain(["search", ...conn, "--all", "--per-page", "100", "--json"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(300);
    expect(r.stderr).toMatch(/^search: 300 entries; requests \d+/);
    expect(lastJson(r.stderr)).toEqual({
      command: "search",
      exitCode: 0,
      entries: 300,
      requests: expect.any(Number),
      served: expect.any(Number),
      throttled: 0,
    });
  });

  it("export: the summary line's figures", async () => {
    const out = join(tmp.dir, "json.jsonl");
    const r = await runMain(["export", ...conn, "--out", out, "--settle", "0s", "--quiet", "--json"]);
    expect(r.code).toBe(0);
    expect(lastJson(r.stderr)).toMatchObject({
      command: "export",
      exitCode: 0,
      out,
      entries: 300,
      resumed: false,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it("a failure: its exit code and its one line's message", async () => {
    const r = await runMain(["export", ...conn, "--out", "", "--json"]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe("clarifai-audit: error: --out: the file name is empty; name the output file");
    expect(lastJson(r.stderr)).toEqual({
      command: "export",
      exitCode: 2,
      error: "--out: the file name is empty; name the output file",
    });
  });

  it("rules check: files and rules", async () => {
    const r = await runMain(["rules", "check", everyEntry, "--json"]);
    expect(r.code).toBe(0);
    expect(lastJson(r.stderr)).toEqual({ command: "rules check", exitCode: 0, files: 1, rules: 1 });
  });
});

describe("commands that make no request refuse connection flags with one line", () => {
  it.each([
    [
      ["query", "--lake", "lake", "SELECT 1", "--endpoint", "127.0.0.1:1"],
      "--endpoint",
      /query reads a local lake/,
    ],
    [
      ["rules", "check", "builtin", "--rate-limit", "5"],
      "--rate-limit",
      /rules check reads rules files only/,
    ],
    [
      ["rules", "test", "--rules", "builtin", "--input", "x.jsonl", "--insecure"],
      "--insecure",
      /rules test replays an export file/,
    ],
  ])("%j", async (args, flag, why) => {
    const r = await runMain(args as string[]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(
      new RegExp(`^clarifai-audit: error: ${flag}: [^\\n]+ connection flags do not apply\\n$`),
    );
    expect(r.stderr).toMatch(why);
  });
  it("and their help does not list them", async () => {
    for (const sub of [["query"], ["rules", "check"], ["rules", "test"]]) {
      const r = await runMain([...sub, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).not.toMatch(/--endpoint|--insecure|--rate-limit|CLARIFAI_PAT/);
    }
  });
});

it("in-process runs leave nothing behind: the stderr hook, listeners, the environment", async () => {
  const before = processListeners();
  const stderr = new PassThrough();
  const ownWrite = Object.hasOwn(stderr, "write");
  const code = await main(
    ["search", "--per-page", "0"],
    {},
    { stdin: new PassThrough(), stdout: new PassThrough(), stderr },
  );
  expect(code).toBe(2);
  expect(Object.hasOwn(stderr, "write")).toBe(ownWrite);
  expect(processListeners()).toEqual(before);
  // The environment is the run's: this one has no PAT, though the process has a valid one.
  const saved = process.env.CLARIFAI_PAT;
  process.env.CLARIFAI_PAT = PAT;
  try {
    const noPat = await runMain(["search", ...conn], { CLARIFAI_USER_ID: USER });
    expect(noPat.code).toBe(2);
    expect(noPat.stderr).toMatch(/set CLARIFAI_PAT/);
  } finally {
    if (saved === undefined) delete process.env.CLARIFAI_PAT;
    else process.env.CLARIFAI_PAT = saved;
  }
});

it("a reader of stdout that went away (EPIPE) ends the run with 0 and nothing on stderr", async () => {
  const stdout = new Writable({
    write(_chunk, _encoding, done) {
      done(Object.assign(new Error("write EPIPE"), { code: "EPIPE" }));
    },
  });
  const stderr = new PassThrough();
  let err = "";
  stderr.setEncoding("utf8").on("data", (d: string) => {
    err += d;
  });
  const code = await main(["search", ...conn, "--all", "--per-page", "10"], cliEnv(), {
    stdin: new PassThrough(),
    stdout,
    stderr,
  });
  expect({ code, err }).toEqual({ code: 0, err: "" });
});

it("buildProgram() declares every command without running one (what the docs are generated from)", () => {
  const { program, runs } = buildProgram();
  expect(program.commands.map((c) => c.name())).toEqual([
    "search",
    "export",
    "tail",
    "sync",
    "watch",
    "run",
    "rules",
    "report",
    "verify",
    "keys",
    "emulator",
    "query",
    "config",
    "completion",
  ]);
  expect(program.commands.find((c) => c.name() === "rules")?.commands.map((c) => c.name())).toEqual([
    "check",
    "test",
  ]);
  expect(runs.exitCode).toBe(0);
});
