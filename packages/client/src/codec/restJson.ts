/**
 * Proto3 JSON for the audit-log messages, in the shape Clarifai's REST API prints them.
 *
 * ts-proto gives us fast binary codecs but no descriptors; @bufbuild/protobuf (already the wire
 * runtime of the generated code) reads the descriptor image that `make generate` embeds and gives a
 * conformant JSON mapping. The two meet through the binary encoding, which both implement exactly.
 *
 * Clarifai's printer differs from plain proto3 JSON in one way that matters: fields marked
 * `(clarifai.api.utils.cl_show_if_empty) = true` are printed even when empty (`"success": false`,
 * `"app_id": ""`, `"use_cases": []` in the documentation's output example). We reproduce that, in
 * field-number order, so a printed entry matches the documentation byte for byte.
 */
import {
  type DescExtension,
  type DescField,
  type DescMessage,
  fromBinary,
  fromJson,
  getOption,
  hasOption,
  type JsonObject,
  type JsonValue,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import {
  MultiAuditLogEntryResponse,
  PostAuditLogSearchesRequest,
} from "../../generated/proto/clarifai/api/service.js";
import { auditLogRegistry, messageDesc } from "./registry.js";
import { checkJsonTimestamps } from "./restJsonTimestamps.js";

export type { JsonObject, JsonValue };

let showIfEmptyExtension: DescExtension | undefined;
function showIfEmptyOption(): DescExtension {
  if (showIfEmptyExtension === undefined) {
    const ext = auditLogRegistry().getExtension("clarifai.api.utils.cl_show_if_empty");
    if (!ext) throw new Error("descriptor image lacks clarifai.api.utils.cl_show_if_empty");
    showIfEmptyExtension = ext;
  }
  return showIfEmptyExtension;
}

const showIfEmptyCache = new Map<DescField, boolean>();

/**
 * Lists Clarifai's server always fills, though the protos do not mark them: the documentation's
 * output example prints them as `[]` on every model target. The binary wire cannot tell an empty
 * list from an absent one, so this is the one place where the printer follows observed output.
 */
const ALWAYS_PRINTED: Readonly<Record<string, readonly string[]>> = {
  "clarifai.api.Model": ["toolkits", "use_cases", "languages", "languages_full", "check_consents"],
};

function isShowIfEmpty(field: DescField): boolean {
  let v = showIfEmptyCache.get(field);
  if (v === undefined) {
    const showIfEmpty = showIfEmptyOption();
    v =
      field.oneof === undefined &&
      ((hasOption(field, showIfEmpty) && getOption(field, showIfEmpty) === true) ||
        (ALWAYS_PRINTED[field.parent.typeName]?.includes(field.name) ?? false));
    showIfEmptyCache.set(field, v);
  }
  return v;
}

function emptyJson(field: DescField): JsonValue | undefined {
  switch (field.fieldKind) {
    case "list":
      return [];
    case "map":
      return {};
    case "enum":
      return 0;
    case "scalar": {
      const t = field.scalar;
      // ScalarType: 8 = bool, 9 = string, 12 = bytes; int64 kinds print as strings in proto3 JSON.
      if (t === 8) return false;
      if (t === 9 || t === 12) return "";
      if (t === 3 || t === 4 || t === 6 || t === 16 || t === 18) return "0";
      return 0;
    }
    default:
      return undefined;
  }
}

/** Re-orders `json` into field-number order and adds the `cl_show_if_empty` fields it lacks. */
function applyClarifaiPresence(desc: DescMessage, json: JsonValue): JsonValue {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return json;
  if (desc.typeName.startsWith("google.protobuf.")) return json;
  const out: JsonObject = {};
  for (const field of desc.fields) {
    const key = field.name;
    const value = json[key];
    if (value === undefined) {
      if (isShowIfEmpty(field)) {
        const empty = emptyJson(field);
        if (empty !== undefined) out[key] = empty;
      }
      continue;
    }
    const child = field.message;
    if (child === undefined) {
      out[key] = value;
    } else if (field.fieldKind === "list" && Array.isArray(value)) {
      out[key] = value.map((v) => applyClarifaiPresence(child, v));
    } else if (
      field.fieldKind === "map" &&
      typeof value === "object" &&
      value !== null &&
      !Array.isArray(value)
    ) {
      const m: JsonObject = {};
      for (const [k, v] of Object.entries(value)) m[k] = applyClarifaiPresence(child, v as JsonValue);
      out[key] = m;
    } else {
      out[key] = applyClarifaiPresence(child, value);
    }
  }
  return out;
}

/** Binary protobuf → Clarifai-style JSON (snake_case names, enums as numbers). */
export function binaryToClarifaiJson(typeName: string, bytes: Uint8Array): JsonValue {
  const desc = messageDesc(typeName);
  const json = toJson(desc, fromBinary(desc, bytes), {
    useProtoFieldName: true,
    enumAsInteger: true,
    registry: auditLogRegistry(),
  });
  return applyClarifaiPresence(desc, json);
}

/**
 * Proto3 JSON (either field-name spelling, enums by name or number, RFC 3339 timestamps) → binary.
 * Throws an Error whose message says which field was wrong; unknown fields are refused.
 */
function clarifaiJsonToBinary(typeName: string, json: JsonValue): Uint8Array {
  const desc = messageDesc(typeName);
  const message = fromJson(desc, json, { registry: auditLogRegistry(), ignoreUnknownFields: false });
  checkJsonTimestamps(desc, json);
  return toBinary(desc, message);
}

/** An audit-log entry as Clarifai's REST API prints it (the documentation's "Output Example"). */
export function auditLogEntryToJson(entry: AuditLogEntry): JsonValue {
  return binaryToClarifaiJson("clarifai.api.AuditLogEntry", AuditLogEntry.encode(entry).finish());
}

/** Parses one entry in the REST JSON form (as printed by {@link auditLogEntryToJson}). */
export function auditLogEntryFromJson(json: JsonValue): AuditLogEntry {
  return AuditLogEntry.decode(clarifaiJsonToBinary("clarifai.api.AuditLogEntry", json));
}

/** Parses a REST request body for `POST /v2/users/{user_id}/audit_log/searches`. */
export function searchRequestFromJson(json: JsonValue): PostAuditLogSearchesRequest {
  return PostAuditLogSearchesRequest.decode(
    clarifaiJsonToBinary("clarifai.api.PostAuditLogSearchesRequest", json),
  );
}

/** Prints a search response in the REST JSON form. */
export function searchResponseToJson(response: MultiAuditLogEntryResponse): JsonValue {
  return binaryToClarifaiJson(
    "clarifai.api.MultiAuditLogEntryResponse",
    MultiAuditLogEntryResponse.encode(response).finish(),
  );
}
