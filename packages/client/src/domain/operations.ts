/**
 * Audit-log operations (`EventType`): names, codes and suggestions for typos.
 */
import { EventType } from "../../generated/proto/clarifai/api/resources.js";
import { ValidationError } from "./errors.js";

/** An operation filter: a name (`"MODEL_CREATE"`), a code (`300`) or an `EventType` value. */
export type OperationInput = string | number | EventType;

/** Every real operation, name → code (without `EVENT_TYPE_NOT_SET` and `UNRECOGNIZED`). */
export const OPERATIONS: ReadonlyMap<string, number> = new Map(
  Object.entries(EventType).filter((e): e is [string, number] => typeof e[1] === "number" && e[1] > 0),
);
const NAME_BY_CODE = new Map<number, string>([...OPERATIONS].map(([name, code]) => [code, name]));

/** Name of an operation code, e.g. `MODEL_CREATE`; codes newer than these protos print as digits. */
export function operationName(code: number): string {
  if (code === EventType.EVENT_TYPE_NOT_SET) return "EVENT_TYPE_NOT_SET";
  return NAME_BY_CODE.get(code) ?? String(code);
}

/** Levenshtein edit distance (two-row dynamic programming). */
export function levenshtein(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** The `limit` known names closest to `input`, nearest first (ties in alphabetical order). */
export function closestNames(input: string, names: Iterable<string>, limit = 3): string[] {
  const needle = input.toUpperCase();
  return [...names]
    .map((name) => ({ name, d: levenshtein(needle, name) }))
    .sort((x, y) => x.d - y.d || (x.name < y.name ? -1 : 1))
    .slice(0, limit)
    .map((x) => x.name);
}

const ALLOWED = 'an EventType name like "MODEL_CREATE", its code like 300, or an EventType value';

/**
 * Resolves one operation filter to its `EventType` code.
 * Names are case-insensitive (`model_create`, `model-create`); numeric strings are codes.
 * @throws ValidationError for unknown names or codes, with the closest names as suggestions.
 */
export function parseOperation(input: OperationInput, field: string): EventType {
  if (typeof input === "number" || (typeof input === "string" && /^\d+$/.test(input.trim()))) {
    const code = Number(input);
    if (code === EventType.EVENT_TYPE_NOT_SET) {
      throw new ValidationError(
        field,
        input,
        ALLOWED,
        "EVENT_TYPE_NOT_SET is not a filter; leave operations empty to match every operation",
      );
    }
    if (NAME_BY_CODE.has(code)) return code as EventType;
    // Codes are grouped by resource (300s models, 400s workflows…): the nearest ones are the hint.
    const hint = [...NAME_BY_CODE]
      .sort(([a], [b]) => Math.abs(a - code) - Math.abs(b - code) || a - b)
      .slice(0, 3)
      .map(([c, name]) => `${name} (${c})`)
      .join(", ");
    throw new ValidationError(field, input, ALLOWED, `unknown operation code; did you mean ${hint}?`);
  }
  if (typeof input === "string") {
    const name = input.trim().toUpperCase().replace(/[-\s]/g, "_");
    const code = OPERATIONS.get(name);
    if (code !== undefined) return code as EventType;
    if (name === "EVENT_TYPE_NOT_SET") {
      throw new ValidationError(
        field,
        input,
        ALLOWED,
        "EVENT_TYPE_NOT_SET is not a filter; leave operations empty to match every operation",
      );
    }
    const hint = closestNames(name, OPERATIONS.keys()).join(", ");
    throw new ValidationError(field, input, ALLOWED, `unknown operation; did you mean ${hint}?`);
  }
  throw new ValidationError(field, input, ALLOWED, "not an operation");
}
