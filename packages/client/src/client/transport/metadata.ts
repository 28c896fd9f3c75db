/**
 * A call's request metadata: the caller's (a plain object, or any object with `getMap()` such as a
 * grpc-js `Metadata`) checked as gRPC allows it on the wire, and the client's `authorization`.
 */
import { REDACTED, redact } from "../../domain/redact.js";
import { ValidationError } from "../../errors.js";

/** A metadata value: a string, or a Buffer for keys ending in `-bin`. */
export type MetadataValue = string | Buffer;

/**
 * Metadata in the shape of grpc-js's `Metadata` (whose instances qualify): `getMap()` gives one
 * value a key; `toJSON()`, when present, every value of a repeated key.
 */
export interface MetadataLike {
  getMap(): Record<string, MetadataValue>;
  toJSON?(): Record<string, MetadataValue[]>;
}

/** Whether `value` is a {@link MetadataLike}. */
export function isMetadataLike(value: unknown): value is MetadataLike {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { getMap?: unknown }).getMap === "function"
  );
}

/** HTTP/2 headers as the transport sends them. */
export type RequestHeaders = Record<string, string | string[]>;

const ALLOWED =
  "keys of letters, digits, _ . - (sent lowercase); printable ASCII string values; Buffer values for keys ending in -bin";
const LEGAL_KEY = /^[0-9a-z_.-]+$/;
const LEGAL_VALUE = /^[ -~]*$/;
/** Connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2). */
const CONNECTION_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
]);

function entriesOf(extra: unknown): [string, unknown[]][] {
  if (isMetadataLike(extra)) {
    // toJSON keeps every value of a repeated key (getMap would keep only the first).
    const all = typeof extra.toJSON === "function" ? extra.toJSON() : undefined;
    if (typeof all === "object" && all !== null && Object.values(all).every(Array.isArray)) {
      return Object.entries(all);
    }
    return Object.entries(extra.getMap()).map(([k, v]) => [k, [v]]);
  }
  return Object.entries(extra as Record<string, unknown>).map(([k, v]) => [k, [v]]);
}

/**
 * The metadata headers of a call: the caller's `extra` and `authorization: Key <pat>`.
 * @throws ValidationError for an `authorization` key, or a key or value gRPC cannot carry.
 */
export function requestMetadata(extra: unknown, pat: string): RequestHeaders {
  const headers: RequestHeaders = {};
  for (const [givenKey, values] of extra === undefined ? [] : entriesOf(extra)) {
    const key = givenKey.toLowerCase();
    if (key === "authorization") {
      throw new ValidationError(
        "metadata.authorization",
        REDACTED,
        "any metadata key but authorization",
        "the client sets authorization from its PAT",
      );
    }
    const field = `metadata.${givenKey}`;
    const refuse = (value: unknown, problem: string): never => {
      throw new ValidationError(
        field,
        typeof value === "string" ? redact(value, pat) : Buffer.isBuffer(value) ? "(Buffer)" : value,
        ALLOWED,
        problem,
      );
    };
    if (!LEGAL_KEY.test(key)) refuse(values[0], "not a legal metadata key");
    if (CONNECTION_HEADERS.has(key)) refuse(values[0], "a connection header, which HTTP/2 forbids");
    const binary = key.endsWith("-bin");
    const sent: string[] = [];
    for (const value of values) {
      if (typeof value !== "string" && !Buffer.isBuffer(value)) {
        throw new ValidationError(field, value, "a string value", "not a string");
      }
      if (binary) {
        if (!Buffer.isBuffer(value)) refuse(value, "a -bin key takes a Buffer value");
        sent.push((value as Buffer).toString("base64"));
      } else {
        if (typeof value !== "string" || !LEGAL_VALUE.test(value)) {
          refuse(value, "not printable ASCII (a -bin key takes binary values)");
        }
        sent.push(value as string);
      }
    }
    const before = headers[key];
    const all = [...(before === undefined ? [] : Array.isArray(before) ? before : [before]), ...sent];
    headers[key] = all.length === 1 ? all[0] : all;
  }
  headers.authorization = `Key ${pat}`;
  return headers;
}
