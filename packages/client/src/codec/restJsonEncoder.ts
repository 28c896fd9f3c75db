/**
 * A parsed REST JSON `AuditLogEntry` (what `JSON.parse` gives for a line of an export) → its
 * protobuf bytes, directly: no message objects in between.
 *
 * The reference is `AuditLogEntry.encode(auditLogEntryFromJson(json))`: @bufbuild/protobuf's
 * reflective `fromJson`, the strict calendar check, `toBinary`, ts-proto's decode and its encode
 * (what the emulator stores). This module generates from the descriptors (one function per message
 * type, through packages/client/src/codec/codegen.ts's builder) an encoder that reads the JSON object in the order
 * ts-proto writes fields and writes their bytes as ts-proto does (zero values dropped, messages
 * kept when present, lists element by element). It takes the canonical form the exporter prints:
 * proto field names, enums as numbers, RFC 3339 `Z` timestamps. Anything else — camelCase keys,
 * enum names, null, numbers as strings, unknown keys, Struct/Value/ListValue, non-empty maps and
 * numeric lists, two members of one oneof, lone surrogates, offsets — makes it give up, and the
 * caller takes the reference path, which either accepts the entry or says what is wrong with it.
 * test/codec/restJsonEncoder.test.ts holds it byte-identical to the reference.
 */
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { daysFromCivil, daysInMonth } from "../domain/time.js";
import { GeneratedCode, messageClosure } from "./codegen.js";
import { messageDesc } from "./registry.js";
import { ENCODER_RUNTIME } from "./restJsonEncoderRuntime.js";
import { SCALAR_TYPE, WRAPPER_SCALAR } from "./scalarTypes.js";

/** Thrown by the generated code to hand an entry to the reference path. */
const FB: unique symbol = Symbol("fallback to the reference JSON mapping");

interface EncoderHelpers extends Record<string, unknown> {
  FB: typeof FB;
  daysFromCivil: typeof daysFromCivil;
  daysInMonth: typeof daysInMonth;
}

type EncoderCode = GeneratedCode<EncoderHelpers>;

/** The encoder: `encode` returns the entry's byte count (the bytes are `buffer()[0, n)`) or -1. */
export interface RestJsonEncoder {
  /** Encodes `json`; -1 when only the reference can tell what it holds. */
  encode(json: unknown): number;
  /** The output buffer of the last `encode` (replaced as it grows; overwritten by the next call). */
  buffer(): Buffer;
}

const T = SCALAR_TYPE;
const WRAPPERS = WRAPPER_SCALAR;

/** Statements writing a tag (its varint bytes are constants). */
function tag(number: number, wire: number): string {
  const bytes: number[] = [];
  let t = number * 8 + wire;
  while (t > 127) {
    bytes.push((t & 127) | 128);
    t = Math.floor(t / 128);
  }
  bytes.push(t);
  return `ens(${bytes.length}); ${bytes.map((b) => `o[op++] = ${b};`).join(" ")}`;
}

/**
 * Statements writing scalar field `number` holding JSON value `x` (already known present), with
 * proto3 implicit presence: the zero value writes nothing; undefined for kinds left to the reference.
 */
function scalarField(scalar: number, number: number, x: string): string | undefined {
  switch (scalar) {
    case T.STRING:
      return `if (typeof ${x} !== "string") throw FB; if (${x} !== "") { ${tag(number, 2)} str(${x}); }`;
    case T.BOOL:
      return `if (typeof ${x} !== "boolean") throw FB; if (${x}) { ${tag(number, 0)} ens(1); o[op++] = 1; }`;
    case T.INT32:
      return `if (i32(${x}) !== 0) { ${tag(number, 0)} v64(${x}); }`;
    case T.UINT32:
      return `if (u32(${x}) !== 0) { ${tag(number, 0)} v32(${x}); }`;
    case T.INT64:
    case T.UINT64:
      return `{ const n = i64(${x}, ${scalar === T.UINT64}); if (n !== 0) { ${tag(number, 0)} v64(n); } }`;
    case T.DOUBLE:
      return `{ const d = dbl(${x}); if (d !== 0) { ${tag(number, 1)} wd(d); } }`;
    case T.FLOAT:
      return `{ const d = flt(${x}); if (d !== 0) { ${tag(number, 5)} wf(d); } }`;
    case T.BYTES:
      return `if (typeof ${x} !== "string") throw FB; if (${x} !== "") { ${tag(number, 2)} b64(${x}); }`;
    default:
      return undefined;
  }
}

/** A list element's wire type and the statements writing its value `e` (zeros included). */
function elementWrite(scalar: number, e: string): { wire: number; write: string } | undefined {
  switch (scalar) {
    case T.STRING:
      return { wire: 2, write: `if (typeof ${e} !== "string") throw FB; str(${e});` };
    case T.BYTES:
      return { wire: 2, write: `b64(${e});` };
    case T.BOOL:
      return { wire: 0, write: `if (typeof ${e} !== "boolean") throw FB; ens(1); o[op++] = ${e} ? 1 : 0;` };
    case T.INT32:
      return { wire: 0, write: `v64(i32(${e}));` };
    case T.UINT32:
      return { wire: 0, write: `v32(u32(${e}));` };
    case T.INT64:
    case T.UINT64:
      return { wire: 0, write: `v64(i64(${e}, ${scalar === T.UINT64}));` };
    case T.DOUBLE:
      return { wire: 1, write: `wd(dbl(${e}));` };
    case T.FLOAT:
      return { wire: 5, write: `wf(flt(${e}));` };
    default:
      return undefined;
  }
}

/** Name of the function writing a message body of `desc` from its JSON, or undefined (reference only). */
function bodyFn(code: EncoderCode, desc: DescMessage): string | undefined {
  if (desc.typeName === "google.protobuf.Timestamp") return "tsw";
  if (WRAPPERS[desc.typeName] !== undefined) return `wr${WRAPPERS[desc.typeName]}`;
  if (desc.typeName.startsWith("google.protobuf.")) return undefined;
  return code.functionName(desc, "m");
}

/** Statements writing message field `number` from JSON value `x` (present, so written even if empty). */
function messageField(code: EncoderCode, desc: DescMessage, number: number, x: string): string {
  const fn = bodyFn(code, desc);
  if (fn === undefined) return "throw FB;";
  return `${tag(number, 2)} { ens(1); const at = op++; ${fn}(${x}); fin(at); }`;
}

function fieldSource(code: EncoderCode, field: DescField, oneofCounter: string | undefined): string {
  const x = "x";
  const read = `x = v[${JSON.stringify(field.name)}];`;
  let write: string;
  switch (field.fieldKind) {
    case "scalar":
      // Explicit presence (oneof members, proto3 optional) would write zero values too; only
      // google.protobuf.Value has such scalars here, and it is left to the reference anyway.
      write =
        field.oneof !== undefined || field.presence === 1
          ? "throw FB;"
          : (scalarField(field.scalar, field.number, x) ?? "throw FB;");
      break;
    case "enum":
      write = `if (i32(${x}) !== 0) { ${tag(field.number, 0)} v64(${x}); }`;
      break;
    case "message":
      // The body checks the value's shape (an object, a Timestamp string, a wrapper's primitive).
      write = messageField(code, field.message, field.number, x);
      break;
    case "list": {
      const loop = (item: string) => `for (let i = 0; i < ${x}.length; i++) { const e = ${x}[i]; ${item} }`;
      if (field.listKind === "message") {
        write = loop(messageField(code, field.message, field.number, "e"));
      } else {
        const scalar = field.listKind === "enum" ? T.INT32 : field.scalar;
        const one = elementWrite(scalar, "e");
        if (one === undefined) write = `if (${x}.length !== 0) throw FB;`;
        else if (field.packed && one.wire !== 2) {
          // ts-proto writes a packed list only when it is not empty; its elements keep zeros.
          write = `if (${x}.length !== 0) { ${tag(field.number, 2)} ens(1); const at = op++; ${loop(one.write)} fin(at); }`;
        } else write = loop(`${tag(field.number, one.wire)} ${one.write}`);
      }
      write = `if (!Array.isArray(${x})) throw FB; ${write}`;
      break;
    }
    case "map":
      write = `if (!isObj(${x})) throw FB; for (const _ in ${x}) throw FB;`;
      break;
  }
  const counted = oneofCounter === undefined ? "" : `if (${oneofCounter}++ !== 0) throw FB; `;
  return `  ${read}\n  if (x !== undefined) { n++; ${counted}${write} }`;
}

function genMessage(code: EncoderCode, desc: DescMessage): string {
  const name = code.functionName(desc, "m");
  const oneofs = new Map<string, string>();
  for (const f of desc.fields) {
    if (f.oneof !== undefined && !oneofs.has(f.oneof.name)) oneofs.set(f.oneof.name, `c${oneofs.size}`);
  }
  const counters = [...oneofs.values()].map((c) => `let ${c} = 0;`).join(" ");
  const fields = desc.fields.map((f) =>
    fieldSource(code, f, f.oneof === undefined ? undefined : oneofs.get(f.oneof.name)),
  );
  return [
    `// ${desc.typeName}`,
    `function ${name}(v) {`,
    "  if (!isObj(v) || ++dp > 90) throw FB;",
    `  let n = 0; let x; ${counters}`,
    ...fields,
    "  if (nkeys(v) !== n) throw FB;",
    "  dp--;",
    "}",
  ].join("\n");
}

function genWrappers(): string {
  return Object.entries(WRAPPERS)
    .map(([typeName, scalar]) => {
      const body = scalarField(scalar, 1, "x") ?? "throw FB;";
      return `// ${typeName}\nfunction wr${scalar}(x) { ${body} }`;
    })
    .join("\n");
}

/** The encoder's source, built from the descriptors (compile it, or print it with `source()`). */
export function restJsonEncoderCode(typeName = "clarifai.api.AuditLogEntry"): EncoderCode {
  const code: EncoderCode = new GeneratedCode<EncoderHelpers>({ FB, daysFromCivil, daysInMonth });
  const root = messageDesc(typeName);
  code.add(ENCODER_RUNTIME).add(genWrappers());
  const rootFn = code.functionName(root, "m");
  for (const desc of messageClosure(root)) {
    const fn = bodyFn(code, desc);
    if (fn?.startsWith("m")) code.add(genMessage(code, desc));
  }
  return code.returns(`
return {
  encode(v) {
    op = 0;
    dp = 0;
    try {
      ${rootFn}(v);
    } catch (e) {
      if (e === FB) return -1;
      throw e;
    }
    return op;
  },
  buffer() { return o; },
};`);
}

const encoders = new Map<string, RestJsonEncoder>();

/** The compiled encoder for message `typeName` (an AuditLogEntry unless told), built on first use. */
export function restJsonEncoder(typeName = "clarifai.api.AuditLogEntry"): RestJsonEncoder {
  let enc = encoders.get(typeName);
  if (enc === undefined) {
    enc = restJsonEncoderCode(typeName).compile<RestJsonEncoder>();
    encoders.set(typeName, enc);
  }
  return enc;
}
