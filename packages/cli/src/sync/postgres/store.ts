/**
 * The PostgreSQL {@link SyncStore}: entries in a table (`audit_log` by default) keyed by the engine's
 * entry key, and the sync state in `clarifai_audit_sync_state`, written in ONE transaction per
 * commit. A crash, a kill or a dropped connection therefore leaves either the old rows and cursor
 * or the new ones; re-offered entries (the reconcile overlap, a retried batch) are skipped by
 * `ON CONFLICT (account, entry_key) DO NOTHING`. Rows go in by COPY into a session temp table, then one
 * INSERT … SELECT that extracts the columns from the JSON with PostgreSQL's own jsonb operators.
 *
 * Many accounts share a table (the collector): rows and state rows are keyed by `account` too
 * ('' for `sync --dest` without one), so each account holds its own copy of an entry.
 *
 * One sync per log: the store holds a session-level advisory lock (per database, table, account,
 * user id and endpoint) for as long as it is open, and refuses at once when another session holds
 * it. The state row also carries the id of the last commit, and each commit updates it only if it
 * still holds the id this store last wrote: a sync that lost its lock (its connection dropped and
 * another sync took over) can never overwrite newer state. A fenced store (the collector's leases)
 * takes no advisory lock and is fenced by its token inside each commit instead (./fence.ts).
 */
import { randomUUID } from "node:crypto";
import { canonicalJson } from "@clarifai-audit/client/internal/domain/canonicalJson.js";
import { type Clock, systemClock } from "@clarifai-audit/client/internal/domain/clock.js";
import { crashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import pg from "pg";
import {
  DestinationFencedError,
  type SyncCommit,
  type SyncIdentity,
  type SyncState,
  type SyncStore,
  SyncUsageError,
} from "../store.js";
import { connectError, mapError, pgMessage, SyncConflictError } from "./errors.js";
import { beginFenced, claimFence, FENCED_SESSION, lockFence } from "./fence.js";
import { copyIncoming, createIncoming, insertIncoming } from "./incoming.js";
import { lockKey, takeSyncLock } from "./locks.js";
import { copyChunks, lateBound, sleep } from "./rows.js";
import {
  inspectTables,
  MIGRATIONS_TABLE,
  migrate,
  type Names,
  names,
  type SchemaSession,
  STATE_TABLE,
} from "./schema.js";
import { readStateRow, type StateKey, type StoredStateRow, writeStateRow } from "./stateRow.js";
import { connectionSettings, type PostgresTarget, parsePostgresUrl, redactUrl } from "./url.js";

// The names tests, the bench and other modules import from here.
export { SyncConflictError } from "./errors.js";
export { copyChunks, operationOf, timestampNsText, timestampText } from "./rows.js";
export { MIGRATIONS_TABLE, POSTGRES_SCHEMA_VERSION, STATE_TABLE } from "./schema.js";

/** Options of {@link createPostgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database[?schema=…&table=…&sslmode=…]`. */
  url: string;
  /** Table of entries (default `audit_log`, or the URL's `table`). */
  table?: string;
  /** PG* variables (PGPASSWORD, PGUSER, PGHOST, PGPORT, PGDATABASE, PGSSLMODE); default none. */
  env?: Record<string, string | undefined>;
  /** Connect timeout (default 10 s). */
  connectTimeoutMs?: number;
  /** What the waits before a reconnect are made on (default {@link systemClock}). */
  clock?: Clock;
  /** Whose rows these are when many accounts share the table (the collector); default ''. */
  account?: string;
  /**
   * Fence by this token (the collector's lease) instead of the advisory lock: `open` claims the
   * account's state row with it, and a commit is refused with {@link DestinationFencedError} once
   * the row holds a greater one (see ./fence.ts).
   */
  fence?: { token: number };
}

/** A PostgreSQL store: a {@link SyncStore} plus what tests and the bench look at. */
export interface PostgresStore extends SyncStore {
  /** The parsed destination (password included: never print it). */
  readonly target: PostgresTarget;
  /** Schema-qualified, quoted name of the entries table (after `open`). */
  readonly tableName: string;
  /** The backend pid of the store's session (after `open`), e.g. to terminate it in a test. */
  readonly backendPid: number | undefined;
}

/**
 * A {@link SyncStore} for a PostgreSQL database; connects in `open`. A malformed URL or table name
 * makes `open` reject with {@link SyncUsageError} before any connection (not this function throw:
 * callers map open's refusals to exit 2 in one place). Call {@link parsePostgresUrl} to check a
 * URL alone.
 */
export function createPostgresStore(opts: PostgresStoreOptions): PostgresStore {
  let target: PostgresTarget;
  try {
    target = parsePostgresUrl(opts.url, opts.env ?? {}, opts.table);
  } catch (err) {
    if (!(err instanceof SyncUsageError)) throw err;
    return new RefusedStore(redactUrl(opts.url), err);
  }
  return new Store(
    target,
    opts.connectTimeoutMs ?? 10_000,
    opts.clock ?? systemClock,
    opts.account ?? "",
    opts.fence?.token,
  );
}

/** The store of a URL that did not parse: refuses in `open`, holds nothing. */
class RefusedStore implements PostgresStore {
  readonly tableName = "";
  readonly backendPid = undefined;
  constructor(
    readonly description: string,
    readonly error: SyncUsageError,
  ) {}
  get target(): PostgresTarget {
    throw this.error;
  }
  async open(): Promise<SyncState | undefined> {
    throw this.error;
  }
  async commit(): Promise<{ inserted: number; late: number }> {
    throw this.error;
  }
  async close(): Promise<void> {}
}
const RECONNECTS = 3;

class Store implements PostgresStore {
  readonly description: string;
  #client: pg.Client | undefined;
  #broken = false;
  #names: Names | undefined;
  #identity: SyncIdentity | undefined;
  #key: StateKey | undefined;
  #lockKey: [number, number] = [0, 0];
  /** Set by {@link hold}: `close` keeps the session and its lock. */
  #holding = false;
  /** Id of the state row's last commit by this store (null: no row yet). */
  #lastCommitId: string | null = null;

  constructor(
    readonly target: PostgresTarget,
    readonly connectTimeoutMs: number,
    readonly clock: Clock,
    readonly account: string,
    /** The fencing token (undefined: not fenced, the advisory lock instead). */
    readonly token: number | undefined,
  ) {
    this.description = target.description;
  }

  get tableName(): string {
    return this.#names?.table ?? this.target.table;
  }

  get backendPid(): number | undefined {
    return (this.#client as unknown as { processID?: number } | undefined)?.processID;
  }

  async open(identity: SyncIdentity): Promise<SyncState | undefined> {
    this.#identity = identity;
    try {
      // A session held since the last run (hold) still holds the lock: taking it again stacks.
      if (!this.#holding || !this.#client || this.#broken) await this.#connect();
      const schema = this.target.schema ?? (await this.#currentSchema());
      this.#names = names(schema, this.target.table);
      if (this.target.table === STATE_TABLE || this.target.table === MIGRATIONS_TABLE) {
        throw SyncUsageError.store(
          `table ${this.target.table} is clarifai-audit's own bookkeeping table: choose another`,
        );
      }
      const query = canonicalJson(identity.query);
      this.#key = { names: this.#names, account: this.account, identity, query };
      this.#lockKey = lockKey(this.target, schema, identity, this.account);
      await this.#lock();
      await inspectTables(this.#schemaSession(), identity, this.account);
      await migrate(this.#schemaSession());
      await this.#prepareSession();
      if (this.token !== undefined)
        await claimFence(this.#live(), this.#key, this.token, (newer) => this.#fenced(newer));
      const row = await this.#stateRow();
      this.#lastCommitId = row?.commitId ?? null;
      return row?.state;
    } catch (err) {
      await this.#end();
      throw this.#mapError(err);
    }
  }

  /**
   * As the contract says, `commit.state.totals` are the totals before this commit: the stored state
   * adds the rows actually inserted and, of those, the late ones (dated at or before
   * `lateAtOrBefore`), both counted by PostgreSQL inside the transaction.
   */
  async commit(commit: SyncCommit): Promise<{ inserted: number; late: number }> {
    // No client here is a session lost earlier: #commitOnce fails as a lost connection and reconnects.
    if (!this.#names || !this.#identity) throw new Error("PostgreSQL store used before open()");
    const chunks = copyChunks(commit.entries);
    const commitId = randomUUID();
    const bound = lateBound(commit.lateAtOrBefore);
    // Why the last reconnect failed (the server gone, say): a better reason than "connection lost".
    let reconnectError: unknown;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#commitOnce(chunks, commit.entries.length, commit.state, bound, commitId);
      } catch (err) {
        if (err instanceof SyncConflictError || err instanceof DestinationFencedError) throw err;
        if (await this.#rollback()) throw this.#mapError(err);
        // The connection is gone: the transaction either committed before it went or never will.
        // Reconnect, take the lock again and read which it was from the state row.
        if (attempt >= RECONNECTS) {
          throw new Error(
            `lost the connection to ${this.description}: ${this.#message(reconnectError ?? err)}`,
          );
        }
        reconnectError = undefined;
        await sleep(250 * (attempt + 1), this.clock);
        let row: StoredStateRow | undefined;
        try {
          await this.#connect();
          await this.#lock();
          await this.#prepareSession();
          row = await this.#stateRow();
        } catch (again) {
          // Half a session (connected, not locked) must not be used by a later commit. Without a
          // client the next attempt fails at once and comes back here, or gives up as lost.
          await this.#end();
          if (again instanceof SyncUsageError) throw again;
          reconnectError = again;
          continue;
        }
        if (row?.commitId === commitId) {
          this.#lastCommitId = commitId;
          return { inserted: row.inserted, late: row.late };
        }
        // A newer owner took the row while this one was away: say so, not "changed by another sync".
        if (this.token !== undefined && row?.fence !== undefined && row.fence > this.token)
          throw this.#fenced(row.fence);
        if ((row?.commitId ?? null) !== this.#lastCommitId) throw this.#conflict();
      }
    }
  }

  /** The account's rows (count(*): rows deleted since they were stored are not counted). */
  async count(): Promise<number> {
    const r = await this.#live().query<{ n: string }>(
      `SELECT count(*) AS n FROM ${(this.#names as Names).table} WHERE account = $1`,
      [this.account],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    // Held (hold): the idle session keeps the advisory lock until release; a lost one is not kept.
    if (this.#holding && this.#client && !this.#broken) return;
    await this.#end();
  }

  hold(): void {
    this.#holding = true;
  }

  async release(): Promise<void> {
    this.#holding = false;
    await this.#end();
  }

  async #end(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    // Ending the session releases the advisory lock and drops the temp table.
    if (client) await client.end().catch(() => {});
  }

  async #commitOnce(
    chunks: Buffer[],
    count: number,
    before: SyncState,
    bound: [string] | [null],
    commitId: string,
  ): Promise<{ inserted: number; late: number }> {
    const c = this.#live();
    const n = this.#names as Names;
    const key = this.#key as StateKey;
    if (this.token === undefined) await c.query("BEGIN");
    else await beginFenced(c);
    if (count > 0) await copyIncoming(c, chunks);
    // After the COPY (which waits on this client): the row lock is held only while the server works.
    if (this.token !== undefined) {
      const fence = await lockFence(c, key);
      if (fence !== undefined && fence > this.token) {
        await c.query("ROLLBACK");
        throw this.#fenced(fence);
      }
    }
    const { inserted, late } =
      count > 0 ? await insertIncoming(c, n.table, this.account, bound) : { inserted: 0, late: 0 };
    crashPoint("pg.rows-inserted");
    const t = before.totals;
    const written = await writeStateRow(c, key, {
      state: JSON.stringify({
        ...before,
        totals: { entries: t.entries + inserted, late: t.late + late, runs: t.runs },
      }),
      commitId,
      inserted,
      late,
      previous: this.#lastCommitId,
      ...(this.token === undefined ? {} : { fence: this.token }),
    });
    if (!written) {
      await c.query("ROLLBACK");
      throw this.#conflict();
    }
    crashPoint("pg.before-commit");
    await c.query("COMMIT");
    crashPoint("pg.after-commit");
    this.#lastCommitId = commitId;
    return { inserted, late };
  }

  /** True when ROLLBACK ran (the error was the statement's, the session is fine). */
  async #rollback(): Promise<boolean> {
    if (!this.#client || this.#broken) return false;
    try {
      await this.#client.query("ROLLBACK");
      return true;
    } catch {
      return false;
    }
  }

  #conflict(): SyncConflictError {
    const id = this.#identity as SyncIdentity;
    return new SyncConflictError(
      `the sync state of ${id.userId}'s log at ${id.endpoint} in ${this.description} was changed by another ` +
        "sync during this run (this one had lost its connection and lock); this batch was not stored: run sync again",
    );
  }

  #live(): pg.Client {
    if (!this.#client || this.#broken) throw Object.assign(new Error("connection lost"), { code: "08003" });
    return this.#client;
  }

  async #connect(): Promise<void> {
    if (this.#client) {
      const old = this.#client;
      this.#client = undefined;
      await old.end().catch(() => {});
    }
    const t = this.target;
    const client = new pg.Client({
      ...connectionSettings(t),
      connectionTimeoutMillis: this.connectTimeoutMs,
      keepAlive: true,
      ...(this.token === undefined ? {} : FENCED_SESSION),
    });
    this.#broken = false;
    // A session that dies while idle (terminated, server restart) emits 'error' on the client;
    // without a listener Node would crash. The next commit sees the flag and reconnects.
    client.on("error", () => {
      if (this.#client === client) this.#broken = true;
    });
    client.on("end", () => {
      if (this.#client === client) this.#broken = true;
    });
    try {
      await client.connect();
    } catch (err) {
      await client.end().catch(() => {});
      throw this.#connectError(err);
    }
    this.#client = client;
  }

  async #currentSchema(): Promise<string> {
    const r = await this.#live().query<{ s: string | null }>("SELECT current_schema() AS s");
    const s = r.rows[0]?.s;
    if (!s) {
      throw new SyncUsageError(
        `${this.description}: the connection's search_path names no existing schema: add ?schema=… to the URL`,
      );
    }
    return s;
  }

  /** Takes the advisory lock (a fenced store takes none: its token fences it, see ./fence.ts). */
  async #lock(): Promise<void> {
    if (this.token !== undefined) return;
    const id = this.#identity as SyncIdentity;
    const account = this.account === "" ? "" : ` (account ${this.account})`;
    await takeSyncLock(
      this.#live(),
      this.#lockKey,
      `another sync of ${id.userId}'s log at ${id.endpoint}${account} into ${this.description} is running`,
    );
  }

  /** What the open-time checks and the migration use of this session. */
  #schemaSession(): SchemaSession {
    return {
      live: () => this.#live(),
      rollback: () => this.#rollback(),
      names: this.#names as Names,
      description: this.description,
      explicitSchema: this.target.schema,
    };
  }

  async #prepareSession(): Promise<void> {
    await createIncoming(this.#live());
  }

  async #stateRow(): Promise<StoredStateRow | undefined> {
    return readStateRow(this.#live(), this.#key as StateKey, this.description);
  }

  #fenced(newer: number): DestinationFencedError {
    return new DestinationFencedError(this.description, this.account, this.token ?? 0, newer);
  }

  #message(err: unknown): string {
    return pgMessage(err, this.target);
  }

  #connectError(err: unknown): Error {
    return connectError(err, this.target);
  }

  #mapError(err: unknown): Error {
    return mapError(err, this.target);
  }
}
