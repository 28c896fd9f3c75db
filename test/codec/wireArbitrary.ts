/**
 * fast-check arbitraries of protobuf wire bytes for any message of the audit-log closure, built from
 * the descriptors: every field of every nested message can appear, with edge-case values (escapes,
 * unicode, NaN/-0/Infinity, int64 signs, timestamps with 0..9 significant nano digits).
 */
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import fc from "fast-check";
import { Status } from "../../packages/client/generated/proto/clarifai/api/status/status.js";

/** A field value to write; `raw` writes pre-encoded bytes as-is. */
type Plan = Array<{ field: DescField; value: unknown }>;

export interface WireOptions {
  /** Nesting depth for message fields below the root. */
  depth: number;
  /** Also produce rare wire shapes (duplicates, unknown fields, reversed order, several oneof members). */
  wild: boolean;
  /** Odds against each optional field being present (2 = present one time in three). */
  sparse: number;
  /** Leave out the shapes the fast path hands to the reference printer (maps, Struct/Value/ListValue). */
  fastOnly?: boolean;
}

const DELEGATED = new Set(["google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"]);

const specialStrings = [
  "",
  '"',
  "\\",
  "\n\r\t\b\f",
  "\u0000\u001f\u007f",
  "\u2028\u2029",
  "é中文",
  "😀 emoji",
  "</script>",
  "a\u0001b",
];

export const stringArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 8 }) },
  { weight: 2, arbitrary: fc.constantFrom(...specialStrings) },
);

const safeInt64 = fc.oneof(
  fc.constantFrom(
    0,
    1,
    -1,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 32,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
  ),
  fc.integer(),
  fc.maxSafeInteger(),
);

/** Timestamp bytes' {seconds, nanos}: nanos with 0..9 significant digits. */
export const timestampArb = fc
  .tuple(fc.integer({ min: -62135596800, max: 253402300799 }), fc.integer({ min: 0, max: 9 }), fc.nat())
  .map(([seconds, digits, r]) => {
    const scale = 10 ** (9 - digits);
    const nanos = digits === 0 ? 0 : (r % 10 ** digits) * scale;
    return { seconds, nanos };
  });

function scalarArb(scalar: ScalarType): fc.Arbitrary<unknown> {
  switch (scalar) {
    case ScalarType.STRING:
      return stringArb;
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 10 });
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return fc.oneof(fc.constantFrom(0, -1, 2147483647, -2147483648), fc.integer());
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.oneof(fc.constantFrom(0, 4294967295), fc.nat());
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return safeInt64;
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.oneof(fc.constantFrom(0, Number.MAX_SAFE_INTEGER), fc.maxSafeNat());
    case ScalarType.FLOAT:
      return fc.oneof(fc.float(), fc.constantFrom(0, -0, Number.NaN, Infinity, -Infinity, 0.1, 1e30));
    case ScalarType.DOUBLE:
      return fc.oneof(
        fc.double(),
        fc.constantFrom(0, -0, Number.NaN, Infinity, -Infinity, 0.1, 1e21, 5e-324),
      );
  }
}

function writeScalar(w: BinaryWriter, scalar: ScalarType, no: number, v: unknown): void {
  switch (scalar) {
    case ScalarType.STRING:
      w.tag(no, WireType.LengthDelimited).string(v as string);
      return;
    case ScalarType.BYTES:
      w.tag(no, WireType.LengthDelimited).bytes(v as Uint8Array);
      return;
    case ScalarType.BOOL:
      w.tag(no, WireType.Varint).bool(v as boolean);
      return;
    case ScalarType.INT32:
      w.tag(no, WireType.Varint).int32(v as number);
      return;
    case ScalarType.UINT32:
      w.tag(no, WireType.Varint).uint32(v as number);
      return;
    case ScalarType.INT64:
      w.tag(no, WireType.Varint).int64(v as number);
      return;
    case ScalarType.UINT64:
      w.tag(no, WireType.Varint).uint64(v as number);
      return;
    case ScalarType.FLOAT:
      w.tag(no, WireType.Bit32).float(v as number);
      return;
    case ScalarType.DOUBLE:
      w.tag(no, WireType.Bit64).double(v as number);
      return;
    default:
      throw new Error(`scalar ${scalar} not in the audit-log closure`);
  }
}

interface MessageValue {
  plan: Plan;
  reverse: boolean;
  unknown: boolean;
}

/** Builds arbitraries per (type, depth); memoized so the large closure stays cheap. */
export class WireArbitraries {
  private readonly memo = new Map<string, fc.Arbitrary<MessageValue>>();

  constructor(private readonly options: WireOptions) {}

  /** Serialized messages of `desc`. */
  bytes(desc: DescMessage): fc.Arbitrary<Uint8Array> {
    return this.message(desc, this.options.depth).map((m) => {
      const w = new BinaryWriter();
      this.write(w, m);
      return w.finish();
    });
  }

  private fieldArb(f: DescField, depth: number): fc.Arbitrary<unknown> | undefined {
    if (
      this.options.fastOnly &&
      (f.fieldKind === "map" || (f.message && DELEGATED.has(f.message.typeName)))
    ) {
      return undefined;
    }
    const elem = (): fc.Arbitrary<unknown> | undefined => {
      if (f.message) return depth > 0 ? this.message(f.message, depth - 1) : undefined;
      if (f.enum) return fc.oneof(fc.constantFrom(...f.enum.values.map((v) => v.number)), fc.integer());
      return scalarArb(f.scalar as ScalarType);
    };
    const e = elem();
    if (e === undefined) return undefined;
    if (f.fieldKind === "list") return fc.array(e, { maxLength: 3 });
    if (f.fieldKind === "map") return fc.array(fc.tuple(stringArb, e), { maxLength: 2 });
    return e;
  }

  private message(desc: DescMessage, depth: number): fc.Arbitrary<MessageValue> {
    const id = `${desc.typeName}@${depth}`;
    const hit = this.memo.get(id);
    if (hit) return hit;
    let arb: fc.Arbitrary<MessageValue>;
    if (desc.typeName === "google.protobuf.Timestamp") {
      const [secs, nanos] = desc.fields;
      arb = timestampArb.map(({ seconds, nanos: n }) => ({
        plan: [
          ...(seconds !== 0 ? [{ field: secs as DescField, value: seconds }] : []),
          ...(n !== 0 ? [{ field: nanos as DescField, value: n }] : []),
        ],
        reverse: false,
        unknown: false,
      }));
      this.memo.set(id, arb);
      return arb;
    }
    const plain = desc.fields.filter((f) => f.oneof === undefined);
    const parts: fc.Arbitrary<Plan>[] = [];
    for (const f of plain) {
      const a = this.fieldArb(f, depth);
      if (a === undefined) continue;
      parts.push(
        fc.oneof(
          { weight: this.options.sparse, arbitrary: fc.constant([] as Plan) },
          { weight: 1, arbitrary: a.map((value) => [{ field: f, value }]) },
        ),
      );
    }
    for (const oneof of desc.oneofs) {
      const members = oneof.fields
        .map((f) => {
          const a = this.fieldArb(f, depth);
          return a === undefined ? undefined : a.map((value) => ({ field: f, value }));
        })
        .filter((a) => a !== undefined);
      if (members.length === 0) continue;
      const one: fc.Arbitrary<Plan> = fc.oneof(...members).map((m) => [m]);
      const none: fc.Arbitrary<Plan> = fc.constant([]);
      parts.push(
        this.options.wild
          ? fc.oneof(
              { weight: 1, arbitrary: none },
              { weight: 4, arbitrary: one },
              { weight: 1, arbitrary: fc.array(fc.oneof(...members), { maxLength: 3 }) },
            )
          : fc.oneof({ weight: 1, arbitrary: none }, { weight: 4, arbitrary: one }),
      );
    }
    const wild = this.options.wild
      ? fc.tuple(fc.boolean(), fc.boolean())
      : fc.constant([false, false] as const);
    arb = fc.tuple(fc.tuple(...parts), wild).map(([ps, [reverse, unknown]]) => ({
      plan: ps.flat(),
      reverse,
      unknown,
    }));
    this.memo.set(id, arb);
    return arb;
  }

  private writeValue(w: BinaryWriter, f: DescField, v: unknown): void {
    if (f.message) {
      w.tag(f.number, WireType.LengthDelimited).fork();
      this.write(w, v as MessageValue);
      w.join();
      return;
    }
    const scalar = f.enum ? ScalarType.INT32 : (f.scalar as ScalarType);
    writeScalar(w, scalar, f.number, v);
  }

  private write(w: BinaryWriter, m: MessageValue): void {
    const plan = m.reverse ? [...m.plan].reverse() : m.plan;
    if (m.unknown) w.tag(999, WireType.LengthDelimited).string("unknown");
    for (const { field: f, value } of plan) {
      if (f.fieldKind === "list") {
        const items = value as unknown[];
        const packable =
          f.listKind !== "message" && !(f.scalar === ScalarType.STRING || f.scalar === ScalarType.BYTES);
        if (packable && items.length > 0 && !m.reverse) {
          w.tag(f.number, WireType.LengthDelimited).fork();
          for (const it of items) {
            const scalar = f.enum ? ScalarType.INT32 : (f.scalar as ScalarType);
            const tmp = new BinaryWriter();
            writeScalar(tmp, scalar, 1, it);
            const bytes = tmp.finish();
            w.raw(bytes.subarray(1));
          }
          w.join();
        } else {
          for (const it of items) this.writeValue(w, f, it);
        }
      } else if (f.fieldKind === "map") {
        for (const [k, v] of value as Array<[string, unknown]>) {
          w.tag(f.number, WireType.LengthDelimited).fork();
          w.tag(1, WireType.LengthDelimited).string(k);
          if (f.message) {
            w.tag(2, WireType.LengthDelimited).fork();
            this.write(w, v as MessageValue);
            w.join();
          } else {
            writeScalar(w, f.scalar as ScalarType, 2, v);
          }
          w.join();
        }
      } else {
        this.writeValue(w, f, value);
      }
    }
  }
}

/** FAST_CHECK_RUNS=N multiplies the runs for a deeper local check (N / 100 times the default). */
export function runs(n: number): number {
  return Math.round((n * Number(process.env.FAST_CHECK_RUNS ?? 100)) / 100);
}

/** What a path did with an input: its result, or that it threw (paths must agree on both). */
export type Outcome<T> = { ok: T } | { threw: true };

export function outcome<T>(f: () => T): Outcome<T> {
  try {
    return { ok: f() };
  } catch {
    return { threw: true };
  }
}

const OK_STATUS = Status.encode(Status.fromPartial({ code: 10000, description: "Ok", reqId: "r" })).finish();

/**
 * A `MultiAuditLogEntryResponse` with an OK status holding `entries` as they are (duplicates,
 * unknown fields, field order and malformed bytes stay), as a Buffer or a plain Uint8Array.
 */
export function replyOf(entries: readonly Uint8Array[], asBuffer = true): Uint8Array {
  const w = new BinaryWriter();
  w.tag(1, WireType.LengthDelimited).bytes(OK_STATUS);
  for (const e of entries) w.tag(2, WireType.LengthDelimited).bytes(e);
  const bytes = w.finish();
  return asBuffer ? Buffer.from(bytes) : bytes;
}
