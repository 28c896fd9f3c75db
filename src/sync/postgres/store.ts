/**
 * The PostgreSQL {@link SyncStore}: entries in a table (`audit_log` by default) keyed by the engine's
 * entry key, and the sync state in `clarifai_audit_sync_state`, written in ONE transaction per
 * commit. A crash, a kill or a dropped connection therefore leaves either the old rows and cursor
 * or the new ones; re-offered entries (the reconcile overlap, a retried batch) are skipped by
 * `ON CONFLICT (entry_key) DO NOTHING`. Rows go in by COPY into a session temp table, then one
 * INSERT … SELECT that extracts the columns from the JSON with PostgreSQL's own jsonb operators.
 *
 * One sync per log: the store holds a session-level advisory lock (per database, table, user id
 * and endpoint) for as long as it is open, and refuses at once when another session holds it. The
 * state row also carries the id of the last commit, and each commit updates it only if it still
 * holds the id this store last wrote: a sync that lost its lock (its connection dropped and another
 * sync took over) can never overwrite newer state.
 */
import { createHash, randomUUID } from "node:crypto";
import pg from "pg";
import { operationName } from "../../domain/operations.js";
import { redact } from "../../domain/redact.js";
import { formatTimestamp, type Timestamp } from "../../domain/time.js";
import { parseTs, tsToNs } from "../../domain/timestamps.js";
import type { ExportEntry } from "../../export/sink.js";
import {
  type SyncCommit,
  type SyncIdentity,
  type SyncState,
  type SyncStore,
  SyncUsageError,
} from "../store.js";
import { CopyIn } from "./copy.js";
import { type PostgresTarget, parsePostgresUrl, redactUrl } from "./url.js";

/** Schema version of the tables this build writes (row `clarifai_audit_migrations.version`). */
export const POSTGRES_SCHEMA_VERSION = 1;
/** The table of sync state (one row per table, user id, endpoint and query). */
export const STATE_TABLE = "clarifai_audit_sync_state";
/** The table of schema versions (one row per entries table). */
export const MIGRATIONS_TABLE = "clarifai_audit_migrations";

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

/** The state was changed by another writer under this run (it lost its lock): nothing was stored. */
export class SyncConflictError extends Error {
  override name = "SyncConflictError";
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
  return new Store(target, opts.connectTimeoutMs ?? 10_000);
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

const q = (ident: string) => `"${ident}"`;

/** What each migration runs, in order: entry i brings a table from version i to i + 1. */
const MIGRATIONS: ((n: Names) => string[])[] = [
  (n) => [
    `CREATE TABLE ${n.table} (
      entry_key text PRIMARY KEY,
      "timestamp" timestamptz NOT NULL,
      timestamp_ns bigint,
      operation integer NOT NULL,
      operation_name text NOT NULL,
      user_id text NOT NULL,
      description text NOT NULL,
      targets jsonb NOT NULL,
      details jsonb NOT NULL,
      success boolean NOT NULL,
      req_id text NOT NULL,
      source_ip text NOT NULL,
      entry jsonb NOT NULL
    )`,
    `CREATE INDEX ${n.index("timestamp")} ON ${n.table} ("timestamp")`,
    `CREATE INDEX ${n.index("user")} ON ${n.table} (user_id, "timestamp")`,
    `CREATE INDEX ${n.index("operation")} ON ${n.table} (operation, "timestamp")`,
    `CREATE TABLE IF NOT EXISTS ${n.state} (
      table_name text NOT NULL,
      user_id text NOT NULL,
      endpoint text NOT NULL,
      query text NOT NULL,
      state jsonb NOT NULL,
      commit_id text NOT NULL,
      inserted bigint NOT NULL,
      late bigint NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (table_name, user_id, endpoint, query)
    )`,
  ],
];

interface Names {
  schema: string;
  bare: string;
  table: string;
  state: string;
  migrations: string;
  index(what: string): string;
}

function names(schema: string, table: string): Names {
  return {
    schema,
    bare: table,
    table: `${q(schema)}.${q(table)}`,
    state: `${q(schema)}.${q(STATE_TABLE)}`,
    migrations: `${q(schema)}.${q(MIGRATIONS_TABLE)}`,
    index: (what) => q(`${table}_${what}_idx`),
  };
}

const INCOMING = "clarifai_audit_incoming";
const CONNECTION_LOST = new Set(["57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"]);
const NETWORK = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNRESET",
  "EPIPE",
]);
const RECONNECTS = 3;
/** How long a held lock is retried before the sync is refused. */
const LOCK_GRACE_MS = 1000;
const LOCK_POLL_MS = 100;

class Store implements PostgresStore {
  readonly description: string;
  #client: pg.Client | undefined;
  #broken = false;
  #names: Names | undefined;
  #identity: SyncIdentity | undefined;
  #queryKey = "";
  #lockKey: [number, number] = [0, 0];
  /** Id of the state row's last commit by this store (null: no row yet). */
  #lastCommitId: string | null = null;

  constructor(
    readonly target: PostgresTarget,
    readonly connectTimeoutMs: number,
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
    this.#queryKey = canonicalJson(identity.query);
    try {
      await this.#connect();
      const schema = this.target.schema ?? (await this.#currentSchema());
      this.#names = names(schema, this.target.table);
      if (this.target.table === STATE_TABLE || this.target.table === MIGRATIONS_TABLE) {
        throw new SyncUsageError(
          `--to: table ${this.target.table} is clarifai-audit's own bookkeeping table: choose another`,
        );
      }
      this.#lockKey = lockKey(this.target, schema, identity);
      await this.#lock();
      await this.#inspect();
      await this.#migrate();
      await this.#prepareSession();
      const row = await this.#stateRow();
      this.#lastCommitId = row?.commit_id ?? null;
      return row?.state;
    } catch (err) {
      await this.close();
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
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#commitOnce(chunks, commit.entries.length, commit.state, bound, commitId);
      } catch (err) {
        if (err instanceof SyncConflictError) throw err;
        if (await this.#rollback()) throw this.#mapError(err);
        // The connection is gone: the transaction either committed before it went or never will.
        // Reconnect, take the lock again and read which it was from the state row.
        if (attempt >= RECONNECTS) {
          throw new Error(`lost the connection to ${this.description}: ${this.#message(err)}`);
        }
        await sleep(250 * (attempt + 1));
        try {
          await this.#connect();
          await this.#lock();
          await this.#prepareSession();
        } catch (again) {
          // Half a session (connected, not locked) must not be used by a later commit.
          await this.close();
          if (again instanceof SyncUsageError) throw again;
          if (attempt + 1 >= RECONNECTS) throw this.#mapError(again);
          continue;
        }
        const row = await this.#stateRow();
        if (row?.commit_id === commitId) {
          this.#lastCommitId = commitId;
          return { inserted: Number(row.inserted), late: Number(row.late) };
        }
        if ((row?.commit_id ?? null) !== this.#lastCommitId) throw this.#conflict();
      }
    }
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    // Ending the session releases the advisory lock and drops the temp table.
    if (client) await client.end().catch(() => {});
  }

  async #commitOnce(
    chunks: Buffer[],
    count: number,
    before: SyncState,
    bound: [string, string] | [null, null],
    commitId: string,
  ): Promise<{ inserted: number; late: number }> {
    const c = this.#live();
    const n = this.#names as Names;
    const id = this.#identity as SyncIdentity;
    await c.query("BEGIN");
    let inserted = 0;
    let late = 0;
    if (count > 0) {
      const copy = new CopyIn(
        `COPY pg_temp.${INCOMING} (entry_key, timestamp_ns, ts, operation, operation_name, entry) FROM STDIN`,
        chunks,
      );
      c.query(copy);
      await copy.done;
      // timestamp_ns is NULL only outside BIGINT's years (1677-2262): there the µs column decides.
      const r = await c.query<{ inserted: number; late: number }>(
        `WITH ins AS (INSERT INTO ${n.table} (entry_key, "timestamp", timestamp_ns, operation, operation_name, user_id,
           description, targets, details, success, req_id, source_ip, entry)
         SELECT entry_key, ts, timestamp_ns, operation, operation_name,
           coalesce(entry->'user'->>'id', ''), coalesce(entry->>'description', ''),
           coalesce(entry->'targets', '[]'::jsonb), coalesce(entry->'details', '[]'::jsonb),
           coalesce((entry->>'success')::boolean, false), coalesce(entry->>'req_id', ''),
           coalesce(entry->>'source_ip', ''), entry
         FROM pg_temp.${INCOMING}
         ON CONFLICT (entry_key) DO NOTHING
         RETURNING timestamp_ns, "timestamp")
         SELECT count(*)::int AS inserted,
           count(*) FILTER (WHERE CASE WHEN timestamp_ns IS NOT NULL THEN timestamp_ns::numeric <= $1::numeric
             ELSE "timestamp" <= $2::timestamptz END)::int AS late
         FROM ins`,
        bound,
      );
      inserted = r.rows[0]?.inserted ?? 0;
      late = r.rows[0]?.late ?? 0;
    }
    const t = before.totals;
    const stateJson = JSON.stringify({
      ...before,
      totals: { entries: t.entries + inserted, late: t.late + late, runs: t.runs },
    });
    const key = [n.bare, id.userId, id.endpoint, this.#queryKey];
    const r =
      this.#lastCommitId === null
        ? await c.query(
            `INSERT INTO ${n.state} (table_name, user_id, endpoint, query, state, commit_id, inserted, late, updated_at)
             VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, now()) ON CONFLICT DO NOTHING`,
            [...key, stateJson, commitId, inserted, late],
          )
        : await c.query(
            `UPDATE ${n.state} SET state = $5::jsonb, commit_id = $6, inserted = $7, late = $8, updated_at = now()
             WHERE table_name = $1 AND user_id = $2 AND endpoint = $3 AND query = $4 AND commit_id = $9`,
            [...key, stateJson, commitId, inserted, late, this.#lastCommitId],
          );
    if (r.rowCount !== 1) {
      await c.query("ROLLBACK");
      throw this.#conflict();
    }
    await c.query("COMMIT");
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
      host: t.host,
      port: t.port,
      user: t.user,
      password: t.password,
      database: t.database,
      ssl: t.ssl,
      application_name: t.applicationName,
      connectionTimeoutMillis: this.connectTimeoutMs,
      keepAlive: true,
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

  async #lock(): Promise<void> {
    const c = this.#live();
    const [k1, k2] = this.#lockKey;
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
    const id = this.#identity as SyncIdentity;
    throw new SyncUsageError(
      `another sync of ${id.userId}'s log at ${id.endpoint} into ${this.description} is running${who}: ` +
        "only one runs at a time, try again when it has finished",
    );
  }

  /** Refusals that must come before anything is written. */
  async #inspect(): Promise<void> {
    const c = this.#live();
    const n = this.#names as Names;
    const id = this.#identity as SyncIdentity;
    const r = await c.query<{ t: string | null; s: string | null }>(
      "SELECT to_regclass($1)::text AS t, to_regclass($2)::text AS s",
      [n.table, n.state],
    );
    const { t, s } = r.rows[0] ?? { t: null, s: null };
    const version = await this.#version();
    if (version !== undefined && version > POSTGRES_SCHEMA_VERSION) {
      throw new SyncUsageError(
        `${this.description}: the table is at schema version ${version}, newer than this clarifai-audit knows ` +
          `(${POSTGRES_SCHEMA_VERSION}): upgrade clarifai-audit`,
      );
    }
    if (t && version === undefined) {
      throw new SyncUsageError(
        `${this.description}: table ${n.schema}.${n.bare} exists but was not created by clarifai-audit ` +
          `(no row in ${MIGRATIONS_TABLE}): choose another table with ?table=… or drop it`,
      );
    }
    if (s) {
      const other = await c.query<{ user_id: string; endpoint: string }>(
        `SELECT user_id, endpoint FROM ${n.state} WHERE table_name = $1 AND (user_id <> $2 OR endpoint <> $3) LIMIT 1`,
        [n.bare, id.userId, id.endpoint],
      );
      const o = other.rows[0];
      if (o) {
        throw new SyncUsageError(
          `${this.description} holds the log of user ${JSON.stringify(o.user_id)} at ${o.endpoint}, not of ` +
            `${JSON.stringify(id.userId)} at ${id.endpoint}: sync each log into its own table (?table=…)`,
        );
      }
    }
  }

  async #version(): Promise<number | undefined> {
    const n = this.#names as Names;
    const m = await this.#live().query<{ m: string | null }>("SELECT to_regclass($1)::text AS m", [
      n.migrations,
    ]);
    if (!m.rows[0]?.m) return undefined;
    const r = await this.#live().query<{ version: number }>(
      `SELECT version FROM ${n.migrations} WHERE table_name = $1`,
      [n.bare],
    );
    return r.rows[0]?.version;
  }

  /**
   * Brings the tables to {@link POSTGRES_SCHEMA_VERSION} in one transaction, under a transaction
   * lock so two first syncs of different logs cannot both create the shared tables. Runs no DDL
   * when already current, so a role with only INSERT/UPDATE rights can sync an existing table.
   */
  async #migrate(): Promise<void> {
    if ((await this.#version()) === POSTGRES_SCHEMA_VERSION) return;
    const c = this.#live();
    const n = this.#names as Names;
    await c.query("BEGIN");
    try {
      await c.query("SELECT pg_advisory_xact_lock($1::int4, $2::int4)", migrationLockKey(n.schema));
      if (this.target.schema) {
        const exists = await c.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [n.schema]);
        if (exists.rowCount === 0) await c.query(`CREATE SCHEMA ${q(n.schema)}`);
      }
      await c.query(
        `CREATE TABLE IF NOT EXISTS ${n.migrations} (
          table_name text PRIMARY KEY, version integer NOT NULL, migrated_at timestamptz NOT NULL)`,
      );
      const v = await c.query<{ version: number }>(
        `SELECT version FROM ${n.migrations} WHERE table_name = $1 FOR UPDATE`,
        [n.bare],
      );
      const from = v.rows[0]?.version ?? 0;
      if (from > POSTGRES_SCHEMA_VERSION)
        throw new SyncUsageError(`${this.description}: newer schema version ${from}`);
      for (let i = from; i < POSTGRES_SCHEMA_VERSION; i++) {
        for (const sql of MIGRATIONS[i](n)) await c.query(sql);
      }
      await c.query(
        `INSERT INTO ${n.migrations} (table_name, version, migrated_at) VALUES ($1, $2, now())
         ON CONFLICT (table_name) DO UPDATE SET version = excluded.version, migrated_at = excluded.migrated_at`,
        [n.bare, POSTGRES_SCHEMA_VERSION],
      );
      await c.query("COMMIT");
    } catch (err) {
      await this.#rollback();
      throw err;
    }
  }

  async #prepareSession(): Promise<void> {
    await this.#live().query(
      `CREATE TEMP TABLE IF NOT EXISTS ${INCOMING} (entry_key text, ts timestamptz, timestamp_ns bigint,
         operation integer, operation_name text, entry jsonb) ON COMMIT DELETE ROWS`,
    );
  }

  async #stateRow(): Promise<
    { state: SyncState; commit_id: string; inserted: string; late: string } | undefined
  > {
    const n = this.#names as Names;
    const id = this.#identity as SyncIdentity;
    const r = await this.#live().query<{
      state: SyncState;
      commit_id: string;
      inserted: string;
      late: string;
    }>(
      `SELECT state, commit_id, inserted, late FROM ${n.state}
       WHERE table_name = $1 AND user_id = $2 AND endpoint = $3 AND query = $4`,
      [n.bare, id.userId, id.endpoint, this.#queryKey],
    );
    return r.rows[0];
  }

  #message(err: unknown): string {
    const m = err instanceof Error ? err.message : String(err);
    return redact(m, this.target.password).replace(/\s*[\r\n]+\s*/g, " ");
  }

  #connectError(err: unknown): Error {
    const t = this.target;
    const code = (err as { code?: string }).code;
    const msg = this.#message(err);
    const at = `${t.host}:${t.port}`;
    if (code === "28P01" || code === "28000") {
      return new SyncUsageError(
        `PostgreSQL at ${at} refused user ${JSON.stringify(t.user)} for database ${JSON.stringify(t.database)}: ${msg} ` +
          "(check the password in the URL or PGPASSWORD)",
      );
    }
    if (code === "3D000") return new SyncUsageError(`PostgreSQL at ${at}: ${msg}`);
    if (/password must be a string|no password/i.test(msg)) {
      return new SyncUsageError(
        `PostgreSQL at ${at} asks user ${JSON.stringify(t.user)} for a password: give it in the URL or PGPASSWORD`,
      );
    }
    if ((code && NETWORK.has(code)) || /timeout|terminated/i.test(msg)) {
      return new Error(`cannot reach PostgreSQL at ${at}: ${msg}`);
    }
    return new Error(`cannot connect to ${this.description}: ${msg}`);
  }

  /** One line for any error of open/commit: refusals for bad rights, the rest as is (password removed). */
  #mapError(err: unknown): Error {
    if (err instanceof SyncUsageError || err instanceof SyncConflictError) return err;
    const code = (err as { code?: string }).code;
    const msg = this.#message(err);
    if (code === "42501") {
      return new SyncUsageError(
        `${this.description}: user ${JSON.stringify(this.target.user)} lacks a right the sync needs (${msg}): ` +
          "grant CREATE on the schema for the first sync (it creates the tables), then SELECT, INSERT, UPDATE on them",
      );
    }
    if (code === "3F000" || code === "42P01") return new SyncUsageError(`${this.description}: ${msg}`);
    if (code && CONNECTION_LOST.has(code))
      return new Error(`lost the connection to ${this.description}: ${msg}`);
    if (err instanceof Error && err.message === msg) return err;
    return new Error(msg);
  }
}

/** `lateAtOrBefore` as exact nanoseconds (numeric text) and as a TIMESTAMPTZ text; nulls when absent. */
function lateBound(text: string | undefined): [string, string] | [null, null] {
  if (text === undefined) return [null, null];
  const ts = parseTs(text);
  if (ts === undefined) throw new Error(`lateAtOrBefore is not an RFC 3339 timestamp: ${text}`);
  return [tsToNs(ts).toString(), timestampText(ts)];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** JSON with object keys sorted at every level, so equal queries have one text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

function hashInts(text: string): [number, number] {
  const h = createHash("sha256").update(text).digest();
  // Non-negative, so pg_locks' oid columns (unsigned) compare equal without sign games.
  return [h.readInt32BE(0) & 0x7fffffff, h.readInt32BE(4) & 0x7fffffff];
}

function lockKey(t: PostgresTarget, schema: string, id: SyncIdentity): [number, number] {
  return hashInts(`clarifai-audit sync\0${t.database}\0${schema}.${t.table}\0${id.userId}\0${id.endpoint}`);
}

function migrationLockKey(schema: string): [number, number] {
  return hashInts(`clarifai-audit migrate\0${schema}`);
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Exact nanoseconds since the epoch as COPY text; `\N` (NULL) outside BIGINT (before 1677, after 2262). */
export function timestampNsText(ts: Timestamp): string {
  const ns = BigInt(ts.seconds) * 1_000_000_000n + BigInt(ts.nanos);
  return ns < INT64_MIN || ns > INT64_MAX ? "\\N" : ns.toString();
}

/**
 * The TIMESTAMPTZ text of a timestamp, truncated to microseconds (PostgreSQL's precision, and
 * Clarifai's), printed with integer arithmetic: PostgreSQL parses it, no JS Date in between.
 */
export function timestampText(ts: Timestamp): string {
  return formatTimestamp({ seconds: ts.seconds, nanos: ts.nanos - (ts.nanos % 1000) });
}

/**
 * The `operation` field (3, an enum varint) of a serialized AuditLogEntry, read by walking the
 * top-level fields: decoding the whole entry for one number would cost more than the rest of the
 * row. The last occurrence wins, as in protobuf; absent is 0.
 */
export function operationOf(bytes: Uint8Array): number {
  let op = 0;
  let i = 0;
  const n = bytes.length;
  const varint = (): number => {
    let lo = 0;
    let shift = 0;
    let b: number;
    do {
      if (i >= n) throw new Error("truncated entry");
      b = bytes[i++];
      if (shift < 32) lo |= (b & 0x7f) << shift;
      shift += 7;
    } while (b & 0x80);
    return lo;
  };
  while (i < n) {
    const tag = varint() >>> 0;
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 0) {
      const v = varint();
      if (field === 3) op = v;
    } else if (wire === 2) {
      const len = varint() >>> 0;
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else throw new Error(`unexpected wire type ${wire}`);
  }
  return op;
}

// An odd run of backslashes before u0000 is an escaped NUL (an even run is escaped backslashes).
const NUL_ESCAPE = /(?<!\\)((?:\\\\)*)\\u0000/g;
const COPY_CHUNK = 1 << 20;

/**
 * The COPY text rows of a batch: tab-separated, backslashes doubled (JSON lines hold no raw tabs or
 * newlines). PostgreSQL's text and jsonb cannot hold U+0000, so an escaped NUL in an entry's JSON
 * is stored as U+FFFD (the entry key, computed from the original line, is unchanged).
 */
export function copyChunks(entries: readonly ExportEntry[]): Buffer[] {
  const chunks: Buffer[] = [];
  let parts: string[] = [];
  let size = 0;
  for (const e of entries) {
    let json = e.json();
    if (json.includes("\\")) {
      if (json.includes("\\u0000")) json = json.replace(NUL_ESCAPE, "$1\\ufffd");
      json = json.replaceAll("\\", "\\\\");
    }
    const op = operationOf(e.bytes);
    const line = `${e.key()}\t${timestampNsText(e.timestamp)}\t${timestampText(e.timestamp)}\t${op}\t${operationName(op)}\t${json}\n`;
    parts.push(line);
    size += line.length;
    if (size >= COPY_CHUNK) {
      chunks.push(Buffer.from(parts.join("")));
      parts = [];
      size = 0;
    }
  }
  if (parts.length > 0) chunks.push(Buffer.from(parts.join("")));
  return chunks;
}
