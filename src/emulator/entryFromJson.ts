/**
 * A data file's line → `AuditLogEntry`, fast. The reference is `auditLogEntryFromJson` (proto3 JSON
 * through @bufbuild/protobuf's reflective `fromJson`, binary, then ts-proto's decode): strict, with
 * exact errors, but most of a large load's time. Here a plan per message type, built once from the
 * descriptors, renames the keys and converts the values into a partial object that ts-proto's
 * `fromPartial` completes. The result is trusted only when printing it (src/codec/entryJson.ts, the
 * exporter's printer) gives back the very line read, so it is the entry the line says; anything
 * else (other spellings, enum names, maps, Struct, bad values) goes through the reference, whose
 * errors the caller reports.
 */
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { entryToJsonLine } from "../codec/index.js";
import { auditLogRegistry } from "../codec/registry.js";
import { parseTimestamp } from "../domain/time.js";

/** Thrown inside the fast path: hand the line to the reference. */
const FALLBACK = Symbol("fallback");

type Convert = (value: unknown) => unknown;
type Plan = Map<string, { local: string; convert: Convert }>;

const plans = new Map<string, Plan>();

const WRAPPERS = new Set([
  "google.protobuf.BoolValue",
  "google.protobuf.StringValue",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.FloatValue",
  "google.protobuf.DoubleValue",
]);

function fail(): never {
  throw FALLBACK;
}

function scalar(type: number): Convert {
  // ScalarType numbering (descriptor.proto): 9 string, 8 bool, 12 bytes, 1/2 double/float,
  // 3/4/6/16/18 the 64-bit kinds; everything else is a 32-bit integer.
  switch (type) {
    case 9:
      return (v) => (typeof v === "string" ? v : fail());
    case 8:
      return (v) => (typeof v === "boolean" ? v : fail());
    case 12:
      return (v) => (typeof v === "string" ? Buffer.from(v, "base64") : fail());
    case 3:
    case 4:
    case 6:
    case 16:
    case 18:
      return (v) => {
        const n = typeof v === "string" && /^-?\d+$/.test(v) ? Number(v) : v;
        return typeof n === "number" && Number.isSafeInteger(n) ? n : fail();
      };
    default:
      return (v) => (typeof v === "number" && Number.isFinite(v) ? v : fail());
  }
}

function messageConvert(desc: DescMessage): Convert {
  if (desc.typeName === "google.protobuf.Timestamp") {
    return (v) => {
      if (typeof v !== "string") fail();
      try {
        return parseTimestamp(v, "timestamp");
      } catch {
        return fail();
      }
    };
  }
  if (WRAPPERS.has(desc.typeName))
    return (v) => (typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? v : fail());
  if (desc.typeName.startsWith("google.protobuf.")) return fail;
  return (v) => convertMessage(desc, v);
}

function fieldConvert(field: DescField): Convert {
  switch (field.fieldKind) {
    case "scalar":
      return scalar(field.scalar);
    case "enum":
      return (v) => (typeof v === "number" && Number.isInteger(v) ? v : fail());
    case "message":
      return messageConvert(field.message);
    case "list": {
      const one =
        field.listKind === "scalar"
          ? scalar(field.scalar)
          : field.listKind === "enum"
            ? (v: unknown) => (typeof v === "number" && Number.isInteger(v) ? v : fail())
            : messageConvert(field.message);
      return (v) => (Array.isArray(v) ? v.map(one) : fail());
    }
    default:
      return fail;
  }
}

function planOf(desc: DescMessage): Plan {
  let plan = plans.get(desc.typeName);
  if (plan === undefined) {
    plan = new Map();
    plans.set(desc.typeName, plan);
    for (const field of desc.fields) {
      // Converters are built lazily: message types refer to each other in cycles.
      let convert: Convert | undefined;
      const lazy = (v: unknown) => {
        convert ??= fieldConvert(field);
        return convert(v);
      };
      plan.set(field.name, { local: field.localName, convert: lazy });
    }
  }
  return plan;
}

function convertMessage(desc: DescMessage, json: unknown): Record<string, unknown> {
  if (json === null || typeof json !== "object" || Array.isArray(json)) fail();
  const plan = planOf(desc);
  const out: Record<string, unknown> = {};
  for (const key in json as Record<string, unknown>) {
    const field = plan.get(key);
    const value = (json as Record<string, unknown>)[key];
    if (field === undefined || value === null) fail();
    out[field.local] = field.convert(value);
  }
  return out;
}

let entryDesc: DescMessage | undefined;

/**
 * The entry `line` holds when `json` (its parse) is in the canonical form the exporter prints;
 * undefined otherwise (then only the reference can say what it holds, or what is wrong with it).
 */
export function fastEntryFromJson(line: string, json: unknown): AuditLogEntry | undefined {
  entryDesc ??= auditLogRegistry().getMessage("clarifai.api.AuditLogEntry");
  if (entryDesc === undefined) return undefined;
  try {
    const entry = AuditLogEntry.fromPartial(
      convertMessage(entryDesc, json) as Parameters<typeof AuditLogEntry.fromPartial>[0],
    );
    return entryToJsonLine(entry) === line ? entry : undefined;
  } catch {
    // FALLBACK, or a value fromPartial or the printer does not take: the reference decides.
    return undefined;
  }
}
