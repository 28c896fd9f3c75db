/**
 * The tables of the PostgreSQL store: their names, their quoting and the migrations that create
 * them, plus the checks and the migration run at open (before anything is written).
 */

import { identityMismatch } from "@clarifai-audit/client/internal/export/identity.js";
import type pg from "pg";
import { type SyncIdentity, SyncUsageError } from "../store.js";
import { migrationLockKey } from "./locks.js";

/** Schema version of the tables this build writes (row `clarifai_audit_migrations.version`). */
export const POSTGRES_SCHEMA_VERSION = 3;
/** The table of sync state (one row per table, account, user id, endpoint and query). */
export const STATE_TABLE = "clarifai_audit_sync_state";
/** The table of schema versions (one row per entries table). */
export const MIGRATIONS_TABLE = "clarifai_audit_migrations";
/** The session temp table each commit COPYs its rows into. */
export const INCOMING = "clarifai_audit_incoming";

/** A double-quoted identifier (names are checked when the URL is parsed). */
export const q = (ident: string) => `"${ident}"`;

/** What each migration runs, in order: entry i brings a table from version i to i + 1. */
export const MIGRATIONS: ((n: Names) => string[])[] = [
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
  // 2: the exact time of every entry. timestamptz keeps microseconds and timestamp_ns is NULL
  // outside BIGINT's years (1677-2262), so an entry there had its nanoseconds only in `entry`.
  // Collation C: the text orders as the instants do whatever the database collation. Existing
  // rows: the second from "timestamp" (floored to the microsecond), the nanoseconds from
  // timestamp_ns, else from the entry's own RFC 3339 text (an entry without one has timestamp_ns 0).
  (n) => [
    `ALTER TABLE ${n.table} ADD COLUMN timestamp_text text COLLATE "C"`,
    `UPDATE ${n.table} SET timestamp_text = to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') || '.' ||
      CASE WHEN timestamp_ns IS NOT NULL THEN lpad(((timestamp_ns % 1000000000 + 1000000000) % 1000000000)::text, 9, '0')
        ELSE rpad(coalesce(substring(entry->>'timestamp' from '\\.([0-9]+)Z$'), ''), 9, '0') END || 'Z'`,
    `ALTER TABLE ${n.table} ALTER COLUMN timestamp_text SET NOT NULL`,
  ],
  // 3: many accounts in one table (the collector). `account` leads the entries' key: an entry two
  // accounts both see (an org's log and a member's) is kept once per account. Existing rows and
  // state rows are account '' (what `sync --dest` without an account keeps writing). The state
  // table is shared by every entries table of the schema, so its changes are guarded (a second
  // table's migration finds them made): `account` in its key, `fence` (the greatest fencing token
  // that claimed the row, NULL: never fenced) and `state` NULL (a row claimed by a fenced store
  // before its first commit). Every step is guarded, so a table brought back to an older version
  // by hand (as tests do) migrates again.
  (n) => [
    `ALTER TABLE ${n.table} ADD COLUMN IF NOT EXISTS account text NOT NULL DEFAULT ''`,
    setPrimaryKey(n.table, ["account", "entry_key"]),
    `CREATE INDEX IF NOT EXISTS ${n.index("account")} ON ${n.table} (account, "timestamp")`,
    `ALTER TABLE ${n.state} ADD COLUMN IF NOT EXISTS account text NOT NULL DEFAULT ''`,
    `ALTER TABLE ${n.state} ADD COLUMN IF NOT EXISTS fence bigint`,
    `ALTER TABLE ${n.state} ALTER COLUMN state DROP NOT NULL`,
    setPrimaryKey(n.state, ["table_name", "account", "user_id", "endpoint", "query"]),
  ],
];

/**
 * SQL that makes `columns` the primary key of `table` unless it already is (whatever the old
 * constraint's name). Names are checked identifiers (see url.ts), so they can be spliced in.
 */
function setPrimaryKey(table: string, columns: string[]): string {
  const cols = columns.join(", ");
  return `DO $$
    DECLARE c text; d text;
    BEGIN
      SELECT conname, pg_get_constraintdef(oid) INTO c, d FROM pg_constraint
        WHERE conrelid = '${table}'::regclass AND contype = 'p';
      IF d IS DISTINCT FROM 'PRIMARY KEY (${cols})' THEN
        IF c IS NOT NULL THEN EXECUTE format('ALTER TABLE ${table} DROP CONSTRAINT %I', c); END IF;
        ALTER TABLE ${table} ADD PRIMARY KEY (${cols});
      END IF;
    END $$`;
}

/** The quoted, schema-qualified names of one entries table and the shared bookkeeping tables. */
export interface Names {
  schema: string;
  bare: string;
  table: string;
  state: string;
  migrations: string;
  index(what: string): string;
}

/** The {@link Names} of `table` in `schema`. */
export function names(schema: string, table: string): Names {
  return {
    schema,
    bare: table,
    table: `${q(schema)}.${q(table)}`,
    state: `${q(schema)}.${q(STATE_TABLE)}`,
    migrations: `${q(schema)}.${q(MIGRATIONS_TABLE)}`,
    index: (what) => q(`${table}_${what}_idx`),
  };
}

/** What the open-time checks and the migration need of the store's session. */
export interface SchemaSession {
  /** The session's client; throws a lost-connection error when it is gone. */
  live(): pg.Client;
  /** ROLLBACK if the session is still usable. */
  rollback(): Promise<boolean>;
  names: Names;
  /** The destination, for messages (no password). */
  description: string;
  /** The schema the URL names, if any (then it is created when missing). */
  explicitSchema: string | undefined;
}

/**
 * Refusals that must come before anything is written. Another log (user id, endpoint) may share
 * the table under another account, not under `account`.
 */
export async function inspectTables(
  session: SchemaSession,
  id: SyncIdentity,
  account: string,
): Promise<void> {
  const c = session.live();
  const n = session.names;
  const r = await c.query<{ t: string | null; s: string | null }>(
    "SELECT to_regclass($1)::text AS t, to_regclass($2)::text AS s",
    [n.table, n.state],
  );
  const { t, s } = r.rows[0] ?? { t: null, s: null };
  const version = await schemaVersion(session);
  if (version !== undefined && version > POSTGRES_SCHEMA_VERSION) {
    throw new SyncUsageError(
      `${session.description}: the table is at schema version ${version}, newer than this clarifai-audit knows ` +
        `(${POSTGRES_SCHEMA_VERSION}): upgrade clarifai-audit`,
    );
  }
  if (t && version === undefined) {
    throw new SyncUsageError(
      `${session.description}: table ${n.schema}.${n.bare} exists but was not created by clarifai-audit ` +
        `(no row in ${MIGRATIONS_TABLE}): choose another table with ?table=… or drop it`,
    );
  }
  // Before migration 3 (of this or another table of the schema) every state row is account ''.
  const accounts = s ? await hasColumn(c, n.state, "account") : false;
  if (s && (accounts || account === "")) {
    const other = await c.query<{ user_id: string; endpoint: string }>(
      `SELECT user_id, endpoint FROM ${n.state} WHERE table_name = $1 AND (user_id <> $2 OR endpoint <> $3)
       ${accounts ? "AND account = $4" : ""} LIMIT 1`,
      [n.bare, id.userId, id.endpoint, ...(accounts ? [account] : [])],
    );
    const o = other.rows[0];
    if (o) {
      throw new SyncUsageError(
        identityMismatch({
          place: account === "" ? session.description : `${session.description} (account ${account})`,
          held: { userId: o.user_id, endpoint: o.endpoint },
          wanted: { userId: id.userId, endpoint: id.endpoint },
          reader: "this sync",
          remedy:
            account === ""
              ? "sync each log into its own table (?table=…)"
              : "give each log its own account id, or its own table",
          // Rows of other filters share a table; only the log must be the same.
          whole: false,
        }),
      );
    }
  }
}

/** Whether `table` (quoted, schema-qualified) has a column `column`. */
async function hasColumn(c: pg.Client, table: string, column: string): Promise<boolean> {
  const r = await c.query<{ has: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2
       AND NOT attisdropped) AS has`,
    [table, column],
  );
  return r.rows[0]?.has === true;
}

/** The schema version of the entries table (none: not created by clarifai-audit, or not at all). */
export async function schemaVersion(session: SchemaSession): Promise<number | undefined> {
  const n = session.names;
  const m = await session
    .live()
    .query<{ m: string | null }>("SELECT to_regclass($1)::text AS m", [n.migrations]);
  if (!m.rows[0]?.m) return undefined;
  const r = await session
    .live()
    .query<{ version: number }>(`SELECT version FROM ${n.migrations} WHERE table_name = $1`, [n.bare]);
  return r.rows[0]?.version;
}

/**
 * Brings the tables to {@link POSTGRES_SCHEMA_VERSION} in one transaction, under a transaction
 * lock so two first syncs of different logs cannot both create the shared tables. Runs no DDL
 * when already current, so a role with only INSERT/UPDATE rights can sync an existing table.
 */
export async function migrate(session: SchemaSession): Promise<void> {
  if ((await schemaVersion(session)) === POSTGRES_SCHEMA_VERSION) return;
  const c = session.live();
  const n = session.names;
  await c.query("BEGIN");
  try {
    await c.query("SELECT pg_advisory_xact_lock($1::int4, $2::int4)", migrationLockKey(n.schema));
    if (session.explicitSchema) {
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
      throw new SyncUsageError(`${session.description}: newer schema version ${from}`);
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
    await session.rollback();
    throw err;
  }
}
