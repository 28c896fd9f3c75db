/**
 * The store's filter columns of an entry read straight from its JSON, for lines the REST JSON
 * encoder (packages/client/src/codec/restJsonEncoder.ts) wrote bytes for: the encoder has checked every value's
 * type and refused unknown keys and second oneof members, so the fields are read here without
 * checks. The same columns as {@link AuditLog.append} takes from the decoded entry
 * (test/emulator/data.test.ts compares the two stores).
 */
import { jsonTargetKey, type TargetKey } from "@clarifai-audit/client/internal/domain/targets.js";
import type { EntryColumns } from "./store.js";

type Json = Record<string, unknown>;

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

/** Reads the 64-bit varint at `b[p]` as a safe integer (negative ones take 10 bytes). */
function int64At(b: Uint8Array, p: number): [value: number, end: number] {
  let v = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    const x = b[p++] as number;
    v |= BigInt(x & 127) << shift;
    if (x < 128) break;
    shift += 7n;
  }
  return [Number(BigInt.asIntN(64, v)), p];
}

/** A varint below 2^49 at `b[p]` (the common timestamp seconds and every nanos value). */
function smallAt(b: Uint8Array, p: number): [value: number, end: number] {
  let v = 0;
  let m = 1;
  for (let i = 0; i < 7; i++) {
    const x = b[p++] as number;
    v += (x & 127) * m;
    if (x < 128) return [v, p];
    m *= 128;
  }
  return int64At(b, p - 7);
}

/**
 * Fills `c` with the columns of entry `json` whose encoding is `bytes[0, n)`: the timestamp from
 * the bytes (field 1, written first), the rest from the JSON. `c.targets` is reused.
 */
export function columnsFromJson(json: Json, bytes: Uint8Array, n: number, c: EntryColumns): void {
  c.seconds = 0;
  c.nanos = 0;
  if (n >= 2 && bytes[0] === 10) {
    const end = 2 + (bytes[1] as number);
    let p = 2;
    while (p < end) {
      const tag = bytes[p++];
      const [v, next] = smallAt(bytes, p);
      p = next;
      if (tag === 8) c.seconds = v;
      else c.nanos = v;
    }
  }
  const user = json.user as Json | undefined;
  c.userId = user === undefined ? "" : str(user.id);
  c.operation = (json.operation as number | undefined) ?? 0;
  c.success = json.success === true;
  c.sourceIp = str(json.source_ip);
  const targets = c.targets as (TargetKey | undefined)[];
  targets.length = 0;
  const list = json.targets as Json[] | undefined;
  if (list !== undefined) for (const t of list) targets.push(jsonTargetKey(t));
}
