/**
 * The identity of a resumable read of a log: which log (the endpoint and the user id), plus what the
 * reader says makes its position meaningful (filters, page size, window, lookback). Stored with a
 * checkpoint, cursor or destination state; a resume refuses state of another identity, since another
 * log's position would silently skip or repeat entries. One function for the export engine, `sync`,
 * `tail` and `watch`, so every identity names the log alike.
 */
import { canonicalJson } from "../domain/canonicalJson.js";
import { formatDurationMs } from "../domain/duration.js";
import { operationName } from "../domain/operations.js";
import { isPlainObject } from "../domain/plainObject.js";
import { parseTarget, type TargetInput, targetToText } from "../domain/targets.js";

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

/** One field two identities differ in: its name (the innermost key) and both values (undefined: absent). */
export interface IdentityDifference {
  readonly field: string;
  readonly held: unknown;
  readonly wanted: unknown;
}

/**
 * The fields in which `held` and `wanted` differ, in `held`'s key order then `wanted`'s. Nested
 * objects (an identity's filters) are compared field by field; anything else (a list of targets, a
 * time) as a whole, by canonical JSON. A null is the same as an absent field.
 */
export function identityDifferences(held: unknown, wanted: unknown): IdentityDifference[] {
  const out: IdentityDifference[] = [];
  const walk = (a: unknown, b: unknown, field: string): void => {
    const x = a ?? undefined;
    const y = b ?? undefined;
    if ((isPlainObject(x) || x === undefined) && (isPlainObject(y) || y === undefined) && x !== y) {
      const keys = new Set([...Object.keys(x ?? {}), ...Object.keys(y ?? {})]);
      if (keys.size > 0 || field === "") {
        for (const k of keys) walk(x?.[k], y?.[k], k);
        return;
      }
    }
    if (canonicalJson(x) !== canonicalJson(y)) out.push({ field, held: x, wanted: y });
  };
  walk(held, wanted, "");
  return out;
}

/** A value of an identity field as the user wrote it: operations by name, targets as printed, durations. */
function valueText(field: string, value: unknown): string {
  const one = (v: unknown): string => {
    if (field === "operations" && typeof v === "number") return operationName(v);
    if (field === "targets" && typeof v === "object" && v !== null) {
      try {
        return targetToText(parseTarget(v as TargetInput, field));
      } catch {
        return canonicalJson(v);
      }
    }
    if (field.endsWith("Ms") && typeof v === "number") return formatDurationMs(v);
    return typeof v === "string" ? v : canonicalJson(v);
  };
  if (Array.isArray(value)) return value.length === 0 ? "(none)" : value.map(one).join(", ");
  return one(value);
}

function fieldsText(diffs: readonly IdentityDifference[], side: "held" | "wanted"): string {
  return diffs
    .map((d) => {
      const v = d[side];
      // The outcome filter reads as what it selects: the CLI sets it with two flags, the library with a boolean.
      if (d.field === "success")
        return v === true ? "successes only" : v === false ? "failures only" : "successes and failures";
      return v === undefined ? `no \`${d.field}\`` : `\`${d.field}\` ${valueText(d.field, v)}`;
    })
    .join(", ");
}

/** What {@link identityMismatch} says. */
export interface IdentityMismatch {
  /** The state that holds `held`: a file, a folder, a table. */
  readonly place: string;
  readonly held: object;
  readonly wanted: object;
  /** Who asks for `wanted`: "this sync", "this export". */
  readonly reader: string;
  /** What to do instead. */
  readonly remedy: string;
  /** False when only some fields were compared (then "the other fields match" is not said). */
  readonly whole?: boolean;
}

/**
 * The one sentence every resume refusal uses, naming each field that differs with both values (names
 * in backticks, library option names: the CLI turns them into its flags):
 * "PLACE holds the log of user U at E with `operations` MODEL_CREATE; this sync asks for `operations`
 * MODEL_DELETE (the other fields match); REMEDY".
 */
export function identityMismatch(m: IdentityMismatch): string {
  const diffs = identityDifferences(m.held, m.wanted);
  const scope = diffs.filter((d) => d.field !== "userId" && d.field !== "endpoint");
  const { userId, endpoint } = m.held as Partial<LogAddress>;
  const log =
    typeof userId === "string" ? ` holds the log of user ${userId} at ${String(endpoint)}` : " was written";
  const held = scope.length > 0 ? ` with ${fieldsText(scope, "held")}` : "";
  const asks =
    diffs.length > 0
      ? `${fieldsText(diffs, "wanted")}${m.whole === false ? "" : " (the other fields match)"}`
      : "the same fields";
  return `${m.place}${log}${held}; ${m.reader} asks for ${asks}; ${m.remedy}`;
}

/**
 * {@link identityMismatch} for identities kept as JSON text (the tail and watch checkpoints' `query`);
 * a text that is not a JSON object is shown whole.
 */
export function identityTextMismatch(
  m: Omit<IdentityMismatch, "held" | "wanted"> & { held: string; wanted: string },
): string {
  const object = (text: string): object | undefined => {
    try {
      const value: unknown = JSON.parse(text);
      return isPlainObject(value) ? value : undefined;
    } catch {
      return undefined;
    }
  };
  const held = object(m.held);
  const wanted = object(m.wanted);
  if (held === undefined || wanted === undefined)
    return `${m.place} was written for another query (${m.held}); ${m.remedy}`;
  return identityMismatch({ ...m, held, wanted });
}
