/**
 * The collector harness proven on what exists today: `sync --follow` into a lake (`account=<id>/`)
 * and into PostgreSQL, one account each, two processes SIGKILLed at random while both logs grow with
 * late entries, then a final run: the checkers say exactly once. `watch --once` into the alert
 * receiver: every alert the offline evaluation expects, once. And each checker FAILS on a destination
 * with one entry (alert) removed and one duplicated: a checker that cannot fail checks nothing.
 */
import { cpSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { afterAll, beforeAll, expect, test } from "@jest/globals";
import type pg from "pg";
import { parse } from "yaml";
import { loadRules } from "../../packages/cli/src/watch/rules.js";
import { seededRandom, tempDir } from "../cli/helpers.js";
import { type PostgresServer, startPostgres } from "../helpers/postgres.js";
import {
  type AccountsEmulator,
  type AlertReceiver,
  assertExactlyOnce,
  type BinProcess,
  checkAlerts,
  checkLake,
  checkPostgres,
  crashChain,
  type Discrepancy,
  expectedAlertKeys,
  killLoop,
  problems,
  spawnBin,
  startAccounts,
  startAlertReceiver,
  untilExactlyOnce,
  writeCollectorConfig,
} from "./harness.js";

let tmp: ReturnType<typeof tempDir>;
let server: PostgresServer;
let accounts: AccountsEmulator;
let receiver: AlertReceiver;
let db: pg.Client;
let url: string;
let lake: string;

beforeAll(async () => {
  tmp = tempDir();
  lake = join(tmp.dir, "lake");
  [server, accounts, receiver] = await Promise.all([
    startPostgres(),
    startAccounts([
      { id: "lake-acct", count: 150, growth: { count: 3, everyMs: 100, lateFraction: 0.3 } },
      { id: "pg-acct", count: 150, growth: { count: 3, everyMs: 100, lateFraction: 0.3 } },
    ]),
    startAlertReceiver(),
  ]);
  url = await server.createDatabase("harness");
  db = await server.client("harness");
}, 120_000);

afterAll(async () => {
  await db?.end();
  await Promise.all([accounts?.close(), server?.stop(), receiver?.close()]);
  tmp?.cleanup();
});

/** `sync` of one account of the emulator into `dest`, its PAT in the environment only. */
function sync(id: string, dest: string, extra: string[]) {
  const a = accounts.account(id);
  return spawnBin(
    [
      "sync",
      "--endpoint",
      accounts.endpoint,
      "--insecure",
      "--user-id",
      a.userId,
      "--dest",
      dest,
      ...["--settle", "0s", "--reconcile", "3650d", "--per-page", "40", "--commit-interval", "0"],
      ...extra,
    ],
    accounts.env({ CLARIFAI_PAT: a.pat }),
  );
}

test("the kill loop against sync --follow (lake and PostgreSQL side by side), then a final run: exactly once", async () => {
  const sizes = accounts.accounts.map((a) => accounts.emu.size(a.userId));
  const follow = ["--follow", "--interval", "50ms"];
  // Odd rounds are killed after a run's summary (in a later run's walk, commit or wait), even ones
  // from their start (start-up, the first walk and commits).
  const armed = (p: BinProcess, round: number) =>
    // A generous wait: on a loaded machine a run's first summary may take long, and an armed round
    // killed before it committed would leave the check below (the killed runs committed) to chance.
    round % 2 === 1 ? p.waitForLine(/^synced \d+ new entries/, 120_000) : undefined;
  const loops = await Promise.all([
    killLoop({
      rounds: 4,
      random: seededRandom(23),
      minMs: 200,
      maxMs: 900,
      armed,
      start: () => sync("lake-acct", join(lake, "account=lake-acct"), follow),
    }),
    killLoop({
      rounds: 4,
      random: seededRandom(24),
      minMs: 200,
      maxMs: 900,
      armed,
      start: () => sync("pg-acct", url, follow),
    }),
  ]);
  // --follow never ends by itself: every run was killed.
  expect(loops.map((l) => [l.killed, l.ended])).toEqual([
    [4, []],
    [4, []],
  ]);
  accounts.stopGrowth();
  // The killed runs committed (the final run is not doing all the work): both destinations hold entries.
  const before = [
    (await checkLake(lake, accounts.expected(["lake-acct"])))[0]?.held,
    (await checkPostgres(db, accounts.expected(["pg-acct"])))[0]?.held,
  ];
  expect(before.map((n) => (n ?? 0) > 0)).toEqual([true, true]);
  // Both logs grew while the runs were killed (late entries among them: the emulator's growth).
  expect(accounts.accounts.map((a, i) => accounts.emu.size(a.userId) > (sizes[i] as number))).toEqual([
    true,
    true,
  ]);
  const finals = await Promise.all([
    sync("lake-acct", join(lake, "account=lake-acct"), ["-q"]).exit,
    sync("pg-acct", url, ["-q"]).exit,
  ]);
  expect(finals.map((r) => ({ code: r.code, stderr: r.stderr }))).toEqual([
    { code: 0, stderr: "" },
    { code: 0, stderr: "" },
  ]);
  const lakeResult = await checkLake(lake, accounts.expected(["lake-acct"]));
  const pgResult = await checkPostgres(db, accounts.expected(["pg-acct"]));
  expect(problems([...lakeResult, ...pgResult])).toEqual([]);
  expect(() => assertExactlyOnce([...lakeResult, ...pgResult])).not.toThrow();
  expect(lakeResult.map((d) => d.held)).toEqual([accounts.keys("lake-acct").length]);
}, 60_000);

/** One missing key and one duplicated one, and nothing else. */
function expectOneMissingOneDuplicated(ds: Discrepancy[]): void {
  expect(ds.map((d) => [d.missing.length, d.duplicated.length, d.unexpected.length])).toEqual([[1, 1, 0]]);
  expect(() => assertExactlyOnce(ds)).toThrow(/not exactly once:\n.* missing 1 .* duplicated 1 /);
}

test("the lake checker fails on a lake with one entry removed and one duplicated", async () => {
  const tampered = join(tmp.dir, "tampered-lake");
  cpSync(join(lake, "account=lake-acct"), join(tampered, "account=lake-acct"), { recursive: true });
  const dir = join(tampered, "account=lake-acct");
  const stateFile = join(dir, "_clarifai_sync.json");
  const state = JSON.parse(readFileSync(stateFile, "utf8")) as {
    files: { path: string; rows: number; bytes: number }[];
  };
  const file = state.files.find((f) => f.rows >= 2) as { path: string; rows: number; bytes: number };
  // The file rewritten with its first row dropped and its second twice: same row count, as a torn
  // dedupe would leave it; the state file then lists its new size so the reader accepts it.
  const path = join(dir, file.path);
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  const rows = `(SELECT *, row_number() OVER () AS rn FROM read_parquet('${path}', hive_partitioning = false))`;
  await conn.run(
    `COPY (SELECT * EXCLUDE (rn) FROM ${rows} WHERE rn <> 1 UNION ALL SELECT * EXCLUDE (rn) FROM ${rows} WHERE rn = 2) TO '${path}.new' (FORMAT parquet)`,
  );
  conn.closeSync();
  instance.closeSync();
  renameSync(`${path}.new`, path);
  file.bytes = statSync(path).size;
  writeFileSync(stateFile, JSON.stringify(state));
  expectOneMissingOneDuplicated(await checkLake(tampered, accounts.expected(["lake-acct"])));
});

test("the PostgreSQL checker fails on a table with one entry removed and one duplicated, by account when it has the column", async () => {
  await db.query("CREATE TABLE tampered AS SELECT * FROM audit_log");
  await db.query("DELETE FROM tampered WHERE entry_key = (SELECT min(entry_key) FROM tampered)");
  await db.query(
    "INSERT INTO tampered SELECT * FROM tampered WHERE entry_key = (SELECT max(entry_key) FROM tampered)",
  );
  expectOneMissingOneDuplicated(await checkPostgres(db, accounts.expected(["pg-acct"]), "tampered"));

  // With an `account` column: rows are checked per account; one row filed under the other account
  // is missing from its own and unexpected in the other.
  // (sync's rows are the plain table's, account ''.)
  await db.query("CREATE TABLE with_account AS SELECT * FROM audit_log");
  await db.query("UPDATE with_account SET account = 'pg-acct'");
  await db.query(
    "UPDATE with_account SET account = 'lake-acct' WHERE entry_key = (SELECT min(entry_key) FROM with_account)",
  );
  const ds = await checkPostgres(db, accounts.expected(["pg-acct"]), "with_account");
  expect(ds.map((d) => [d.account, d.missing.length, d.duplicated.length, d.unexpected.length])).toEqual([
    ["pg-acct", 1, 0, 0],
    ["lake-acct", 0, 0, 1],
  ]);
});

test("the alert checker: watch --once delivers exactly the offline evaluation's alerts; it fails on one missing and one duplicated", async () => {
  const a = accounts.account("lake-acct");
  const rules = await loadRules(["builtin"]);
  const expected = new Map([["lake-acct", expectedAlertKeys(rules, accounts.lines("lake-acct"))]]);
  expect((expected.get("lake-acct") ?? []).length).toBeGreaterThan(2);
  const watch = await spawnBin(
    [
      "watch",
      "--once",
      ...["--endpoint", accounts.endpoint, "--insecure", "--user-id", a.userId],
      ...["--from", "2020-01-01", "--rules", "builtin", "--checkpoint", join(tmp.dir, "watch.json")],
      ...["--alert-webhook", receiver.url("watch"), "--format", "text"],
    ],
    accounts.env({ CLARIFAI_PAT: a.pat }),
  ).exit;
  expect(watch.code).toBe(0);
  assertExactlyOnce(checkAlerts(receiver, "watch", expected));

  // The same alerts posted by hand to another destination: the first left out, the second twice.
  const keys = expected.get("lake-acct") as string[];
  for (const key of [...keys.slice(1), keys[1] as string]) {
    const r = await fetch(receiver.url("tampered"), {
      method: "POST",
      headers: { "content-type": "application/json", "x-clarifai-audit-alert-key": key },
      body: JSON.stringify({ key }),
    });
    expect(r.status).toBe(200);
  }
  expectOneMissingOneDuplicated(checkAlerts(receiver, "tampered", expected));
}, 30_000);

test("the config written names each account's PAT variable, never a PAT; the bin gets the PATs in its environment", async () => {
  const path = writeCollectorConfig(join(tmp.dir, "cfg"), accounts, {
    accounts: ["lake-acct", { id: "pg-acct", from: "2020-01-01" }],
    destinations: [
      { id: "lake", lake: "./lake" },
      { id: "db", postgres: url, accounts: ["pg-acct"] },
      { id: "alerts", alerts: { rules: ["builtin"], webhooks: [receiver.url("alerts")], attempts: 3 } },
    ],
    settings: { interval: "1s" },
  });
  const text = readFileSync(path, "utf8");
  for (const a of accounts.accounts) expect(text).not.toContain(a.pat);
  const account = (id: string) => ({
    id,
    user_id: `user-${id}`,
    pat_env: accounts.account(id).patEnv,
    endpoint: accounts.endpoint,
    insecure: true,
  });
  expect(parse(text)).toEqual({
    accounts: [account("lake-acct"), { ...account("pg-acct"), from: "2020-01-01" }],
    destinations: [
      { id: "lake", to: "./lake" },
      { id: "db", to: url, accounts: ["pg-acct"] },
      { id: "alerts", rules: ["builtin"], alert_webhook: [receiver.url("alerts")], alert_attempts: 3 },
    ],
    listen: "127.0.0.1:0",
    state_dir: "state",
    interval: "1s",
    settle: "0s",
    reconcile: "3650d",
  });
  expect(accounts.env()).toEqual({
    PATH: process.env.PATH,
    CLARIFAI_PAT_LAKE_ACCT: accounts.account("lake-acct").pat,
    CLARIFAI_PAT_PG_ACCT: accounts.account("pg-acct").pat,
  });
});

test("waitForLine resolves on a line already seen, and rejects, with the stderr, when the process ends first", async () => {
  const p = spawnBin(["sync"], accounts.env());
  await expect(p.waitForLine(/never printed/)).rejects.toThrow(
    /exited before a stderr line matched .*\n.*--dest/s,
  );
  await expect(p.waitForLine(/^clarifai-audit: error: /)).resolves.toMatch(/--dest/);
  expect((await p.exit).code).toBe(2);
});

test("crashChain: sync killed at crash points of a lake commit and a run's end, then a final run; untilExactlyOnce sees the lake complete", async () => {
  const dir = join(tmp.dir, "crash-lake");
  const dest = join(dir, "account=lake-acct");
  const steps = ["lake.state-written:2", "lake.renamed:1", "sync.window-walked"];
  const outcomes = await crashChain(steps, (crashAt) => {
    const a = accounts.account("lake-acct");
    return spawnBin(
      [
        ...["sync", "--endpoint", accounts.endpoint, "--insecure", "--user-id", a.userId, "--dest", dest],
        ...["--settle", "0s", "--reconcile", "3650d", "--per-page", "100", "--commit-interval", "0", "-q"],
      ],
      accounts.env({ CLARIFAI_PAT: a.pat }),
      crashAt === undefined ? {} : { crashAt },
    );
  });
  expect(outcomes.map((o) => [o.crashAt, o.code, o.signal])).toEqual([
    ...steps.map((s) => [s, null, "SIGKILL"]),
    ["", 0, null],
  ]);
  await untilExactlyOnce(() => checkLake(dir, accounts.expected(["lake-acct"])), 5_000);
  // And it times out, naming what differs, on a destination that never gets there.
  await expect(untilExactlyOnce(() => checkLake(dir, accounts.expected(["pg-acct"])), 300)).rejects.toThrow(
    /not exactly once after 300 ms:\nlake account=pg-acct: expected \d+, holds 0; missing/,
  );
});
