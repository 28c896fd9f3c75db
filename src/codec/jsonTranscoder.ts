/**
 * Protobuf bytes of an `AuditLogEntry` → its JSON line, with no intermediate objects.
 *
 * The reference is `JSON.stringify(auditLogEntryToJson(AuditLogEntry.decode(bytes)))` (ts-proto
 * decode, then src/codec/protoJson.ts). That path builds three object trees per entry; this one reads the
 * wire bytes once and writes UTF-8 JSON bytes into a reusable buffer. The code is generated at module
 * load from the descriptors (one specialised function per message type, compiled with `new Function`),
 * so every field of the large AuditLogEntry closure is covered without hand-written code.
 *
 * Anything the generated code does not handle exactly — map entries, Struct/Value/ListValue,
 * two members of one oneof, wire-type mismatches, invalid UTF-8, int64 beyond 2^53, out-of-range
 * timestamps, truncated input — makes it abandon the entry and print it through the reference path
 * instead, so the output is always byte-identical to the reference (test/codec/jsonTranscoder.test.ts).
 */
import { isUtf8 } from "node:buffer";
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { AuditLogEntry } from "../../generated/proto/clarifai/api/resources.js";
import { MultiAuditLogEntryResponse } from "../../generated/proto/clarifai/api/service.js";
import type { Status } from "../../generated/proto/clarifai/api/status/status.js";
import { emptyPrint, fastMessageDesc, messageClosure } from "./descriptors.js";
import { escapeAsciiSource, JSON_WRITERS, keyIndex, keyWriterSource, TIMESTAMP_JSON } from "./jsonWriters.js";
import { auditLogEntryToJson } from "./protoJson.js";
import { walkReplyFraming } from "./replyBytes.js";
import { WIRE_READERS } from "./wire.js";

/** Scalar type numbers (google.protobuf.FieldDescriptorProto.Type). */
const T = {
  DOUBLE: 1,
  FLOAT: 2,
  INT64: 3,
  UINT64: 4,
  INT32: 5,
  FIXED64: 6,
  FIXED32: 7,
  BOOL: 8,
  STRING: 9,
  BYTES: 12,
  UINT32: 13,
  SFIXED32: 15,
  SFIXED64: 16,
  SINT32: 17,
  SINT64: 18,
} as const;

const WRAPPERS: Record<string, number> = {
  "google.protobuf.DoubleValue": T.DOUBLE,
  "google.protobuf.FloatValue": T.FLOAT,
  "google.protobuf.Int64Value": T.INT64,
  "google.protobuf.UInt64Value": T.UINT64,
  "google.protobuf.Int32Value": T.INT32,
  "google.protobuf.UInt32Value": T.UINT32,
  "google.protobuf.BoolValue": T.BOOL,
  "google.protobuf.StringValue": T.STRING,
  "google.protobuf.BytesValue": T.BYTES,
};

/** Scalar kinds the generated code reads; anything else is abandoned to the reference path. */
function wireTypeOf(scalar: number): number | undefined {
  switch (scalar) {
    case T.INT32:
    case T.UINT32:
    case T.INT64:
    case T.UINT64:
    case T.BOOL:
      return 0;
    case T.DOUBLE:
      return 1;
    case T.STRING:
    case T.BYTES:
      return 2;
    case T.FLOAT:
      return 5;
    default:
      return undefined;
  }
}

/** JS statement that reads one value of `scalar` at `rp` and writes its JSON. */
function scalarWrite(scalar: number): string {
  return valueWriteOf(scalar, scalarRead(scalar));
}

/** JS expression that reads one value of `scalar` (a kind `wireTypeOf` accepts, not string/bytes) at `rp`. */
function scalarRead(scalar: number): string {
  switch (scalar) {
    case T.INT32:
      return "rv() | 0";
    case T.UINT32:
      return "rv()";
    case T.INT64:
      return "r64(true)";
    case T.UINT64:
      return "r64(false)";
    case T.BOOL:
      return "rbool()";
    case T.DOUBLE:
      return "rd()";
    case T.FLOAT:
      return "rf()";
    default:
      throw new Error(`unsupported scalar ${scalar}`);
  }
}

function valueWriteOf(scalar: number, v: string): string {
  switch (scalar) {
    case T.INT32:
    case T.UINT32:
      return `wi(${v});`;
    case T.INT64:
    case T.UINT64:
      return `wq(${v});`;
    case T.BOOL:
      return `wb(${v});`;
    default:
      return `wn(${v});`;
  }
}

interface Gen {
  names: Map<string, string>;
  keys: Uint8Array[];
}

function fnName(gen: Gen, desc: DescMessage): string {
  const wrapper = WRAPPERS[desc.typeName];
  if (wrapper !== undefined) return `w_${wrapper}`;
  if (desc.typeName === "google.protobuf.Timestamp") return "tsw";
  if (
    desc.typeName === "google.protobuf.Struct" ||
    desc.typeName === "google.protobuf.Value" ||
    desc.typeName === "google.protobuf.ListValue" ||
    desc.typeName.startsWith("google.protobuf.")
  ) {
    return "fb";
  }
  let name = gen.names.get(desc.typeName);
  if (name === undefined) {
    name = `m_${gen.names.size}`;
    gen.names.set(desc.typeName, name);
  }
  return name;
}

/** Scan case for a field the generated code never reads (any wire type): the reference path prints it. */
function refuseField(num: number): string {
  return `case ${(num << 3) | 2}: case ${(num << 3) | 0}: case ${(num << 3) | 1}: case ${(num << 3) | 5}: throw FB;`;
}

/** Scan case for a length-delimited occurrence of list `tag`: notes where the list's occurrences start (a) and end (b). */
function listScanLen(tag: number, a: string, b: string): string {
  return `case ${tag}: { if (${a} < 0) ${a} = tp; const l = rv(); rp += l; ${b} = rp; break; }`;
}

/**
 * Emit code for a list whose occurrences lie in [a, b): a JSON array of what `match` (an
 * `if (t === …) { … }` chain over the tag `t`, writing ",item") prints, or the absent form when empty.
 */
function listEmit(a: string, b: string, key: number, absent: string, match: string): string {
  return `if (${a} >= 0) { const k0 = op; k${key}(); const st = op; rp = ${a}; while (rp < ${b}) { const t = rv(); ${match} else sk(t); } if (op === st) { op = k0; ${absent} } else { o[st] = 91; ens(1); o[op++] = 93; } } else { ${absent} }`;
}

/** Source of the transcoder function for one (non-WKT) message type. */
function genMessage(gen: Gen, desc: DescMessage): string {
  const empty = emptyPrint(desc);
  const fields = desc.fields;
  const known = new Set<number>();
  const scan: string[] = [];
  const emit: string[] = [];
  const decl: string[] = [];
  // Oneofs: only one member may appear (two members decode differently in ts-proto and bufbuild).
  const oneofIds = new Map<unknown, number>();
  for (const f of fields) if (f.oneof && !oneofIds.has(f.oneof)) oneofIds.set(f.oneof, oneofIds.size);
  for (const id of oneofIds.values()) decl.push(`let o${id} = 0;`);

  fields.forEach((f: DescField, i: number) => {
    known.add(f.number);
    const key = keyIndex(gen, `,${JSON.stringify(f.name)}:`);
    const emptyValue = Object.hasOwn(empty, f.name) ? empty[f.name] : undefined;
    const absent =
      emptyValue === undefined
        ? ""
        : `k${keyIndex(gen, `,${JSON.stringify(f.name)}:${JSON.stringify(emptyValue)}`)}();`;
    const oneofCheck =
      f.oneof !== undefined
        ? `if (o${oneofIds.get(f.oneof)} !== 0 && o${oneofIds.get(f.oneof)} !== ${f.number}) throw FB; o${oneofIds.get(f.oneof)} = ${f.number};`
        : "";
    const explicit = f.oneof !== undefined;
    const a = `a${i}`;
    const b = `b${i}`;
    if (f.fieldKind === "map") {
      // Map entries: JS object key order decides the printed order; left to the reference path.
      scan.push(`case ${(f.number << 3) | 2}: throw FB;`);
      emit.push(absent);
      return;
    }
    if (f.fieldKind === "list") {
      decl.push(`let ${a} = -1, ${b} = 0;`);
      if (f.listKind === "message") {
        const msg = f.message as DescMessage;
        const tag = (f.number << 3) | 2;
        scan.push(listScanLen(tag, a, b));
        emit.push(
          listEmit(
            a,
            b,
            key,
            absent,
            `if (t === ${tag}) { const l = rv(); ens(1); o[op++] = 44; ${fnName(gen, msg)}(rp + l); }`,
          ),
        );
        return;
      }
      const scalar = f.listKind === "enum" ? T.INT32 : (f.scalar as number);
      const wt = wireTypeOf(scalar);
      if (wt === undefined) {
        scan.push(refuseField(f.number));
        emit.push(absent);
        return;
      }
      const tag = (f.number << 3) | wt;
      if (wt === 2) {
        // repeated string / bytes
        const write = scalar === T.STRING ? "ws(rp, rp + l); rp += l;" : "w64(rp, rp + l); rp += l;";
        scan.push(listScanLen(tag, a, b));
        emit.push(
          listEmit(a, b, key, absent, `if (t === ${tag}) { const l = rv(); ens(1); o[op++] = 44; ${write} }`),
        );
        return;
      }
      const packed = (f.number << 3) | 2;
      const skipOne = wt === 0 ? "sv();" : wt === 1 ? "rp += 8;" : "rp += 4;";
      scan.push(
        `case ${tag}: { if (${a} < 0) ${a} = tp; ${skipOne} ${b} = rp; break; }`,
        listScanLen(packed, a, b),
      );
      const one = `ens(40); o[op++] = 44; ${scalarWrite(scalar)}`;
      emit.push(
        listEmit(
          a,
          b,
          key,
          absent,
          `if (t === ${tag}) { ${one} } else if (t === ${packed}) { const e = rv() + rp; while (rp < e) { ${one} } if (rp !== e) throw FB; }`,
        ),
      );
      return;
    }
    if (f.fieldKind === "message") {
      const msg = f.message as DescMessage;
      const tag = (f.number << 3) | 2;
      decl.push(`let ${a} = -1, ${b} = 0;`);
      // ts-proto decodes every occurrence of a singular message field (last one wins), so a
      // malformed earlier one changes its result: a second occurrence goes to the reference path.
      scan.push(
        `case ${tag}: { if (${a} >= 0) throw FB; ${oneofCheck} const l = rv(); ${a} = rp; rp += l; ${b} = rp; break; }`,
      );
      emit.push(`if (${a} >= 0) { k${key}(); rp = ${a}; ${fnName(gen, msg)}(${b}); } else { ${absent} }`);
      return;
    }
    const scalar = f.fieldKind === "enum" ? T.INT32 : (f.scalar as number);
    const wt = wireTypeOf(scalar);
    if (wt === undefined) {
      scan.push(refuseField(f.number));
      emit.push(absent);
      return;
    }
    const tag = (f.number << 3) | wt;
    decl.push(`let ${a} = -1, ${b} = 0;`);
    if (wt === 2) {
      scan.push(`case ${tag}: { ${oneofCheck} const l = rv(); ${a} = rp; rp += l; ${b} = rp; break; }`);
      const write = scalar === T.STRING ? `ws(${a}, ${b});` : `w64(${a}, ${b});`;
      emit.push(
        explicit
          ? `if (${a} >= 0) { k${key}(); ${write} } else { ${absent} }`
          : `if (${a} >= 0 && ${b} > ${a}) { k${key}(); ${write} } else { ${absent} }`,
      );
      return;
    }
    const skipOne = wt === 0 ? "sv();" : wt === 1 ? "rp += 8;" : "rp += 4;";
    scan.push(`case ${tag}: { ${oneofCheck} ${a} = rp; ${skipOne} break; }`);
    const isZero = scalar === T.BOOL ? "v === false" : "v === 0";
    emit.push(
      explicit
        ? `if (${a} >= 0) { rp = ${a}; const v = ${scalarRead(scalar)}; k${key}(); ens(40); ${valueWriteOf(scalar, "v")} } else { ${absent} }`
        : `if (${a} >= 0) { rp = ${a}; const v = ${scalarRead(scalar)}; if (${isZero}) { ${absent} } else { k${key}(); ens(40); ${valueWriteOf(scalar, "v")} } } else { ${absent} }`,
    );
  });

  const knownList = [...known].sort((x, y) => x - y);
  const knownCheck =
    knownList.length === 0
      ? ""
      : `switch (t >>> 3) { ${knownList.map((n) => `case ${n}:`).join(" ")} throw FB; }`;
  return `function ${fnName(gen, desc)}(end) {
  // ts-proto refuses nesting 100 deep; far below that, leave such data to the reference.
  if (++depth > 50) throw FB;
  ${decl.join("\n  ")}
  while (rp < end) {
    const tp = rp;
    const t = rv();
    switch (t) {
      ${scan.join("\n      ")}
      default: ${knownCheck} sk(t);
    }
  }
  if (rp !== end) throw FB;
  const st = op;
  ${emit.join("\n  ")}
  if (op === st) { ens(2); o[op++] = 123; o[op++] = 125; } else { o[st] = 123; ens(1); o[op++] = 125; }
  rp = end;
  depth--;
}`;
}

/** Runtime helpers shared by every generated function (one closure: `o`, `op`, `s`, `rp`). */
const RUNTIME = `
const FB = FALLBACK;
let s = EMPTY, rp = 0, o = Buffer.allocUnsafe(1 << 16), op = 0, na = false, depth = 0;
const f32 = new Float32Array(1), f32b = new Uint8Array(f32.buffer);
const f64 = new Float64Array(1), f64b = new Uint8Array(f64.buffer);
${JSON_WRITERS}
${WIRE_READERS}
function rf() {
  f32b[0] = s[rp]; f32b[1] = s[rp + 1]; f32b[2] = s[rp + 2]; f32b[3] = s[rp + 3];
  rp += 4;
  return f32[0];
}
function rd() {
  for (let i = 0; i < 8; i++) f64b[i] = s[rp + i];
  rp += 8;
  return f64[0];
}
function wa(str) {
  const n = str.length;
  ens(n + 2);
  for (let j = 0; j < n; j++) o[op++] = str.charCodeAt(j);
}
function wi(v) {
  if (v < 0) { o[op++] = 45; v = -v; }
  if (v < 10) { o[op++] = 48 + v; return; }
  if (v > 4294967295) { wa(String(v)); return; }
  let d = 1;
  for (let x = v; x >= 10; x = (x / 10) >>> 0) d++;
  op += d;
  for (let p = op - 1; d > 0; d--, p--) { const q = (v / 10) >>> 0; o[p] = 48 + v - q * 10; v = q; }
}
function wq(v) { o[op++] = 34; wi(v); o[op++] = 34; }
function wb(v) {
  if (v) { o[op++] = 116; o[op++] = 114; o[op++] = 117; o[op++] = 101; }
  else { o[op++] = 102; o[op++] = 97; o[op++] = 108; o[op++] = 115; o[op++] = 101; }
}
function ws(a, b) {
  ens((b - a) * 6 + 2);
  const out = o, src = s;
  let p = op;
  out[p++] = 34;
  let hi = 0;
  for (let i = a; i < b; i++) {
    const x = src[i];
    if (x >= 32 && x !== 34 && x !== 92) { out[p++] = x; hi |= x; continue; }
    ${escapeAsciiSource("x")}
  }
  out[p++] = 34;
  op = p;
  if (hi & 128) {
    if (b > src.length || !isUtf8(src.subarray(a, b))) throw FB;
    na = true;
  }
}
function w64(a, b) {
  if (b > s.length) throw FB;
  const t = s.base64Slice(a, b);
  ens(t.length + 2);
  o[op++] = 34;
  op += o.latin1Write(t, op);
  o[op++] = 34;
}
function tsw(end) {
  let sec = 0, nanos = 0;
  while (rp < end) {
    const t = rv();
    if (t === 8) sec = r64(true);
    else if (t === 16) nanos = rv() | 0;
    else if ((t >>> 3) === 1 || (t >>> 3) === 2) throw FB;
    else sk(t);
  }
  if (rp !== end) throw FB;
${TIMESTAMP_JSON}
  rp = end;
}
function wrapper(end, kind) {
  let a = -1;
  while (rp < end) {
    const t = rv();
    if (t === 8 && kind !== 1 && kind !== 2 && kind !== 9 && kind !== 12) { a = rp; sv(); }
    else if (t === 9 && kind === 1) { a = rp; rp += 8; }
    else if (t === 13 && kind === 2) { a = rp; rp += 4; }
    else if (t === 10 && (kind === 9 || kind === 12)) { const l = rv(); a = rp; rp += l; if (kind === 9) a = -2 - a; }
    else if ((t >>> 3) === 1) throw FB;
    else sk(t);
  }
  if (rp !== end) throw FB;
  ens(40);
  if (a === -1) {
    if (kind === 8) wb(false); else if (kind === 3 || kind === 4) wq(0); else if (kind === 9 || kind === 12) { o[op++] = 34; o[op++] = 34; } else wi(0);
  } else {
    rp = a;
    switch (kind) {
      case 1: wn(rd()); break;
      case 2: wn(rf()); break;
      case 3: wq(r64(true)); break;
      case 4: wq(r64(false)); break;
      case 5: wi(rv() | 0); break;
      case 13: wi(rv()); break;
      case 8: wb(rbool()); break;
      default: throw FB;
    }
  }
  rp = end;
}
function w_1(end) { wrapper(end, 1); }
function w_2(end) { wrapper(end, 2); }
function w_3(end) { wrapper(end, 3); }
function w_4(end) { wrapper(end, 4); }
function w_5(end) { wrapper(end, 5); }
function w_13(end) { wrapper(end, 13); }
function w_8(end) { wrapper(end, 8); }
function w_9(end) { throw FB; }
function w_12(end) { throw FB; }
`;

interface Compiled {
  /** Appends the JSON of the entry in `src[start, end)` to the output; throws FALLBACK to give up. */
  entry(src: Buffer, start: number, end: number): void;
  /** Undoes the output of the last `entry` call (after it threw). */
  rollback(): void;
  /** Empties the output. */
  clear(): void;
  /** The output so far, decoded. */
  text(): string;
  /** A copy of the output so far. */
  copy(): Buffer;
  /** Bytes of output so far. */
  size(): number;
  /** Copies the output so far to the start of `target` (at least `size()` bytes long). */
  copyTo(target: Buffer): void;
  /** Appends raw bytes (UTF-8) to the output; `ascii` false when they may hold non-ASCII. */
  append(bytes: Uint8Array, ascii: boolean): void;
}

/** Thrown by the generated code to hand an entry to the reference path. */
const FALLBACK: unique symbol = Symbol("fallback to the reference printer");

function compile(): Compiled {
  const gen: Gen = { names: new Map(), keys: [] };
  const root = fastMessageDesc("clarifai.api.AuditLogEntry");
  const bodies: string[] = [];
  fnName(gen, root);
  for (const desc of messageClosure(root)) {
    if (fnName(gen, desc).startsWith("m_")) bodies.push(genMessage(gen, desc));
  }
  const rootFn = fnName(gen, root);
  const source = `${RUNTIME}
${bodies.join("\n")}
${gen.keys.map(keyWriterSource).join("\n")}
let op0 = 0, na0 = false;
return {
  entry(src, start, end) { s = src; rp = start; op0 = op; na0 = na; depth = 0; ${rootFn}(end); },
  rollback() { op = op0; na = na0; },
  clear() { op = 0; na = false; },
  text() { return na ? o.utf8Slice(0, op) : o.latin1Slice(0, op); },
  copy() { return Buffer.from(o.subarray(0, op)); },
  size() { return op; },
  copyTo(target) { o.copy(target, 0, 0, op); },
  append(bytes, ascii) { ens(bytes.length); o.set(bytes, op); op += bytes.length; if (!ascii) na = true; },
};`;
  const factory = new Function("FALLBACK", "isUtf8", "EMPTY", source) as (
    fallback: symbol,
    utf8: typeof isUtf8,
    empty: Buffer,
  ) => Compiled;
  return factory(FALLBACK, isUtf8, Buffer.alloc(0));
}

let compiledOnce: Compiled | undefined;
/** The generated transcoder, compiled on first use: `search` and `tail` never need it. */
function transcoder(): Compiled {
  compiledOnce ??= compile();
  return compiledOnce;
}

/**
 * Compiles the transcoder now (tens of milliseconds) instead of on the first page: the exporter
 * calls it while its first requests are on the network.
 */
export function prepareJsonTranscoder(): void {
  transcoder();
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const encoder = new TextEncoder();

/** The reference printer for raw entry bytes: ts-proto decode, then protoJson. */
export function referenceEntryJson(bytes: Uint8Array): string {
  return JSON.stringify(auditLogEntryToJson(AuditLogEntry.decode(bytes)));
}

/** Entries printed by the generated code, and entries/replies printed by the reference path. */
export const transcodeStats = { fast: 0, fallback: 0 };

/** Appends one entry's JSON (no newline) to the shared output; returns nothing, throws as the reference does. */
function appendEntry(compiled: Compiled, src: Buffer, start: number, end: number): void {
  try {
    compiled.entry(src, start, end);
    transcodeStats.fast++;
  } catch (e) {
    if (e !== FALLBACK) throw e;
    compiled.rollback();
    transcodeStats.fallback++;
    const line = referenceEntryJson(src.subarray(start, end));
    const bytes = encoder.encode(line);
    compiled.append(bytes, bytes.length === line.length);
  }
}

/**
 * One serialized `AuditLogEntry` → its JSON line (no trailing newline), byte-identical to
 * `JSON.stringify(auditLogEntryToJson(AuditLogEntry.decode(bytes)))`.
 */
export function auditLogEntryBytesToJson(bytes: Uint8Array): string {
  const compiled = transcoder();
  compiled.clear();
  appendEntry(compiled, asBuffer(bytes), 0, bytes.byteLength);
  return compiled.text();
}

/**
 * Serialized `AuditLogEntry`s → their JSON lines, each ending in "\n", as one fresh UTF-8 Buffer:
 * the concatenation of {@link auditLogEntryBytesToJson} of each plus a newline.
 */
export function auditLogEntriesBytesToJsonl(entries: readonly Uint8Array[]): Buffer {
  const compiled = transcoder();
  appendLines(
    compiled,
    entries.map((source) => ({ source, start: 0, end: source.byteLength })),
  );
  return compiled.copy();
}

/** Where one serialized `AuditLogEntry` is: `source[start, end)` (e.g. a range of a reply). */
export interface EntryRange {
  readonly source: Uint8Array;
  readonly start: number;
  readonly end: number;
}

/** Empties the output, then appends each entry's JSON line and a newline. */
function appendLines(compiled: Compiled, entries: readonly EntryRange[]): void {
  compiled.clear();
  for (const e of entries) {
    appendEntry(compiled, asBuffer(e.source), e.start, e.end);
    compiled.append(NEWLINE, true);
  }
}

/**
 * Transcodes page after page of entry ranges to JSONL into one buffer it keeps and reuses.
 *
 * A long export transcodes a thousand pages of about a megabyte each: a fresh Buffer per page is an
 * ArrayBuffer the GC frees late (V8 collects external memory lazily), which is what an export's
 * peak RSS is made of. Reusing one buffer leaves nothing behind per page.
 */
export class JsonlPageEncoder {
  #out: Buffer = Buffer.alloc(0);

  /**
   * The entries' JSON lines, each ending in "\n" (the same bytes as
   * {@link auditLogEntriesBytesToJsonl}), as a view into this encoder's buffer: valid until the
   * next call, so write it out before encoding the next page.
   */
  encode(entries: readonly EntryRange[]): Buffer {
    const compiled = transcoder();
    appendLines(compiled, entries);
    const n = compiled.size();
    if (this.#out.length < n) this.#out = Buffer.allocUnsafeSlow(Math.max(n, 2 * this.#out.length));
    compiled.copyTo(this.#out);
    return this.#out.subarray(0, n);
  }
}

/** A `MultiAuditLogEntryResponse` transcoded to JSONL without decoding its entries to objects. */
export interface JsonlPage {
  /** The reply's status (decoded), or undefined when the reply has none. */
  status: Status | undefined;
  /** Number of entries in the page. */
  count: number;
  /** One JSON line per entry, each ending in "\n" (UTF-8); a fresh copy the caller owns. */
  jsonl: Buffer;
}

/**
 * Serialized `MultiAuditLogEntryResponse` (the gRPC reply bytes) → status + JSONL of its entries.
 * Each line is byte-identical to the reference printing of the entry ts-proto decodes from the
 * reply; a reply with anything the generated code does not handle is decoded and printed that way.
 */
export function searchResponseBytesToJsonl(bytes: Uint8Array): JsonlPage {
  const compiled = transcoder();
  const src = asBuffer(bytes);
  compiled.clear();
  let count = 0;
  const framed = walkReplyFraming(src, (start, end) => {
    try {
      compiled.entry(src, start, end);
    } catch (err) {
      if (err !== FALLBACK) throw err;
      return false;
    }
    transcodeStats.fast++;
    compiled.append(NEWLINE, true);
    count++;
    return true;
  });
  if (framed === undefined) return slowPage(bytes);
  return { status: framed.status, count, jsonl: compiled.copy() };
}

const NEWLINE = new Uint8Array([10]);

/** The reference path for a whole reply: ts-proto decode, then protoJson per entry. */
function slowPage(bytes: Uint8Array): JsonlPage {
  transcodeStats.fallback++;
  const r = MultiAuditLogEntryResponse.decode(bytes);
  const lines = r.entries.map((e) => `${JSON.stringify(auditLogEntryToJson(e))}\n`).join("");
  return { status: r.status, count: r.entries.length, jsonl: Buffer.from(lines, "utf8") };
}
