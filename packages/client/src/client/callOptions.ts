/** The options of one call of an `AuditLogClient`, and their checks. */
import { isPlainObject } from "../domain/plainObject.js";
import { ValidationError } from "../errors.js";
import { validateTimeoutMs } from "./config.js";
import { isMetadataLike, type MetadataLike, type MetadataValue } from "./transport/metadata.js";

/** Options of one call. */
export interface CallOptions {
  /** Aborts the call (and any retry backoff) at once; the call rejects with a `CanceledError`. */
  signal?: AbortSignal;
  /** Overall deadline of this search (all attempts), in ms; overrides the client's `timeoutMs`. */
  timeoutMs?: number;
  /**
   * Extra request metadata (`authorization` is the client's and cannot be overridden): an object of
   * header names to values (a Buffer for names ending in `-bin`), or any object with `getMap()`,
   * such as a grpc-js `Metadata` (every value of a repeated key is sent when it has `toJSON()`).
   */
  metadata?: Record<string, MetadataValue> | MetadataLike;
  /**
   * This call's place among calls waiting for their turn in the request budget: lower goes first
   * (default 0; equal ones in arrival order). The exporter gives each page its place in the window.
   */
  priority?: number;
}

const CALL_OPTION_KEYS: ReadonlySet<string> = new Set(["signal", "timeoutMs", "metadata", "priority"]);

/** Checks one call's options before anything is sent; throws a `ValidationError` naming the field. */
export function checkCallOptions(options: CallOptions): void {
  if (typeof options !== "object" || options === null) {
    throw new ValidationError(
      "options",
      options,
      "{ signal?, timeoutMs?, metadata?, priority? }",
      "not an object",
    );
  }
  for (const key of Object.keys(options)) {
    if (!CALL_OPTION_KEYS.has(key)) {
      throw new ValidationError(
        key,
        (options as Record<string, unknown>)[key],
        "signal, timeoutMs, metadata, priority",
        "unknown call option",
      );
    }
  }
  // Checked here, not when used: a bad signal would otherwise throw only after the request left.
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new ValidationError("signal", options.signal, "an AbortSignal", "not an AbortSignal");
  }
  const md = options.metadata as unknown;
  if (md !== undefined && !isMetadataLike(md) && !isPlainObject(md)) {
    throw new ValidationError(
      "metadata",
      md,
      "an object of header names to string values, or an object with getMap() such as a grpc-js Metadata",
      "not metadata",
    );
  }
  if (options.timeoutMs !== undefined) validateTimeoutMs(options.timeoutMs);
  if (options.priority !== undefined && !Number.isFinite(options.priority)) {
    throw new ValidationError("priority", options.priority, "a finite number", "invalid priority");
  }
}
