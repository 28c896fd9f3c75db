/** The errors of the PostgreSQL store, mapped to one line each (never with the password). */

import { ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import { redact } from "@clarifai-audit/client/internal/domain/redact.js";
import { DestinationFencedError, SyncUsageError } from "../store.js";
import type { PostgresTarget } from "./url.js";

/** The state was changed by another writer under this run (it lost its lock): nothing was stored. */
export class SyncConflictError extends ClarifaiAuditError {
  override name = "SyncConflictError";
}

/** SQLSTATEs of a session that is gone. */
const CONNECTION_LOST = new Set(["57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004"]);
/** Node error codes of a server that cannot be reached. */
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

/** An error's message on one line, the password removed. */
export function pgMessage(err: unknown, t: PostgresTarget): string {
  const m = err instanceof Error ? err.message : String(err);
  return redact(m, t.password).replace(/\s*[\r\n]+\s*/g, " ");
}

/** One line for a failed connect: refusals (password, database) as {@link SyncUsageError}. */
export function connectError(err: unknown, t: PostgresTarget): Error {
  const code = (err as { code?: string }).code;
  const msg = pgMessage(err, t);
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
  return new Error(`cannot connect to ${t.description}: ${msg}`);
}

/** One line for any error of open/commit: refusals for bad rights, the rest as is (password removed). */
export function mapError(err: unknown, t: PostgresTarget): Error {
  if (
    err instanceof SyncUsageError ||
    err instanceof SyncConflictError ||
    err instanceof DestinationFencedError
  )
    return err;
  const code = (err as { code?: string }).code;
  const msg = pgMessage(err, t);
  if (code === "42501") {
    return new SyncUsageError(
      `${t.description}: user ${JSON.stringify(t.user)} lacks a right the sync needs (${msg}): ` +
        "grant CREATE on the schema for the first sync (it creates the tables), then SELECT, INSERT, UPDATE on them",
    );
  }
  if (code === "3F000" || code === "42P01") return new SyncUsageError(`${t.description}: ${msg}`);
  // A fenced commit's lock_timeout (./fence.ts): something other than a paused owner holds the row.
  if (code === "55P03")
    return new Error(`${t.description}: ${msg} (another session kept the sync state row locked)`);
  if (code && CONNECTION_LOST.has(code)) return new Error(`lost the connection to ${t.description}: ${msg}`);
  if (err instanceof Error && err.message === msg) return err;
  return new Error(msg);
}
