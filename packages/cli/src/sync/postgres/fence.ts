/**
 * Fencing of the PostgreSQL store, for the collector's failover (coordination leases): an owner
 * whose lease has passed to another instance may still be alive (paused by SIGSTOP, a long GC, a
 * network partition) and try to commit when it wakes. Its store holds the lease's token; the state
 * row keeps `fence`, the greatest token that claimed it. A new owner's `open` claims the row at once
 * (its token stored), and every commit locks the row (`SELECT … FOR UPDATE`) in its own transaction
 * and refuses when the row's fence is greater than its token, so an older owner writes nothing from
 * the moment the newer one opened, whether or not the newer one has committed yet.
 *
 * A fenced store takes no session advisory lock: the old owner's idle session would keep it, and
 * the new owner would be refused for as long as the old one sleeps. What the old owner can still
 * hold is the row lock of a commit it was paused in the middle of; the session settings below end
 * such a session within seconds (see {@link FENCED_SESSION}).
 */
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { KEY_WHERE, keyParams, type StateKey } from "./stateRow.js";

/**
 * Settings of every fenced session (sent at connect, so a reconnect has them too).
 *
 * `idle_in_transaction_session_timeout` 5 s: a commit sends its statements back to back (the COPY,
 * which waits on the client, comes before the row lock, and the rest runs in the server), so a
 * healthy owner is never idle inside a transaction for more than a round trip; an owner paused
 * there (SIGSTOP, a frozen VM) has its session ended by the server after 5 s, which releases the
 * row lock, and the new owner's `open` or commit, waiting on that lock, goes on. 5 s leaves room
 * for GC pauses and a loaded event loop, and is well under a lease (30 s by default).
 *
 * No `statement_timeout`: no statement of a commit waits on the client while it holds the row
 * lock, and a limit would only fail large commits on a slow server. Waits for locks are bounded
 * instead, inside the commit and claim transactions ({@link FENCED_LOCK_TIMEOUT_MS}).
 */
export const FENCED_SESSION = { idle_in_transaction_session_timeout: 5_000 } as const;

/**
 * `lock_timeout` of a fenced commit or claim: longer than {@link FENCED_SESSION}'s idle timeout, so
 * a paused owner's session is ended before the waiter gives up; what else could hold the row (a
 * person's `SELECT … FOR UPDATE` in psql) fails the commit with an error rather than hanging it.
 * Only there: a migration may wait longer for its table.
 */
export const FENCED_LOCK_TIMEOUT_MS = 15_000;

/** Starts a fenced transaction: BEGIN and its lock timeout. */
export async function beginFenced(c: pg.Client): Promise<void> {
  await c.query("BEGIN");
  await c.query(`SET LOCAL lock_timeout = ${FENCED_LOCK_TIMEOUT_MS}`);
}

/**
 * In an open transaction: locks the row of `k` and returns its fence (undefined: no row, or never
 * fenced). The caller refuses when it is greater than its token.
 */
export async function lockFence(c: pg.Client, k: StateKey): Promise<number | undefined> {
  const r = await c.query<{ fence: string | null }>(
    `SELECT fence FROM ${k.names.state} WHERE ${KEY_WHERE} FOR UPDATE`,
    keyParams(k),
  );
  const fence = r.rows[0]?.fence;
  return fence === null || fence === undefined ? undefined : Number(fence);
}

/**
 * `open`'s claim, in its own transaction: stores `token` as the row's fence, creating the row
 * without state when there is none (the destination stays empty to `open`). Throws what
 * `fenced(newer)` makes when the row holds a greater token, changing nothing.
 */
export async function claimFence(
  c: pg.Client,
  k: StateKey,
  token: number,
  fenced: (newer: number) => Error,
): Promise<void> {
  await beginFenced(c);
  try {
    await c.query(
      `INSERT INTO ${k.names.state} (table_name, account, user_id, endpoint, query, state, commit_id, inserted,
         late, fence, updated_at)
       VALUES ($1, $2, $3, $4, $5, NULL, $6, 0, 0, $7, now()) ON CONFLICT DO NOTHING`,
      [...keyParams(k), `claim-${randomUUID()}`, String(token)],
    );
    const fence = await lockFence(c, k);
    if (fence !== undefined && fence > token) throw fenced(fence);
    await c.query(`UPDATE ${k.names.state} SET fence = $6 WHERE ${KEY_WHERE}`, [
      ...keyParams(k),
      String(token),
    ]);
    await c.query("COMMIT");
  } catch (err) {
    await c.query("ROLLBACK").catch(() => {});
    throw err;
  }
}
