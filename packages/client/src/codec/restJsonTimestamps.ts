/**
 * Strict timestamps in proto3 JSON input. The JSON mapping (src/codec/protoJson.ts, via
 * @bufbuild/protobuf) checks a Timestamp's shape with a regex and then converts it with
 * `Date.parse`, which rolls impossible dates over: "2025-02-30" becomes March 2 and "24:00:00" the
 * next day. Parsing JSON must refuse those (library callers, REST requests and data files of the
 * emulator) instead of silently yielding another instant, so every Timestamp field of a JSON object
 * is checked again with the exact civil-calendar parser of packages/client/src/domain/time.ts.
 */
import type { DescMessage } from "@bufbuild/protobuf";
import { ValidationError } from "../domain/errors.js";
import { parseTimestamp } from "../domain/time.js";

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function visit(desc: DescMessage, value: unknown, path: string): void {
  if (desc.typeName === "google.protobuf.Timestamp") {
    if (typeof value !== "string") return;
    try {
      parseTimestamp(value, path);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      throw new Error(`${path}: ${e.problem}: ${JSON.stringify(value)}`);
    }
    return;
  }
  // Other well-known types (Struct, Value, wrappers) carry no Timestamp fields.
  if (desc.typeName.startsWith("google.protobuf.") || !isObject(value)) return;
  for (const field of desc.fields) {
    const child = field.message;
    if (child === undefined) continue;
    for (const key of new Set([field.name, field.jsonName])) {
      const v = value[key];
      if (v === undefined || v === null) continue;
      const p = path === "" ? key : `${path}.${key}`;
      if (field.fieldKind === "list") {
        if (Array.isArray(v)) for (const [i, item] of v.entries()) visit(child, item, `${p}[${i}]`);
      } else if (field.fieldKind === "map") {
        if (isObject(v)) for (const [k, item] of Object.entries(v)) visit(child, item, `${p}.${k}`);
      } else {
        visit(child, v, p);
      }
    }
  }
}

/**
 * Checks every Timestamp string in `json`, a proto3 JSON object of message `desc` that the JSON
 * mapping already accepted.
 * @throws Error `path: reason: "value"` for an impossible date or time (e.g. `2025-02-30`).
 */
export function checkJsonTimestamps(desc: DescMessage, json: unknown): void {
  visit(desc, json, "");
}
