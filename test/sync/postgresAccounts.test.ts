/**
 * The PostgreSQL store with many accounts in one table (the collector) and fencing for failover,
 * against a real PostgreSQL 17 (one server for this file) and the emulator: each account holds its
 * own copy of every entry (equal entry keys kept per account) and its own state row and lock; a
 * fenced store claims the account's row at open, so an older owner's next commit is refused and
 * writes nothing; an owner frozen inside a commit's transaction loses its session within the idle
 * timeout, so the new owner is not blocked; a table of schema version 2 migrates in place.
 */
import type pg from "pg";
import { MIGRATIONS, names } from "../../packages/cli/src/sync/postgres/schema.js";
import {
  createPostgresStore,
  operationOf,
  type PostgresStore,
  timestampNsText,
  timestampText,
} from "../../packages/cli/src/sync/postgres/store.js";
import {
  DestinationFencedError,
  type SyncIdentity,
  type SyncState,
  SyncUsageError,
} from "../../packages/cli/src/sync/store.js";
import { runSync, syncIdentity } from "../../packages/cli/src/sync/sync.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { operationName } from "../../packages/client/src/domain/operations.js";
import { exportEntryFromMessage } from "../../packages/client/src/export/exportEntry.js";
import type { ExportEntry } from "../../packages/client/src/export/sink.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { PAT, USER } from "../cli/helpers.js";
import { type FreezingProxy, startFreezingProxy } from "../helpers/freezingProxy.js";
import { type PostgresServer, startPostgres } from "../helpers/postgres.js";
import { waitFor } from "../helpers/waitFor.js";

let server: PostgresServer;
let emu: EmulatorHandle;
let dbCount = 0;
const LOG_SIZE = 300;

beforeAll(async () => {
  [server, emu] = await Promise.all([
    startPostgres(),
    startEmulator({ pats: { [PAT]: USER }, entries: generateEntries(LOG_SIZE, 23), restPort: false }),
  ]);
}, 120_000);

afterAll(async () => {
  await emu?.close();
  await server?.stop();
});

const ID: SyncIdentity = { userId: "org-1", endpoint: "https://api.clarifai.com", query: {} };

async function freshDb(): Promise<{ url: string; db: pg.Client }> {
  const name = `a${++dbCount}`;
  const url = await server.createDatabase(name);
  return { url, db: await server.client(name) };
}

function entries(n: number, seed: number): ExportEntry[] {
  return generateEntries(n, seed).map(exportEntryFromMessage);
}

/** The state a commit hands over (totals before it). */
function state(entriesBefore: number): SyncState {
  return {
    version: 1,
    identity: ID,
    highWater: "2025-01-01T00:00:00.000001Z",
    totals: { entries: entriesBefore, late: 0, runs: 0 },
    updatedAt: "2026-01-01T00:00:00Z",
  };
}

/** Rows per account: `account → [rows, distinct keys]`. */
async function rowsByAccount(db: pg.Client): Promise<Record<string, [number, number]>> {
  const r = await db.query<{ account: string; n: number; k: number }>(
    "SELECT account, count(*)::int AS n, count(DISTINCT entry_key)::int AS k FROM audit_log GROUP BY 1 ORDER BY 1",
  );
  return Object.fromEntries(r.rows.map((x) => [x.account, [x.n, x.k]]));
}

/** Sorted entry keys of one account. */
async function keysOf(db: pg.Client, account: string): Promise<string[]> {
  const r = await db.query<{ k: string }>(
    "SELECT entry_key AS k FROM audit_log WHERE account = $1 ORDER BY 1",
    [account],
  );
  return r.rows.map((x) => x.k);
}

function client(): AuditLogClient {
  return new AuditLogClient({ pat: PAT, userId: USER, endpoint: emu.grpcAddress, insecure: true });
}

const SYNC = { settleMs: 0, reconcileMs: 3_153_600_000_000, perPage: 40, commitEntries: 100 };

describe("accounts in one table", () => {
  it("two accounts synced at once each hold every entry once (equal keys kept per account), with their own state row and lock", async () => {
    const { url, db } = await freshDb();
    // The lock is per account: while account "org" is held open, a sync of "member" runs, one of "org" is refused.
    const c = client();
    const holder = createPostgresStore({ url, account: "org" });
    await holder.open(syncIdentity(c));
    try {
      await expect(
        runSync({ ...SYNC, client: c, store: createPostgresStore({ url, account: "org" }) }),
      ).rejects.toThrow(
        new RegExp(`^another sync of ${USER}'s log at .* \\(account org\\) into .* is running`),
      );
      const member = await runSync({
        ...SYNC,
        client: c,
        store: createPostgresStore({ url, account: "member" }),
      });
      await holder.close();
      const org = await runSync({ ...SYNC, client: c, store: createPostgresStore({ url, account: "org" }) });
      expect([member.inserted, member.held, org.inserted, org.held]).toEqual([
        LOG_SIZE,
        LOG_SIZE,
        LOG_SIZE,
        LOG_SIZE,
      ]);
      // Two syncs of different accounts at once, and a sync without an account (''), into the same table.
      const again = await Promise.all(
        ["org", "member", undefined].map((account) =>
          runSync({ ...SYNC, client: c, store: createPostgresStore({ url, account }) }),
        ),
      );
      expect(again.map((s) => [s.inserted, s.held])).toEqual([
        [0, LOG_SIZE],
        [0, LOG_SIZE],
        [LOG_SIZE, LOG_SIZE],
      ]);
    } finally {
      c.close();
    }
    expect(await rowsByAccount(db)).toEqual({
      "": [LOG_SIZE, LOG_SIZE],
      member: [LOG_SIZE, LOG_SIZE],
      org: [LOG_SIZE, LOG_SIZE],
    });
    expect(await keysOf(db, "org")).toEqual(await keysOf(db, "member"));
    const st = await db.query(
      "SELECT account, (state->'totals'->>'entries')::int AS n, state->'run' AS run FROM clarifai_audit_sync_state ORDER BY 1",
    );
    expect(st.rows).toEqual([
      { account: "", n: LOG_SIZE, run: null },
      { account: "member", n: LOG_SIZE, run: null },
      { account: "org", n: LOG_SIZE, run: null },
    ]);
    await db.end();
  });

  it("an account's identity check does not see another account's log", async () => {
    const { url, db } = await freshDb();
    const other: SyncIdentity = { ...ID, userId: "member-7" };
    const a = createPostgresStore({ url, account: "org" });
    await a.open(ID);
    await a.commit({ entries: entries(5, 1), state: state(0) });
    await a.close();
    const b = createPostgresStore({ url, account: "member" });
    expect(await b.open(other)).toBeUndefined();
    await b.close();
    // The same account with another log is refused, before anything is written.
    await expect(createPostgresStore({ url, account: "org" }).open(other)).rejects.toThrow(SyncUsageError);
    expect(await rowsByAccount(db)).toEqual({ org: [5, 5] });
    await db.end();
  });
});

describe("fencing", () => {
  const fenced = (url: string, token: number, account = "prod"): PostgresStore =>
    createPostgresStore({ url, account, fence: { token } });

  it("a newer owner's open fences the older one: its next commit is refused and writes nothing", async () => {
    const { url, db } = await freshDb();
    const a = fenced(url, 1);
    expect(await a.open(ID)).toBeUndefined();
    expect(await a.commit({ entries: entries(10, 2), state: state(0) })).toEqual({ inserted: 10, late: 0 });
    const b = fenced(url, 2);
    expect((await b.open(ID))?.totals.entries).toBe(10);
    const before = await rowsByAccount(db);
    const refused = a.commit({ entries: entries(7, 3), state: state(10) });
    await expect(refused).rejects.toThrow(DestinationFencedError);
    await expect(refused).rejects.toThrow(
      `${a.description}: account "prod" is fenced: this owner's token 1 is older than token 2 of a newer owner; nothing was written`,
    );
    expect((await refused.catch((e: Error) => e.message)) as string).not.toContain(server.password);
    expect(await rowsByAccount(db)).toEqual(before);
    expect(await b.commit({ entries: entries(7, 3), state: state(10) })).toEqual({ inserted: 7, late: 0 });
    expect(await rowsByAccount(db)).toEqual({ prod: [17, 17] });
    const row = await db.query(
      "SELECT fence, (state->'totals'->>'entries')::int AS n FROM clarifai_audit_sync_state",
    );
    expect(row.rows).toEqual([{ fence: "2", n: 17 }]);
    // The older owner cannot come back: its open is refused too, and other accounts are not fenced.
    await a.close();
    await expect(fenced(url, 1).open(ID)).rejects.toThrow(DestinationFencedError);
    const other = fenced(url, 1, "staging");
    expect(await other.open(ID)).toBeUndefined();
    await other.close();
    await b.close();
    await db.end();
  });

  it("a fenced store takes no advisory lock: the new owner opens while the old one's session is still open", async () => {
    const { url, db } = await freshDb();
    const a = fenced(url, 1);
    await a.open(ID);
    a.hold?.();
    await a.close(); // held: the idle session stays
    expect(a.backendPid).toBeDefined();
    const b = fenced(url, 2);
    await b.open(ID);
    expect(await b.commit({ entries: entries(3, 4), state: state(0) })).toEqual({ inserted: 3, late: 0 });
    const locks = await db.query("SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory'");
    expect(locks.rows[0].n).toBe(0);
    await a.release?.();
    await b.close();
    await db.end();
  });

  it("an owner frozen inside a commit's transaction loses its session within the idle timeout; the new owner proceeds and the old one is fenced", async () => {
    const { url, db } = await freshDb();
    let proxy: FreezingProxy | undefined;
    try {
      proxy = await startFreezingProxy(server.host, server.port);
      const viaProxy = url.replace(`:${server.port}/`, `:${proxy.port}/`);
      const a = fenced(viaProxy, 1);
      await a.open(ID);
      await a.commit({ entries: entries(4, 5), state: state(0) });
      // A's next commit is frozen once its SELECT … FOR UPDATE of the state row has run.
      proxy.freezeAfter("FOR UPDATE");
      const held = a.commit({ entries: entries(6, 6), state: state(4) });
      held.catch(() => {});
      const aPid = a.backendPid;
      await waitFor(
        async () =>
          proxy?.frozen === true &&
          (await db.query("SELECT state FROM pg_stat_activity WHERE pid = $1", [aPid])).rows[0]?.state ===
            "idle in transaction",
        { what: "A frozen inside its transaction" },
      );
      const b = fenced(url, 2);
      const opening = b.open(ID);
      // B waits on the row lock A holds…
      await waitFor(
        async () =>
          b.backendPid !== undefined &&
          (await db.query("SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", [b.backendPid]))
            .rows[0]?.wait_event_type === "Lock",
        { what: "B waiting on A's row lock" },
      );
      // …until the server ends A's session (idle in transaction), well before B's lock timeout.
      expect((await opening)?.totals.entries).toBe(4);
      expect(server.log()).toContain("terminating connection due to idle-in-transaction timeout");
      expect(await b.commit({ entries: entries(2, 7), state: state(4) })).toEqual({ inserted: 2, late: 0 });
      proxy.thaw();
      await expect(held).rejects.toThrow(DestinationFencedError);
      expect(await rowsByAccount(db)).toEqual({ prod: [6, 6] });
      await a.close();
      await b.close();
    } finally {
      await proxy?.close();
      await db.end();
    }
  }, 30_000);
});

describe("migration", () => {
  it("a table of schema version 2 migrates in place, keeping its rows and state, and takes accounts", async () => {
    const { url, db } = await freshDb();
    const n = names("public", "audit_log");
    // The tables as schema version 2 made them, and what a sync of that version wrote.
    await db.query("BEGIN");
    await db.query(
      "CREATE TABLE clarifai_audit_migrations (table_name text PRIMARY KEY, version integer NOT NULL, migrated_at timestamptz NOT NULL)",
    );
    for (const sql of [...MIGRATIONS[0](n), ...MIGRATIONS[1](n)]) await db.query(sql);
    await db.query("INSERT INTO clarifai_audit_migrations VALUES ('audit_log', 2, now())");
    const old = entries(8, 9);
    for (const e of old) {
      const op = operationOf(e.bytes);
      await db.query(
        `INSERT INTO audit_log (entry_key, "timestamp", timestamp_ns, timestamp_text, operation, operation_name,
           user_id, description, targets, details, success, req_id, source_ip, entry)
         VALUES ($1, $2, $3, $4, $5, $6, $7, '', '[]', '[]', true, '', '', $8)`,
        [
          e.key(),
          timestampText(e.timestamp),
          timestampNsText(e.timestamp),
          JSON.parse(e.json()).timestamp,
          op,
          operationName(op),
          JSON.parse(e.json()).user?.id ?? "",
          e.json(),
        ],
      );
    }
    await db.query(
      `INSERT INTO clarifai_audit_sync_state (table_name, user_id, endpoint, query, state, commit_id, inserted, late, updated_at)
       VALUES ('audit_log', $1, $2, '{}', $3, 'c-v2', 8, 0, now())`,
      [ID.userId, ID.endpoint, JSON.stringify({ ...state(0), totals: { entries: 8, late: 0, runs: 1 } })],
    );
    await db.query("COMMIT");
    // Another table of the schema migrated first: the shared state table is at version 3 already.
    const first = createPostgresStore({ url, table: "other_log" });
    await first.open(ID);
    await first.close();

    const store = createPostgresStore({ url });
    expect((await store.open(ID))?.totals).toEqual({ entries: 8, late: 0, runs: 1 });
    // The old rows are account ''s: re-offered, they are skipped.
    expect(await store.commit({ entries: [...old, ...entries(3, 10)], state: state(8) })).toEqual({
      inserted: 3,
      late: 0,
    });
    expect(await store.count?.()).toBe(11);
    await store.close();
    const prod = createPostgresStore({ url, account: "prod" });
    expect(await prod.open(ID)).toBeUndefined();
    expect((await prod.commit({ entries: old, state: state(0) })).inserted).toBe(8);
    await prod.close();
    expect(await rowsByAccount(db)).toEqual({ "": [11, 11], prod: [8, 8] });
    const keys = await db.query<{ t: string; def: string }>(
      `SELECT conrelid::regclass::text AS t, pg_get_constraintdef(oid) AS def FROM pg_constraint
       WHERE contype = 'p' AND conrelid::regclass::text IN ('audit_log', 'clarifai_audit_sync_state') ORDER BY 1`,
    );
    expect(keys.rows).toEqual([
      { t: "audit_log", def: "PRIMARY KEY (account, entry_key)" },
      { t: "clarifai_audit_sync_state", def: "PRIMARY KEY (table_name, account, user_id, endpoint, query)" },
    ]);
    const v = await db.query("SELECT table_name, version FROM clarifai_audit_migrations ORDER BY 1");
    expect(v.rows).toEqual([
      { table_name: "audit_log", version: 3 },
      { table_name: "other_log", version: 3 },
    ]);
    await db.end();
  });
});
