/**
 * The generated source of the bytes → JSON transcoder (packages/client/src/codec/jsonlTranscoder.ts): one function
 * per message type of the `AuditLogEntry` closure, generated from the descriptors, that scans an
 * entry's wire bytes once (noting where each field is) and then writes its JSON in field-number
 * order into the output buffer. `jsonlTranscoderCode().source()` prints it.
 *
 * Anything the generated code does not handle exactly — map entries, Struct/Value/ListValue,
 * two members of one oneof, wire-type mismatches, invalid UTF-8, int64 beyond 2^53, out-of-range
 * timestamps, truncated input — throws {@link FALLBACK}, and the caller prints that entry through
 * the reference path.
 */
import { isUtf8 } from "node:buffer";
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { civilFromDays } from "../domain/time.js";
import { emptyPrint, GeneratedCode, messageClosure } from "./codegen.js";
import { TRANSCODER_RUNTIME } from "./jsonlTranscoderRuntime.js";
import { messageDesc } from "./registry.js";
import { SCALAR_TYPE, WRAPPER_SCALAR } from "./scalarTypes.js";

/** Thrown by the generated code to hand an entry to the reference path. */
export const FALLBACK: unique symbol = Symbol("fallback to the reference printer");

/** What the generated source refers to from outside itself. */
interface TranscoderHelpers extends Record<string, unknown> {
  FALLBACK: typeof FALLBACK;
  isUtf8: typeof isUtf8;
  EMPTY: Buffer;
  civilFromDays: typeof civilFromDays;
}

type TranscoderCode = GeneratedCode<TranscoderHelpers>;

const T = SCALAR_TYPE;
const WRAPPERS = WRAPPER_SCALAR;

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

function fnName(code: TranscoderCode, desc: DescMessage): string {
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
  return code.functionName(desc, "m_");
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
function listEmit(a: string, b: string, key: string, absent: string, match: string): string {
  return `if (${a} >= 0) { const k0 = op; ${key} const st = op; rp = ${a}; while (rp < ${b}) { const t = rv(); ${match} else sk(t); } if (op === st) { op = k0; ${absent} } else { o[st] = 91; ens(1); o[op++] = 93; } } else { ${absent} }`;
}

/**
 * A scalar field's wire type and tag; undefined for a type the fast path does not decode, after
 * `refuse()` left the field to the reference path.
 */
function scalarWire(
  scalar: number,
  fieldNumber: number,
  refuse: () => void,
): { wt: number; tag: number } | undefined {
  const wt = wireTypeOf(scalar);
  if (wt !== undefined) return { wt, tag: (fieldNumber << 3) | wt };
  refuse();
  return undefined;
}

/** Code that skips one value of wire type 0 (varint), 1 (8 bytes) or 5 (4 bytes). */
function skipOneCode(wt: number): string {
  return wt === 0 ? "sv();" : wt === 1 ? "rp += 8;" : "rp += 4;";
}

/** Source of the transcoder function for one (non-WKT) message type. */
function genMessage(code: TranscoderCode, desc: DescMessage): string {
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
    const key = code.writeKey(`,${JSON.stringify(f.name)}:`);
    const emptyValue = Object.hasOwn(empty, f.name) ? empty[f.name] : undefined;
    const absent =
      emptyValue === undefined
        ? ""
        : code.writeKey(`,${JSON.stringify(f.name)}:${JSON.stringify(emptyValue)}`);
    const oneofCheck =
      f.oneof !== undefined
        ? `if (o${oneofIds.get(f.oneof)} !== 0 && o${oneofIds.get(f.oneof)} !== ${f.number}) throw FB; o${oneofIds.get(f.oneof)} = ${f.number};`
        : "";
    const explicit = f.oneof !== undefined;
    const a = `a${i}`;
    const b = `b${i}`;
    const refuse = () => {
      scan.push(refuseField(f.number));
      emit.push(absent);
    };
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
            `if (t === ${tag}) { const l = rv(); ens(1); o[op++] = 44; ${fnName(code, msg)}(rp + l); }`,
          ),
        );
        return;
      }
      const scalar = f.listKind === "enum" ? T.INT32 : (f.scalar as number);
      const wire = scalarWire(scalar, f.number, refuse);
      if (wire === undefined) return;
      const { wt, tag } = wire;
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
      const skipOne = skipOneCode(wt);
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
      emit.push(`if (${a} >= 0) { ${key} rp = ${a}; ${fnName(code, msg)}(${b}); } else { ${absent} }`);
      return;
    }
    const scalar = f.fieldKind === "enum" ? T.INT32 : (f.scalar as number);
    const wire = scalarWire(scalar, f.number, refuse);
    if (wire === undefined) return;
    const { wt, tag } = wire;
    decl.push(`let ${a} = -1, ${b} = 0;`);
    if (wt === 2) {
      scan.push(`case ${tag}: { ${oneofCheck} const l = rv(); ${a} = rp; rp += l; ${b} = rp; break; }`);
      const write = scalar === T.STRING ? `ws(${a}, ${b});` : `w64(${a}, ${b});`;
      emit.push(
        explicit
          ? `if (${a} >= 0) { ${key} ${write} } else { ${absent} }`
          : `if (${a} >= 0 && ${b} > ${a}) { ${key} ${write} } else { ${absent} }`,
      );
      return;
    }
    const skipOne = skipOneCode(wt);
    scan.push(`case ${tag}: { ${oneofCheck} ${a} = rp; ${skipOne} break; }`);
    const isZero = scalar === T.BOOL ? "v === false" : "v === 0";
    emit.push(
      explicit
        ? `if (${a} >= 0) { rp = ${a}; const v = ${scalarRead(scalar)}; ${key} ens(40); ${valueWriteOf(scalar, "v")} } else { ${absent} }`
        : `if (${a} >= 0) { rp = ${a}; const v = ${scalarRead(scalar)}; if (${isZero}) { ${absent} } else { ${key} ens(40); ${valueWriteOf(scalar, "v")} } } else { ${absent} }`,
    );
  });

  const knownList = [...known].sort((x, y) => x - y);
  const knownCheck =
    knownList.length === 0
      ? ""
      : `switch (t >>> 3) { ${knownList.map((n) => `case ${n}:`).join(" ")} throw FB; }`;
  return `function ${fnName(code, desc)}(end) {
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

/** The compiled transcoder: one output buffer that entries' JSON is appended to. */
export interface JsonlTranscoder {
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
  /** The output so far, as a view of the transcoder's buffer: valid until the next call. */
  view(): Buffer;
  /** Appends raw bytes (UTF-8) to the output; `ascii` false when they may hold non-ASCII. */
  append(bytes: Uint8Array, ascii: boolean): void;
}

/** The transcoder's source, built from the descriptors (compile it, or print it with `source()`). */
export function jsonlTranscoderCode(): TranscoderCode {
  const code: TranscoderCode = new GeneratedCode<TranscoderHelpers>({
    FALLBACK,
    isUtf8,
    EMPTY: Buffer.alloc(0),
    civilFromDays,
  });
  const root = messageDesc("clarifai.api.AuditLogEntry");
  code.add(TRANSCODER_RUNTIME);
  const rootFn = fnName(code, root);
  for (const desc of messageClosure(root)) {
    if (fnName(code, desc).startsWith("m_")) code.add(genMessage(code, desc));
  }
  return code.returns(`let op0 = 0, na0 = false;
return {
  entry(src, start, end) { s = src; rp = start; op0 = op; na0 = na; depth = 0; ${rootFn}(end); },
  rollback() { op = op0; na = na0; },
  clear() { op = 0; na = false; },
  text() { return na ? o.utf8Slice(0, op) : o.latin1Slice(0, op); },
  copy() { return Buffer.from(o.subarray(0, op)); },
  size() { return op; },
  copyTo(target) { o.copy(target, 0, 0, op); },
  view() { return o.subarray(0, op); },
  append(bytes, ascii) { ens(bytes.length); o.set(bytes, op); op += bytes.length; if (!ascii) na = true; },
};`);
}
