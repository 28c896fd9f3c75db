/**
 * The one reader of state files (lake state, export manifest, tail and watch checkpoints) and of
 * state read back from a database (the PostgreSQL state row): the text is read with a size bound,
 * parsed, checked against the file's JSON Schema (ajv, compiled once per schema on first use) and
 * then by the file's own semantic check. Whatever is wrong becomes one {@link StateFileError}
 * naming the file, the field (a JSON pointer) and what is wrong, before anything acts on the data.
 *
 * ajv is loaded on the first read of a state file that exists, not at start-up: `export` and
 * `tail` without a state file never load it.
 */
import type { ErrorObject, ValidateFunction } from "ajv";
import { ClarifaiAuditError } from "../domain/errors.js";
import { MAX_TIMESTAMP_SECONDS, MIN_TIMESTAMP_SECONDS } from "../domain/time.js";
import { parseTs } from "../domain/timestamps.js";
import { readRegularFile } from "./regularFile.js";

export { readRegularFile } from "./regularFile.js";

/** Largest state file read (bytes), unless a spec says otherwise: larger ones are refused. */
export const MAX_STATE_BYTES = 64 * 1024 * 1024;
/** Deepest nesting accepted: nothing this project writes comes close, and recursion stays bounded. */
const MAX_DEPTH = 64;

/** A state file that cannot be used: `message` is one line naming the file, the field and the problem. */
export class StateFileError extends ClarifaiAuditError {
  override name = "StateFileError";
  constructor(
    /** The file (or row) read. */
    readonly source: string,
    /** JSON pointer of the field at fault ("" for the document itself, undefined when not a field). */
    readonly field: string | undefined,
    /** What is wrong. */
    readonly problem: string,
  ) {
    super(`${source}: ${field === undefined ? "" : `field ${field === "" ? "/" : field} `}${problem}`);
  }
}

/** How one kind of state is checked. */
export interface StateSpec<T> {
  /** Draft-07 JSON Schema (ajv's default draft); `description` of a pattern says what is expected. */
  schema: object;
  /**
   * Checked before the schema, so that a state of another kind or of a newer version is named as
   * such rather than as a list of fields that differ.
   */
  kind?: { field: string; value: string };
  version?: { field: string; reads: number; what: string };
  /** What the schema cannot say; returns [pointer, problem] of the first fault. */
  check?: (data: T) => [string, string] | undefined | Promise<[string, string] | undefined>;
  /** Size bound in bytes (default {@link MAX_STATE_BYTES}). */
  maxBytes?: number;
}

type AjvInstance = import("ajv").Ajv;
let ajv: AjvInstance | undefined;
const compiled = new WeakMap<object, ValidateFunction>();

const NS_MIN = BigInt(MIN_TIMESTAMP_SECONDS) * 1_000_000_000n;
const NS_MAX = (BigInt(MAX_TIMESTAMP_SECONDS) + 1n) * 1_000_000_000n - 1n;

/** Formats the schemas use, with what a value of each must be (for messages). */
const FORMATS: Record<string, { test: (s: string) => boolean; expected: string }> = {
  timestamp: {
    test: (s) => s.length <= 40 && parseTs(s) !== undefined,
    expected: "an RFC 3339 timestamp (0001-01-01 .. 9999-12-31)",
  },
  "timestamp-or-empty": {
    test: (s) => s === "" || (s.length <= 40 && parseTs(s) !== undefined),
    expected: "an RFC 3339 timestamp, or empty",
  },
  // Not int64: the whole protobuf range (a lake file of year-0001 entries has a minNs of -6.2e19).
  ns: {
    test: (s) => /^-?[0-9]{1,21}$/.test(s) && BigInt(s) >= NS_MIN && BigInt(s) <= NS_MAX,
    expected: "an integer of nanoseconds since 1970 as a string (years 0001 .. 9999)",
  },
  "json-line": {
    test: (s) => {
      try {
        const v: unknown = JSON.parse(s);
        return typeof v === "object" && v !== null && !Array.isArray(v) && !s.includes("\n");
      } catch {
        return false;
      }
    },
    expected: "one line holding a JSON object (an audit entry)",
  },
};

async function validator(schema: object): Promise<ValidateFunction> {
  let v = compiled.get(schema);
  if (v !== undefined) return v;
  if (ajv === undefined) {
    // ajv is CommonJS: bundled, a dynamic import gives its exports as `default`.
    const mod = (await import("ajv")) as typeof import("ajv") & { default?: typeof import("ajv") };
    const Ajv = mod.Ajv ?? mod.default?.Ajv;
    ajv = new Ajv({ allErrors: false, strict: true, allowUnionTypes: true, verbose: true });
    for (const [name, f] of Object.entries(FORMATS))
      ajv.addFormat(name, { type: "string", validate: f.test });
  }
  v = ajv.compile(schema);
  compiled.set(schema, v);
  return v;
}

/** A value for a message: short, and with no control character reaching the terminal. */
export function shown(value: unknown): string {
  let text: string;
  if (value === undefined) text = "missing";
  else if (value === null) text = "null";
  else if (Array.isArray(value)) text = "an array";
  else if (typeof value === "object") text = "an object";
  else text = JSON.stringify(value) ?? String(value);
  if (text.length > 60) text = `${text.slice(0, 57)}...`;
  return escapeControls(text);
}

/** `text` with control characters (C0, DEL, C1) as `\uXXXX`: what a state file says reaches a terminal. */
export function escapeControls(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function typeOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "number" && !Number.isInteger(value)) return `a number (${shown(value)})`;
  return `${typeof value === "number" ? "a number" : typeof value === "string" ? "a string" : `a ${typeof value}`} (${shown(value)})`;
}

const TYPE_NAMES: Record<string, string> = {
  object: "an object",
  array: "an array",
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  null: "null",
};

/** [pointer, problem] for one ajv error. */
function describe(e: ErrorObject): [string, string] {
  const p = e.params as Record<string, unknown>;
  const parent = e.parentSchema as { description?: string } | undefined;
  const expected = parent?.description;
  switch (e.keyword) {
    case "required":
      return [`${e.instancePath}/${String(p.missingProperty)}`, "is missing"];
    case "additionalProperties":
      return [`${e.instancePath}/${String(p.additionalProperty)}`, "is not a field of this file"];
    case "type": {
      const t = String(p.type)
        .split(",")
        .map((n) => TYPE_NAMES[n] ?? n)
        .join(" or ");
      return [e.instancePath, `is ${typeOf(e.data)}, expected ${expected ?? t}`];
    }
    case "const":
      return [e.instancePath, `is ${shown(e.data)}, expected ${shown(p.allowedValue)}`];
    case "enum":
      return [
        e.instancePath,
        `is ${shown(e.data)}, expected one of ${(p.allowedValues as unknown[]).map(shown).join(", ")}`,
      ];
    case "minimum":
    case "maximum":
      return [
        e.instancePath,
        `is ${shown(e.data)}, expected ${expected ?? `a value ${String(p.comparison)} ${String(p.limit)}`}`,
      ];
    case "format":
      return [
        e.instancePath,
        `is ${shown(e.data)}, expected ${FORMATS[String(p.format)]?.expected ?? p.format}`,
      ];
    case "pattern":
      return [
        e.instancePath,
        `is ${shown(e.data)}, expected ${expected ?? `a string matching ${String(p.pattern)}`}`,
      ];
    case "maxLength":
      return [e.instancePath, `is longer than ${String(p.limit)} characters`];
    case "minLength":
      return [e.instancePath, `is shorter than ${String(p.limit)} characters`];
    case "minItems":
    case "maxItems":
    case "additionalItems":
      return [
        e.instancePath,
        `has ${(e.data as unknown[]).length} items, expected ${expected ?? `${e.keyword === "minItems" ? "at least" : "at most"} ${String(p.limit)}`}`,
      ];
    default:
      return [e.instancePath, e.message ?? "is not valid"];
  }
}

/** Pointer of the first value nested deeper than {@link MAX_DEPTH}, or undefined. */
function tooDeep(value: unknown, pointer: string, depth: number): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  if (depth > MAX_DEPTH) return pointer;
  for (const [k, v] of Object.entries(value)) {
    const at = tooDeep(v, `${pointer}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`, depth + 1);
    if (at !== undefined) return at;
  }
  return undefined;
}

/**
 * Checks already-parsed state (a state file's JSON, a database's jsonb) against `spec`.
 * @throws StateFileError naming `source` and the first field at fault.
 */
export async function validateState<T>(data: unknown, spec: StateSpec<T>, source: string): Promise<T> {
  const fail = (pointer: string | undefined, problem: string) => new StateFileError(source, pointer, problem);
  const deep = tooDeep(data, "", 0);
  if (deep !== undefined) throw fail(deep, `is nested more than ${MAX_DEPTH} levels deep`);
  if (spec.kind !== undefined || spec.version !== undefined) {
    if (typeof data !== "object" || data === null || Array.isArray(data))
      throw fail("", `is ${typeOf(data)}, expected an object`);
    const d = data as Record<string, unknown>;
    if (spec.kind !== undefined && d[spec.kind.field] !== spec.kind.value)
      throw fail(
        `/${spec.kind.field}`,
        `is ${shown(d[spec.kind.field])}, expected ${shown(spec.kind.value)}: not ${spec.version?.what ?? "this kind of state"}`,
      );
    if (spec.version !== undefined) {
      const { field, reads, what } = spec.version;
      const v = d[field];
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1)
        throw fail(`/${field}`, `is ${typeOf(v)}, expected an integer from 1 to ${reads}`);
      if (v > reads)
        throw fail(
          `/${field}`,
          `is ${v}: ${what} of a newer clarifai-audit (this one reads version ${reads}; upgrade clarifai-audit)`,
        );
    }
  }
  const validate = await validator(spec.schema);
  if (!validate(data)) {
    const errors = validate.errors ?? [];
    const [pointer, problem] = describe(errors[0] as ErrorObject);
    throw fail(pointer, problem);
  }
  const bad = await spec.check?.(data as T);
  if (bad !== undefined) throw fail(bad[0], bad[1]);
  return data as T;
}

/**
 * Reads the state file at `path`: undefined when there is none, else its validated content.
 * Only a regular file is read (a FIFO is never waited on), at most `spec.maxBytes` of it.
 * @throws StateFileError for anything else: unreadable, not a regular file, too large, not UTF-8,
 * not JSON, or failing the schema or the spec's check.
 */
export async function readValidatedState<T>(path: string, spec: StateSpec<T>): Promise<T | undefined> {
  const fail = (problem: string) => new StateFileError(path, undefined, problem);
  const bytes = await readRegularFile(path, spec.maxBytes ?? MAX_STATE_BYTES, fail);
  if (bytes === undefined) return undefined;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw fail("is not UTF-8 text: it is not a state file of this tool");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // The parser's message quotes the text: keep only where it stopped.
    const where = /position \d+/.exec((error as Error).message)?.[0];
    throw fail(`is not valid JSON${where ? ` (at ${where})` : ""}`);
  }
  return validateState(parsed, spec, path);
}
