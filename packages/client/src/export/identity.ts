/**
 * The identity of a resumable read of a log: which log (the endpoint and the user id), plus what the
 * reader says makes its position meaningful (filters, page size, window, lookback). Stored with a
 * checkpoint, cursor or destination state; a resume refuses state of another identity, since another
 * log's position would silently skip or repeat entries. One function for the export engine, `sync`,
 * `tail` and `watch`, so every identity names the log alike.
 */

/** Which log a reader reads. */
export interface LogAddress {
  endpoint: string;
  userId: string;
}

/**
 * `parts` with the log's user id and endpoint after them (JSON key order: `tail` and `watch` compare
 * their identities as JSON text written in this order; the others compare canonical JSON).
 */
export function resumeIdentity<P extends object>(log: LogAddress, parts: P): P & LogAddress;
export function resumeIdentity<P extends object>(
  log: LogAddress | undefined,
  parts: P,
): P & Partial<LogAddress>;
export function resumeIdentity<P extends object>(
  log: LogAddress | undefined,
  parts: P,
): P & Partial<LogAddress> {
  return { ...parts, ...(log !== undefined ? { userId: log.userId, endpoint: log.endpoint } : {}) };
}
