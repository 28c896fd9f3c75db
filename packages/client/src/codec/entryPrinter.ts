/**
 * A ts-proto `AuditLogEntry` object → its JSON line, without encoding it to bytes first.
 *
 * The reference is `JSON.stringify(auditLogEntryToJson(entry))`: ts-proto encode, bufbuild decode,
 * bufbuild toJson, Clarifai presence, JSON.stringify. This module generates (on first use, from the
 * descriptors, one function per message type: packages/client/src/codec/codegen.ts) a printer that reads the ts-proto
 * object directly and reproduces what that chain prints, including what the encode step does to
 * values (float32 rounding, zero values dropped, empty packed lists). It is what `search`, the csv
 * and json exports and library users print entries with: about 8× the reference, and 2.5× encoding
 * the object and transcoding its bytes (bench/notes.md).
 *
 * Whatever it cannot reproduce exactly — values of the wrong JS type, integers out of range, lone
 * surrogates, Struct/Value/ListValue, map entries, several members of one oneof, out-of-range
 * timestamps — makes it hand the entry to the reference printer, so the output is always identical
 * (test/codec/objectJson.test.ts).
 */
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import type { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import * as resources from "../../generated/proto/clarifai/api/resources.js";
import * as status from "../../generated/proto/clarifai/api/status/status.js";
import * as matrix from "../../generated/proto/clarifai/api/utils/matrix.js";
import { civilFromDays } from "../domain/time.js";
import { emptyPrint, GeneratedCode, messageClosure, tsProtoName } from "./codegen.js";
import { escapeAsciiSource, INT_DIGITS, JSON_WRITERS, TIMESTAMP_JSON } from "./jsonWriters.js";
import { messageDesc } from "./registry.js";
import { auditLogEntryToJson } from "./restJson.js";

/** Field names ts-proto's `createBase…` gives a message, or undefined when we cannot tell. */
const TS_PROTO_MODULES: Readonly<Record<string, unknown>> = {
  "clarifai.api": resources,
  "clarifai.api.status": status,
  "clarifai.api.utils": matrix,
};

function tsProtoKeys(desc: DescMessage): Set<string> | undefined {
  const pkg = desc.file.proto.package;
  const module = TS_PROTO_MODULES[pkg] as Record<string, { fromPartial?: (o: object) => object }> | undefined;
  if (module === undefined) return undefined;
  const fns = module[desc.typeName.slice(pkg.length + 1).replace(/\./g, "_")];
  if (typeof fns?.fromPartial !== "function") return undefined;
  return new Set(Object.keys(fns.fromPartial({})));
}

const WRAPPER_KIND: Record<string, string> = {
  "google.protobuf.BoolValue": "bool",
  "google.protobuf.Int32Value": "int32",
  "google.protobuf.UInt32Value": "uint32",
  "google.protobuf.Int64Value": "int64",
  "google.protobuf.UInt64Value": "uint64",
  "google.protobuf.StringValue": "string",
  "google.protobuf.DoubleValue": "double",
  "google.protobuf.FloatValue": "float",
};

/**
 * JS statements writing scalar `v` (already known present) to the output, per scalar type number;
 * each checks the JS type the way ts-proto's encode + bufbuild's writer would accept it.
 */
function scalarPrint(scalar: number, v: string): string | undefined {
  switch (scalar) {
    case 9: // string
      return `wsj(${v});`;
    case 8: // bool
      return `if (typeof ${v} !== "boolean") throw FB; wb(${v});`;
    case 5: // int32
      return `if (!isI32(${v})) throw FB; wi(${v});`;
    case 13: // uint32
      return `if (!isU32(${v})) throw FB; wi(${v});`;
    case 3: // int64
      return `if (!Number.isSafeInteger(${v})) throw FB; wq(${v});`;
    case 4: // uint64
      return `if (!Number.isSafeInteger(${v}) || ${v} < 0) throw FB; wq(${v});`;
    case 1: // double
      return `if (typeof ${v} !== "number") throw FB; wn(${v});`;
    case 2: // float
      return `if (typeof ${v} !== "number") throw FB; wn(Math.fround(${v}));`;
    case 12: // bytes
      return `if (!(${v} instanceof Uint8Array)) throw FB; w64(${v});`;
    default:
      return undefined;
  }
}

/** Condition under which ts-proto's encode skips an implicit-presence scalar (its zero value). */
function scalarAbsent(scalar: number, v: string): string {
  switch (scalar) {
    case 9:
      return `${v} === ""`;
    case 8:
      return `${v} === false`;
    case 12:
      return `(${v} !== undefined && ${v} !== null && ${v}.length === 0)`;
    case 2:
      // Encoded when !== 0, then bufbuild drops +0 after float32 rounding but prints -0 (as 0).
      return `(${v} === 0 || Object.is(Math.fround(${v}), 0))`;
    default:
      return `${v} === 0`;
  }
}

/** Thrown by the generated code to hand an entry to the reference path. */
const FALLBACK: unique symbol = Symbol("fallback to the reference printer");

/** What the generated source refers to from outside itself. */
interface PrinterHelpers extends Record<string, unknown> {
  FALLBACK: typeof FALLBACK;
  civilFromDays: typeof civilFromDays;
}

type PrinterCode = GeneratedCode<PrinterHelpers>;

function fnName(code: PrinterCode, desc: DescMessage): string {
  if (desc.typeName === "google.protobuf.Timestamp") return "ts";
  const wrapper = WRAPPER_KIND[desc.typeName];
  if (wrapper !== undefined) return `wr_${wrapper}`;
  if (desc.typeName.startsWith("google.protobuf.")) return "fb";
  return code.functionName(desc, "j_");
}

function genMessage(code: PrinterCode, desc: DescMessage): string {
  const name = fnName(code, desc);
  const keys = tsProtoKeys(desc);
  const empty = emptyPrint(desc);
  const lines: string[] = [];
  const oneofs = new Map<unknown, DescField[]>();
  let supported = true;
  for (const f of desc.fields) {
    const prop = tsProtoName(f.name);
    if (f.oneof) {
      const list = oneofs.get(f.oneof) ?? [];
      list.push(f);
      oneofs.set(f.oneof, list);
    } else if (keys !== undefined && !keys.has(prop)) {
      supported = false;
    }
  }
  if (!supported || keys === undefined) return `function ${name}(m) { throw FB; }`;
  for (const members of oneofs.values()) {
    const props = members.map((f) => `m.${tsProtoName(f.name)} !== undefined`);
    lines.push(`if ((${props.join(" ? 1 : 0) + (")} ? 1 : 0) > 1) throw FB;`);
  }
  for (const f of desc.fields) {
    const prop = `m.${tsProtoName(f.name)}`;
    const open = code.writeKey(`,${JSON.stringify(f.name)}:`);
    const emptyValue = Object.hasOwn(empty, f.name) ? empty[f.name] : undefined;
    const absent =
      emptyValue === undefined
        ? ""
        : code.writeKey(`,${JSON.stringify(f.name)}:${JSON.stringify(emptyValue)}`);
    if (f.fieldKind === "map") {
      lines.push(
        `v = ${prop}; if (v === null || typeof v !== "object" || !isEmptyObj(v)) throw FB; ${absent}`,
      );
      continue;
    }
    if (f.fieldKind === "list") {
      let item: string | undefined;
      if (f.listKind === "message") {
        item = `${fnName(code, f.message as DescMessage)}(v[i]);`;
      } else {
        const scalar = f.listKind === "enum" ? 5 : (f.scalar as number);
        const print = scalarPrint(scalar, "e");
        item = print === undefined ? undefined : `const e = v[i]; ${print}`;
      }
      if (item === undefined) {
        lines.push(`v = ${prop}; if (!Array.isArray(v) || v.length !== 0) throw FB; ${absent}`);
        continue;
      }
      lines.push(
        `v = ${prop}; if (!Array.isArray(v)) throw FB; if (v.length === 0) { ${absent} } else { ${open} ens(1); o[op++] = 91; for (let i = 0; i < v.length; i++) { if (i !== 0) { ens(1); o[op++] = 44; } ${item} } ens(1); o[op++] = 93; }`,
      );
      continue;
    }
    if (f.fieldKind === "message") {
      lines.push(
        `v = ${prop}; if (v === undefined) { ${absent} } else { ${open} ${fnName(code, f.message as DescMessage)}(v); }`,
      );
      continue;
    }
    const scalar = f.fieldKind === "enum" ? 5 : (f.scalar as number);
    const print = scalarPrint(scalar, "v");
    if (print === undefined) {
      lines.push(`v = ${prop}; if (v !== 0) throw FB; ${absent}`);
      continue;
    }
    if (f.oneof) {
      lines.push(`v = ${prop}; if (v !== undefined) { ${open} ${print} }`);
      continue;
    }
    lines.push(`v = ${prop}; if (${scalarAbsent(scalar, "v")}) { ${absent} } else { ${open} ${print} }`);
  }
  return `function ${name}(m) {
  if (m === null || typeof m !== "object") throw FB;
  // bufbuild's decode in the reference stops at nesting 100; far below that, the reference decides.
  if (++depth > 50) throw FB;
  const st = op;
  let v;
  ${lines.join("\n  ")}
  if (op === st) { ens(2); o[op++] = 123; o[op++] = 125; } else { o[st] = 123; ens(1); o[op++] = 125; }
  depth--;
}`;
}

const RUNTIME = `
const FB = FALLBACK;
let o = Buffer.allocUnsafe(1 << 16), op = 0, na = false, depth = 0;
${JSON_WRITERS}
function isI32(v) { return typeof v === "number" && (v | 0) === v; }
function isU32(v) { return typeof v === "number" && v >>> 0 === v; }
function isEmptyObj(x) { for (const k in x) if (Object.hasOwn(x, k)) return false; return true; }
function wa(str) {
  const n = str.length;
  ens(n);
  const out = o;
  let p = op;
  for (let j = 0; j < n; j++) out[p++] = str.charCodeAt(j);
  op = p;
}
function wi(v) {
  ens(24);
${INT_DIGITS}}
function wq(v) { ens(1); o[op++] = 34; wi(v); ens(1); o[op++] = 34; }
function wb(v) {
  ens(5);
  if (v) { o[op++] = 116; o[op++] = 114; o[op++] = 117; o[op++] = 101; }
  else { o[op++] = 102; o[op++] = 97; o[op++] = 108; o[op++] = 115; o[op++] = 101; }
}
function w64(v) { wa('"' + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") + '"'); }
/** A JS string as a JSON string in UTF-8; lone surrogates (which ts-proto's encode would turn into U+FFFD) give up. */
function wsj(v) {
  if (typeof v !== "string") throw FB;
  const n = v.length;
  ens(n * 6 + 2);
  const out = o;
  let p = op;
  out[p++] = 34;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c < 128) {
      if (c >= 32 && c !== 34 && c !== 92) { out[p++] = c; continue; }
      ${escapeAsciiSource("c")}
      continue;
    }
    na = true;
    if (c < 2048) { out[p++] = 192 | (c >> 6); out[p++] = 128 | (c & 63); continue; }
    if (c < 55296 || c > 57343) {
      out[p++] = 224 | (c >> 12); out[p++] = 128 | ((c >> 6) & 63); out[p++] = 128 | (c & 63);
      continue;
    }
    const d = i + 1 < n ? v.charCodeAt(i + 1) : 0;
    if (c > 56319 || d < 56320 || d > 57343) throw FB;
    const cp = ((c - 55296) << 10) + (d - 56320) + 65536;
    out[p++] = 240 | (cp >> 18); out[p++] = 128 | ((cp >> 12) & 63);
    out[p++] = 128 | ((cp >> 6) & 63); out[p++] = 128 | (cp & 63);
    i++;
  }
  out[p++] = 34;
  op = p;
}
function ts(t) {
  if (t === null || typeof t !== "object") throw FB;
  const sec = t.seconds, nanos = t.nanos;
  if (!Number.isSafeInteger(sec) || !isI32(nanos)) throw FB;
${TIMESTAMP_JSON}
}
function wr_bool(v) { if (typeof v !== "boolean") throw FB; wb(v); }
function wr_int32(v) { if (!isI32(v)) throw FB; wi(v); }
function wr_uint32(v) { if (!isU32(v)) throw FB; wi(v); }
function wr_int64(v) { if (!Number.isSafeInteger(v)) throw FB; wq(v); }
function wr_uint64(v) { if (!Number.isSafeInteger(v) || v < 0) throw FB; wq(v); }
function wr_string(v) { wsj(v); }
function wr_double(v) { if (typeof v !== "number") throw FB; wn(v); }
function wr_float(v) { if (typeof v !== "number") throw FB; wn(Math.fround(v)); }
`;

interface Printer {
  /** Prints `entry` alone and returns its line. Throws (FALLBACK or other) to give up. */
  one(entry: AuditLogEntry): string;
  /** Starts a batch of lines. */
  begin(): void;
  /** Appends `entry`'s line and "\n" to the batch; on a throw the batch is left as it was. */
  add(entry: AuditLogEntry): void;
  /** Appends a line printed elsewhere (and "\n"). */
  addText(line: string): void;
  /** The batch as one string. */
  end(): string;
}

/** The printer's source, built from the descriptors (compile it, or print it with `source()`). */
export function entryPrinterCode(): PrinterCode {
  const code: PrinterCode = new GeneratedCode<PrinterHelpers>({ FALLBACK, civilFromDays });
  const root = messageDesc("clarifai.api.AuditLogEntry");
  code.add(RUNTIME);
  const rootFn = fnName(code, root);
  for (const desc of messageClosure(root)) {
    if (fnName(code, desc).startsWith("j_")) code.add(genMessage(code, desc));
  }
  return code.returns(`let op0 = 0, na0 = false;
function text() { return na ? o.utf8Slice(0, op) : o.latin1Slice(0, op); }
return {
  one(entry) { op = 0; na = false; depth = 0; ${rootFn}(entry); return text(); },
  begin() { op = 0; na = false; },
  add(entry) {
    op0 = op; na0 = na; depth = 0;
    try { ${rootFn}(entry); ens(1); o[op++] = 10; } catch (e) { op = op0; na = na0; throw e; }
  },
  addText(line) { const n = Buffer.byteLength(line); ens(n + 1); op += o.utf8Write(line, op); o[op++] = 10; if (n !== line.length) na = true; },
  end() { return text(); },
};`);
}

// Compiled on first use: a JSONL export never prints objects, and compiling costs ~20 ms of every
// CLI start.
let compiledPrinter: Printer | undefined;
function printer(): Printer {
  compiledPrinter ??= entryPrinterCode().compile<Printer>();
  return compiledPrinter;
}

/** Counters of entries printed by the generated code and by the reference path (for the bench). */
export const entryPrinterStats = { fast: 0, fallback: 0 };

function referenceLine(entry: AuditLogEntry): string {
  entryPrinterStats.fallback++;
  return JSON.stringify(auditLogEntryToJson(entry));
}

/**
 * A ts-proto `AuditLogEntry` → its JSON line (no trailing newline), byte-identical to
 * `JSON.stringify(auditLogEntryToJson(entry))`, and throwing whenever that throws.
 */
export function entryToJsonLine(entry: AuditLogEntry): string {
  try {
    const line = printer().one(entry);
    entryPrinterStats.fast++;
    return line;
  } catch {
    // FALLBACK, or a TypeError on a malformed object: either way the reference decides.
    return referenceLine(entry);
  }
}

/**
 * Entries → JSON Lines text (each line followed by "\n"), built in one buffer: equal to
 * `entries.map((e) => entryToJsonLine(e) + "\n").join("")`, without a string per entry.
 */
export function entriesToJsonl(entries: readonly AuditLogEntry[]): string {
  printer().begin();
  for (const entry of entries) {
    try {
      printer().add(entry);
      entryPrinterStats.fast++;
    } catch {
      printer().addText(referenceLine(entry));
    }
  }
  return printer().end();
}
