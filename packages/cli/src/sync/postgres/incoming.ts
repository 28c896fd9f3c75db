/**
 * A commit's rows on their way in: the session's temp table, the COPY of a batch into it, and the
 * one INSERT … SELECT that moves them into the entries table under the store's account (the
 * columns extracted from the JSON by PostgreSQL's own jsonb operators), skipping the entries the
 * account holds already.
 */
import type pg from "pg";
import { CopyIn } from "./copy.js";
import { INCOMING } from "./schema.js";

/** Creates the session's temp table (emptied at every commit) unless it exists. */
export async function createIncoming(c: pg.Client): Promise<void> {
  await c.query(
    `CREATE TEMP TABLE IF NOT EXISTS ${INCOMING} (entry_key text, ts timestamptz, timestamp_ns bigint,
       timestamp_text text, operation integer, operation_name text, entry jsonb) ON COMMIT DELETE ROWS`,
  );
}

/** In the commit's transaction: COPYs the batch's COPY text (see rows.ts) into the temp table. */
export async function copyIncoming(c: pg.Client, chunks: readonly Buffer[]): Promise<void> {
  const copy = new CopyIn(
    `COPY pg_temp.${INCOMING} (entry_key, timestamp_ns, ts, timestamp_text, operation, operation_name, entry) FROM STDIN`,
    chunks,
  );
  c.query(copy);
  await copy.done;
}

/**
 * In the commit's transaction: inserts the temp table's entries that `account` does not hold into
 * `table`; returns how many, and how many of those are dated at or before `bound` (late).
 */
export async function insertIncoming(
  c: pg.Client,
  table: string,
  account: string,
  bound: [string] | [null],
): Promise<{ inserted: number; late: number }> {
  const r = await c.query<{ inserted: number; late: number }>(
    `WITH ins AS (INSERT INTO ${table} (account, entry_key, "timestamp", timestamp_ns, timestamp_text, operation,
       operation_name, user_id, description, targets, details, success, req_id, source_ip, entry)
     SELECT $2, entry_key, ts, timestamp_ns, timestamp_text, operation, operation_name,
       coalesce(entry->'user'->>'id', ''), coalesce(entry->>'description', ''),
       coalesce(entry->'targets', '[]'::jsonb), coalesce(entry->'details', '[]'::jsonb),
       coalesce((entry->>'success')::boolean, false), coalesce(entry->>'req_id', ''),
       coalesce(entry->>'source_ip', ''), entry
     FROM pg_temp.${INCOMING}
     ON CONFLICT (account, entry_key) DO NOTHING
     RETURNING timestamp_text)
     SELECT count(*)::int AS inserted,
       count(*) FILTER (WHERE timestamp_text <= $1::text)::int AS late
     FROM ins`,
    [...bound, account],
  );
  return { inserted: r.rows[0]?.inserted ?? 0, late: r.rows[0]?.late ?? 0 };
}
