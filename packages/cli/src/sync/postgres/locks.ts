/** The advisory-lock keys of the PostgreSQL store: one per synced log, one per schema for migrations. */
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type pg from "pg";
import { type SyncIdentity, SyncUsageError } from "../store.js";
import type { PostgresTarget } from "./url.js";

/** Two non-negative int4 keys from a SHA-256 of `text`. */
export function hashInts(text: string): [number, number] {
  const h = createHash("sha256").update(text).digest();
  // Non-negative, so pg_locks' oid columns (unsigned) compare equal without sign games.
  return [h.readInt32BE(0) & 0x7fffffff, h.readInt32BE(4) & 0x7fffffff];
}

/**
 * The session lock of one sync: per database, table, account, user id and endpoint. Account ''
 * (`sync --dest` without one) keeps the key of the builds before accounts, so an older sync still
 * running on the table refuses a newer one (and the other way round).
 */
export function lockKey(t: PostgresTarget, schema: string, id: SyncIdentity, account = ""): [number, number] {
  const log = `clarifai-audit sync\0${t.database}\0${schema}.${t.table}\0${id.userId}\0${id.endpoint}`;
  return hashInts(account === "" ? log : `${log}\0account\0${account}`);
}

/** The transaction lock of migrations in one schema. */
export function migrationLockKey(schema: string): [number, number] {
  return hashInts(`clarifai-audit migrate\0${schema}`);
}

/** How long a held lock is retried before the sync is refused. */
const LOCK_GRACE_MS = 1000;
const LOCK_POLL_MS = 100;

/**
 * Takes the session lock `key` on `c`, or refuses with {@link SyncUsageError}: `running` (what holds
 * it) and the holder's backend, address and start, so the user can find it.
 */
export async function takeSyncLock(c: pg.Client, [k1, k2]: [number, number], running: string): Promise<void> {
  // A sync killed mid-statement leaves its backend running until that statement ends and it finds
  // the client gone; a short grace lets a restart after a kill take over instead of being refused.
  for (let waited = 0; ; waited += LOCK_POLL_MS) {
    const r = await c.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1::int4, $2::int4) AS ok", [
      k1,
      k2,
    ]);
    if (r.rows[0]?.ok) return;
    if (waited >= LOCK_GRACE_MS) break;
    await sleep(LOCK_POLL_MS);
  }
  const holder = await c
    .query<{ pid: number; addr: string | null; since: string | null; app: string | null }>(
      `SELECT a.pid, host(a.client_addr) AS addr, to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since,
         a.application_name AS app
       FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::int4::oid AND l.objid = $2::int4::oid
         AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [k1, k2],
    )
    .catch(() => ({ rows: [] }));
  const h = holder.rows[0];
  const who = h
    ? ` (PostgreSQL backend pid ${h.pid}${h.addr ? ` from ${h.addr}` : ""}${h.since ? `, connected since ${h.since}` : ""})`
    : "";
  throw new SyncUsageError(`${running}${who}: only one runs at a time, try again when it has finished`);
}
