/**
 * The shape check behind most option and query validation: callers in plain JavaScript can pass
 * anything, and `typeof x === "object"` alone lets `null` and arrays through.
 */

/** Whether `value` is a non-null, non-array object (an options bag, a query, a target). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
