/**
 * The stream layout's two bookkeeping objects and their checks.
 *
 * The state object (`_clarifai_audit/stream[-ACCOUNT].state.json`) is the commit point: the sync
 * state (cursor, high-water mark, totals), the entry keys of the reconcile window, and `seq`, the
 * commits it holds. The intent object (`…intent.json`) names the objects a commit is about to write,
 * before it writes them, with what each holds (its entries' keys, size, MD5): it is the commit in
 * progress when its `seq` is the state's plus one, and stale otherwise. Both are replaced whole, and
 * both are validated (schema and cross-field checks) before anything is written or deleted.
 */
import { COUNT, NS } from "@clarifai-audit/client/internal/state/schemaParts.js";
import { StateFileError, validateState } from "@clarifai-audit/client/internal/state/stateReader.js";
import type { EntryFormat } from "../destinationOptions.js";
import { encodedKeysProblem } from "../keyTable.js";
import { SYNC_STATE_SCHEMA, syncStateProblem } from "../stateSchema.js";
import { type SyncState, SyncUsageError } from "../store.js";

/** The version of both objects this code writes and reads. */
export const STREAM_SCHEMA_VERSION = 1;
/** Largest state object read: the keys of a busy reconcile window take 28 bytes an entry. */
export const MAX_STREAM_STATE_BYTES = 256 * 1024 * 1024;
/** Largest intent object read: one commit's keys. */
export const MAX_STREAM_INTENT_BYTES = 64 * 1024 * 1024;

/** The state object's content. */
export interface StreamStateObject {
  kind: "clarifai-audit-s3-stream";
  schemaVersion: number;
  /** The stream's id in object names (8 hex digits), chosen when the state object was created. */
  stream: string;
  /** What each line of the objects is. */
  format: EntryFormat;
  /** The layout writing the objects: absent for the stream layout. */
  layout?: "security-lake";
  /** The collector's account whose entries the stream holds; absent for `sync`. */
  account?: string;
  /** Commits (and recoveries) this state holds: the next intent's `seq` is one more. */
  seq: number;
  state: SyncState;
  /** Entry keys of the reconcile window (keyTable.ts encodeKeys). */
  keys: string;
  /**
   * The keys are complete from this instant (ns) on: the largest `forgetKeysBefore` applied. Absent:
   * nothing was ever forgotten (the keys cover the whole stream).
   */
  keysFrom?: string;
}

/** One object a commit writes. */
export interface IntentObject {
  /** The full object key. */
  key: string;
  bytes: number;
  /** Hex MD5 of the body. */
  md5: string;
  entries: number;
  late: number;
  /** Its entries' keys (keyTable.ts encodeKeys). */
  keys: string;
}

/** The intent object's content. */
export interface StreamIntentObject {
  kind: "clarifai-audit-s3-stream-intent";
  schemaVersion: number;
  stream: string;
  /** The state's `seq` this commit makes (the state's + 1 while it is in progress). */
  seq: number;
  objects: IntentObject[];
}

const STREAM_ID = { type: "string", pattern: "^[0-9a-f]{8}$", description: "8 hexadecimal digits" } as const;
/** Checked in the cross-field checks: a pattern over megabytes of base64 would strain the regex engine. */
const KEYS = { type: "string" } as const;

/** The JSON Schema of {@link StreamStateObject}. */
export const STREAM_STATE_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["kind", "schemaVersion", "stream", "format", "seq", "state", "keys"],
  properties: {
    kind: { const: "clarifai-audit-s3-stream" },
    schemaVersion: { type: "integer", minimum: 1, maximum: STREAM_SCHEMA_VERSION },
    stream: STREAM_ID,
    format: { enum: ["json", "ocsf"] },
    layout: { const: "security-lake" },
    account: { type: "string", minLength: 1, maxLength: 1024 },
    seq: COUNT,
    state: SYNC_STATE_SCHEMA,
    keys: KEYS,
    keysFrom: NS,
  },
} as const;

/** The JSON Schema of {@link StreamIntentObject}. */
export const STREAM_INTENT_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["kind", "schemaVersion", "stream", "seq", "objects"],
  properties: {
    kind: { const: "clarifai-audit-s3-stream-intent" },
    schemaVersion: { type: "integer", minimum: 1, maximum: STREAM_SCHEMA_VERSION },
    stream: STREAM_ID,
    seq: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
    objects: {
      type: "array",
      maxItems: 100_000,
      items: {
        type: "object",
        additionalProperties: false,
        required: ["key", "bytes", "md5", "entries", "late", "keys"],
        properties: {
          key: { type: "string", minLength: 1, maxLength: 1024 },
          bytes: COUNT,
          md5: { type: "string", pattern: "^[0-9a-f]{32}$", description: "32 hexadecimal digits" },
          entries: COUNT,
          late: COUNT,
          keys: KEYS,
        },
      },
    },
  },
} as const;

/** Parses a bookkeeping object's bytes (bounded by the caller's `get`) as JSON, or names what is wrong. */
function parseJson(body: Buffer, source: string): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    throw new StateFileError(source, undefined, "is not UTF-8 text: it is not a state object of this tool");
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    // The parser's message quotes the text: keep only where it stopped.
    const where = /position \d+/.exec((error as Error).message)?.[0];
    throw new StateFileError(source, undefined, `is not valid JSON${where ? ` (at ${where})` : ""}`);
  }
}

/** As a refusal of the destination: one line naming the object and the field, nothing changed. */
function refused(error: unknown): never {
  if (error instanceof StateFileError)
    throw new SyncUsageError(`${error.message}; nothing was changed (a damaged stream state object)`);
  throw error;
}

/** One of the stream's bookkeeping objects, as {@link validateState} checks it (kind, version, schema). */
interface BookkeepingSpec<T> {
  schema: object;
  kind: string;
  what: string;
  check: (value: T) => [string, string] | undefined;
  maxBytes?: number;
}

/** Parses and checks a bookkeeping object's bytes; a problem is a refusal of the destination. */
async function parseBookkeeping<T>(body: Buffer, source: string, spec: BookkeepingSpec<T>): Promise<T> {
  try {
    return await validateState<T>(
      parseJson(body, source),
      {
        schema: spec.schema,
        kind: { field: "kind", value: spec.kind },
        version: { field: "schemaVersion", reads: STREAM_SCHEMA_VERSION, what: spec.what },
        check: spec.check,
        ...(spec.maxBytes !== undefined ? { maxBytes: spec.maxBytes } : {}),
      },
      source,
    );
  } catch (error) {
    return refused(error);
  }
}

/** Checks a state object's bytes; `source` names it in messages (`s3://bucket/key`). */
export function parseStreamState(body: Buffer, source: string): Promise<StreamStateObject> {
  return parseBookkeeping<StreamStateObject>(body, source, {
    schema: STREAM_STATE_SCHEMA,
    kind: "clarifai-audit-s3-stream",
    what: "a clarifai-audit S3 stream state object",
    check: (s) => {
      const keys = encodedKeysProblem(s.keys);
      if (keys !== undefined) return ["/keys", keys];
      return syncStateProblem(s.state, "/state");
    },
  });
}

/** Checks an intent object's bytes; every object it names must be one of this stream's (`isOwnObject`). */
export function parseStreamIntent(
  body: Buffer,
  source: string,
  isOwnObject: (key: string) => boolean,
): Promise<StreamIntentObject> {
  return parseBookkeeping<StreamIntentObject>(body, source, {
    schema: STREAM_INTENT_SCHEMA,
    kind: "clarifai-audit-s3-stream-intent",
    what: "a clarifai-audit S3 stream intent object",
    check: (intent) => {
      const seen = new Set<string>();
      for (const [i, o] of intent.objects.entries()) {
        // Recovery reads these names: one outside this stream's objects is never looked at.
        if (!isOwnObject(o.key)) return [`/objects/${i}/key`, `is ${o.key}, not an object of this stream`];
        if (seen.has(o.key)) return [`/objects/${i}/key`, `lists ${o.key} a second time`];
        seen.add(o.key);
        if (o.late > o.entries)
          return [`/objects/${i}/late`, `is ${o.late}, more than its ${o.entries} entries`];
        const keys = encodedKeysProblem(o.keys);
        if (keys !== undefined) return [`/objects/${i}/keys`, keys];
      }
      return undefined;
    },
    maxBytes: MAX_STREAM_INTENT_BYTES,
  });
}

/** A bookkeeping object as its bytes. */
export function serialize(o: StreamStateObject | StreamIntentObject): Buffer {
  return Buffer.from(`${JSON.stringify(o)}\n`, "utf8");
}
