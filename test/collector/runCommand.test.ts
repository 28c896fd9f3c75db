/**
 * `clarifai-audit run --config FILE` as users run it, in this process (packages/cli/src/cli/cli.ts's
 * `main`): a bad config file, a destination another process holds, a busy `listen` address and
 * `--once` with coordination are each refused in one line, exit 2, before the emulator served a
 * single request; `--once` stores each account in each destination and says so in its summary,
 * `--json` figures, `-q`, `--log-format json` and `-v`. What only a process shows (signals,
 * /metrics of a running service, secrets in a child's output) is in ./runProcess.test.ts.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import type pg from "pg";
import { runMain, tempDir } from "../cli/helpers.js";
import { freePort, type PostgresServer, startPostgres } from "../helpers/postgres.js";
import {
  type AccountsEmulator,
  type BinProcess,
  type CollectorSpec,
  checkLake,
  checkPostgres,
  problems,
  spawnBin,
  startAccounts,
  writeCollectorConfig,
} from "./harness.js";

let tmp: ReturnType<typeof tempDir>;
let accounts: AccountsEmulator;
let server: PostgresServer;
let url: string;
let db: pg.Client;
let n = 0;

beforeAll(async () => {
  tmp = tempDir();
  [accounts, server] = await Promise.all([
    startAccounts([
      { id: "prod", count: 120, growth: false },
      { id: "staging", count: 80, growth: false },
    ]),
    startPostgres(),
  ]);
  url = await server.createDatabase("runcli");
  db = await server.client("runcli");
}, 120_000);

afterAll(async () => {
  await db?.end();
  await Promise.all([accounts?.close(), server?.stop()]);
  tmp?.cleanup();
});

/** A new folder with a config file (mode 0600) from `spec`, and its path. */
function config(spec: CollectorSpec): { dir: string; file: string } {
  const dir = join(tmp.dir, `c${++n}`);
  const file = writeCollectorConfig(dir, accounts, spec);
  chmodSync(file, 0o600);
  return { dir, file };
}

/** `run` in this process with the accounts' PATs. */
function run(args: string[], extra: Record<string, string> = {}) {
  return runMain(["run", ...args], { ...accounts.env(extra), HOME: tmp.dir });
}

/** A refusal: exit 2, one line on stderr, nothing on stdout, and no request served meanwhile. */
async function refused(args: string[], extra: Record<string, string> = {}): Promise<string> {
  const calls = accounts.emu.calls;
  const r = await run(args, extra);
  expect({ code: r.code, stdout: r.stdout, lines: r.stderr.split("\n").length }).toEqual({
    code: 2,
    stdout: "",
    lines: 2,
  });
  expect(accounts.emu.calls).toBe(calls);
  return r.stderr.replace(/^clarifai-audit: error: /, "").trimEnd();
}

describe("run refuses before any request, in one line, exit 2", () => {
  test("a config file the config check refuses: unknown key, duplicate ids, an unused account, unreadable PAT", async () => {
    const base: CollectorSpec = { destinations: [{ id: "lake", lake: "lake" }], listen: false };
    const unknown = config({ ...base, settings: { intervall: "30s" } });
    expect(await refused(["--config", unknown.file])).toMatch(
      new RegExp(`^config file ${unknown.file}:\\d+: intervall: unknown key \\(allowed: `),
    );
    const dupDest = config({
      ...base,
      destinations: [
        { id: "lake", lake: "lake" },
        { id: "lake", lake: "other" },
      ],
    });
    expect(await refused(["--config", dupDest.file])).toMatch(
      new RegExp(
        `^config file ${dupDest.file}:\\d+: destinations\\[1\\]\\.id: "lake" is already the id of destinations\\[0\\]`,
      ),
    );
    const dupAccount = config({ ...base, accounts: ["prod", "prod"] });
    expect(await refused(["--config", dupAccount.file])).toMatch(
      new RegExp(
        `^config file ${dupAccount.file}:\\d+: accounts\\[1\\]\\.id: "prod" is already the id of accounts\\[0\\]`,
      ),
    );
    const unused = config({ ...base, destinations: [{ id: "lake", lake: "lake", accounts: ["prod"] }] });
    expect(await refused(["--config", unused.file])).toMatch(
      new RegExp(`^config file ${unused.file}:\\d+: accounts\\[1\\].*staging.*no destination`),
    );
    const noPat = config(base);
    expect(await refused(["--config", noPat.file], { CLARIFAI_PAT_STAGING: "" })).toMatch(
      new RegExp(
        `^config file ${noPat.file}:\\d+: accounts\\[1\\]\\.pat_env: the variable CLARIFAI_PAT_STAGING is not set`,
      ),
    );
    const patFile = config({ ...base, accounts: ["prod", { id: "staging", pat_file: "absent.pat" }] });
    // pat_file next to pat_env is two PAT sources: the harness writes pat_env, so drop it.
    writeFileSync(
      patFile.file,
      readFileSync(patFile.file, "utf8").replace(/ {4}pat_env: CLARIFAI_PAT_STAGING\n/, ""),
    );
    expect(await refused(["--config", patFile.file])).toMatch(
      new RegExp(
        `^config file ${patFile.file}:\\d+: accounts\\[1\\]\\.pat_file ${patFile.dir}/absent.pat does not exist`,
      ),
    );
  });

  test("usage: no --config, a --log-format not offered", async () => {
    expect(await refused([])).toBe("required option '--config <file>' not specified");
    const c = config({ destinations: [{ id: "lake", lake: "lake" }], listen: false });
    expect(await refused(["--config", c.file, "--log-format", "xml"])).toBe(
      "option '--log-format <format>' argument 'xml' is invalid. Allowed choices are text, json.",
    );
  });

  test("--once with coordination", async () => {
    const c = config({
      destinations: [{ id: "lake", lake: "lake" }],
      listen: false,
      coordination: { url },
    });
    expect(await refused(["--config", c.file, "--once"])).toMatch(
      /^--once: not with `?coordination`? in the config file/,
    );
  });

  test("a listen address in use", async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", r));
    const port = (busy.address() as { port: number }).port;
    try {
      const c = config({ destinations: [{ id: "lake", lake: "lake" }], listen: `127.0.0.1:${port}` });
      expect(await refused(["--config", c.file, "--once"])).toMatch(
        new RegExp(`127\\.0\\.0\\.1:${port}.*in use`),
      );
    } finally {
      busy.close();
    }
  });

  test("a lake account folder a running `sync --follow` holds: the file, destination and holder named", async () => {
    const c = config({ destinations: [{ id: "lake", lake: "lake" }], listen: false });
    const held = join(c.dir, "lake", "account=staging");
    const staging = accounts.account("staging");
    const sync: BinProcess = spawnBin(
      // A round, then a wait of an hour: no request of its own while `run` is refused.
      ["sync", "--lake", held, "--follow", "--interval", "1h", "--endpoint", accounts.endpoint, "--insecure"],
      accounts.env({ CLARIFAI_PAT: staging.pat, CLARIFAI_USER_ID: staging.userId }),
    );
    try {
      await sync.waitForLine(/^(?!syncing window).*entries/);
      const line = await refused(["--config", c.file, "--once"]);
      // The file, the destination, what holds it; no option of `sync` (--dest) that `run` has not.
      expect(line).toMatch(
        new RegExp(
          `^config file ${c.file}:\\d+: destinations\\[0\\] \\(lake\\): another sync is running on ${held} \\(.*pid ${sync.pid}\\b`,
        ),
      );
      expect(line).not.toMatch(/--dest|`store`/);
    } finally {
      sync.signal("SIGTERM");
      await sync.exit;
    }
  });

  test("a PostgreSQL table's account another collector holds", async () => {
    const first = config({
      destinations: [{ id: "db", postgres: url, table: "held" }],
      listen: false,
      settings: { interval: "1h" },
    });
    const second = config({ destinations: [{ id: "db", postgres: url, table: "held" }], listen: false });
    const p = spawnBin(["run", "--config", first.file], accounts.env());
    try {
      // Its first rounds done, it waits an hour: no request of its own while `run` is refused.
      await p.waitForLine(/account prod: stored/);
      await p.waitForLine(/account staging: stored/);
      const line = await refused(["--config", second.file, "--once"]);
      expect(line).toMatch(
        new RegExp(
          `^config file ${second.file}:\\d+: destinations\\[0\\] \\(db\\): another sync of user-prod's log .*\\(account prod\\) into postgres://${server.user}@.*\\(table held\\) is running \\(PostgreSQL backend pid \\d+`,
        ),
      );
      expect(line).not.toContain(server.password);
    } finally {
      p.signal("SIGTERM");
      expect((await p.exit).code).toBe(0);
    }
  });
});

describe("run --once", () => {
  test("stores each account in each destination once, exit 0, --json figures", async () => {
    const c = config({
      destinations: [
        { id: "lake", lake: "lake" },
        { id: "db", postgres: url, table: "once" },
      ],
      listen: false,
    });
    const calls = accounts.emu.calls;
    const r = await run(["--config", c.file, "--once", "--json"]);
    expect(r.code).toBe(0);
    expect(problems(await checkLake(join(c.dir, "lake"), accounts.expected()))).toEqual([]);
    expect(problems(await checkPostgres(db, accounts.expected(), "once"))).toEqual([]);
    const lines = r.stderr.trimEnd().split("\n");
    const json = JSON.parse(lines.at(-1) as string);
    const total = accounts.keys("prod").length + accounts.keys("staging").length;
    expect(json).toEqual({
      command: "run",
      exitCode: 0,
      accounts: 2,
      destinations: 2,
      rounds: 2,
      inserted: 2 * total,
      requests: accounts.emu.calls - calls,
    });
    expect(lines.at(-2)).toBe(
      `run: 2 round(s) over 2 account(s): ${2 * total} entries stored across 2 destination(s), ${json.requests} requests`,
    );
    expect(r.stdout).toBe("");
  });

  test("a destination left failing, or an account the API refuses: the others stored, the summary, then one line and exit 1", async () => {
    const down = `postgres://nobody@127.0.0.1:${await freePort()}/none`;
    const c = config({
      destinations: [
        { id: "lake", lake: "lake" },
        { id: "db", postgres: down, accounts: ["prod"] },
      ],
      listen: false,
    });
    const r = await run(["--config", c.file, "--once", "--json"]);
    expect(problems(await checkLake(join(c.dir, "lake"), accounts.expected()))).toEqual([]);
    const lines = r.stderr.trimEnd().split("\n");
    expect(r.code).toBe(1);
    expect(lines.at(-3)).toMatch(/^run: 2 round\(s\) over 2 account\(s\)/);
    expect(lines.at(-2)).toMatch(
      /^clarifai-audit: error: run --once: 1 failure\(s\), each retried by the next run: account prod, destination db: cannot reach PostgreSQL at 127\.0\.0\.1:\d+/,
    );
    expect(JSON.parse(lines.at(-1) as string)).toMatchObject({
      exitCode: 1,
      error: expect.stringMatching(/destination db/),
    });

    const refused = await run(["--config", c.file, "--once"], { CLARIFAI_PAT_STAGING: "not-a-known-pat" });
    expect(refused.code).toBe(1);
    expect(refused.stderr.trimEnd().split("\n").at(-1)).toMatch(
      /^clarifai-audit: error: run --once: 2 failure\(s\), .*account prod, destination db: .*; account staging, destination lake: .*(PAT|API key)/,
    );
    expect(refused.stderr).not.toContain("not-a-known-pat");
  });

  test("-q: no info line, only the --json object", async () => {
    const c = config({ destinations: [{ id: "lake", lake: "lake" }], listen: false });
    const r = await run(["--config", c.file, "--once", "-q", "--json"]);
    expect(r.code).toBe(0);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ command: "run", exitCode: 0, rounds: 2 });
  });

  test("--log-format json: every line an object with time, level and msg; -v adds request lines with the account", async () => {
    const c = config({ destinations: [{ id: "lake", lake: "lake" }], listen: false });
    const r = await run(["--config", c.file, "--once", "--log-format", "json", "-v"]);
    expect(r.code).toBe(0);
    const lines = r.stderr.trimEnd().split("\n");
    // The summary line is the runner's, the same in both formats; every line before it is the log's.
    const summary = lines.pop() as string;
    expect(summary).toMatch(/^run: 2 round\(s\) over 2 account\(s\)/);
    const objects = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const o of objects) {
      expect(typeof o.time).toBe("string");
      expect(Number.isNaN(Date.parse(o.time as string))).toBe(false);
      expect(["info", "warn", "error"]).toContain(o.level);
      expect(typeof o.msg).toBe("string");
    }
    const requests = objects.filter(
      (o) => /request|search|page/i.test(o.msg as string) && o.account !== undefined,
    );
    expect(new Set(requests.map((o) => o.account))).toEqual(new Set(["prod", "staging"]));
    expect(objects.some((o) => /collector started/.test(o.msg as string))).toBe(true);
  });

  test("text log lines without -v name no request", async () => {
    const c = config({ destinations: [{ id: "lake", lake: "lake" }], listen: false });
    const quiet = await run(["--config", c.file, "--once"]);
    const c2 = config({ destinations: [{ id: "lake", lake: "lake" }], listen: false });
    const verbose = await run(["--config", c2.file, "--once", "-v"]);
    expect(quiet.code).toBe(0);
    expect(verbose.code).toBe(0);
    expect(verbose.stderr.split("\n").length).toBeGreaterThan(quiet.stderr.split("\n").length);
    expect(quiet.stderr).toMatch(/collector started: 2 account\(s\), 1 destination\(s\)/);
  });
});
