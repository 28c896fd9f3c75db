/** The advisory-lock keys of the PostgreSQL store: one per synced log, one per schema for migrations. */
import { createHash } from "node:crypto";
import type { SyncIdentity } from "../store.js";
import type { PostgresTarget } from "./url.js";

/** Two non-negative int4 keys from a SHA-256 of `text`. */
export function hashInts(text: string): [number, number] {
  const h = createHash("sha256").update(text).digest();
  // Non-negative, so pg_locks' oid columns (unsigned) compare equal without sign games.
  return [h.readInt32BE(0) & 0x7fffffff, h.readInt32BE(4) & 0x7fffffff];
}

/** The session lock of one sync: per database, table, user id and endpoint. */
export function lockKey(t: PostgresTarget, schema: string, id: SyncIdentity): [number, number] {
  return hashInts(`clarifai-audit sync\0${t.database}\0${schema}.${t.table}\0${id.userId}\0${id.endpoint}`);
}

/** The transaction lock of migrations in one schema. */
export function migrationLockKey(schema: string): [number, number] {
  return hashInts(`clarifai-audit migrate\0${schema}`);
}
