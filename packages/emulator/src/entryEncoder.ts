/**
 * A faster AuditLogEntry encoder for entries whose `user` and `targets` are shared objects (the
 * generator pools them): their encodings are cached per object, and each entry is assembled from
 * those cached bytes plus its own few scalar fields, in the generated encoder's field order. The
 * output is byte-identical to `AuditLogEntry.encode(e).finish()` (test/emulator/store.test.ts).
 */

import { varintSize, writeVarint } from "@clarifai-audit/client/internal/codec/index.js";
import { Timestamp } from "@clarifai-audit/client/internal/generated/google/protobuf/timestamp.js";
import {
  type AuditLogEntry,
  AuditLogTarget,
  User,
} from "@clarifai-audit/client/internal/generated/proto/clarifai/api/resources.js";

const userBytes = new WeakMap<User, Uint8Array>();
const targetBytes = new WeakMap<AuditLogTarget, Uint8Array>();

function cached<T extends object>(
  map: WeakMap<T, Uint8Array>,
  obj: T,
  encode: (o: T) => Uint8Array,
): Uint8Array {
  let b = map.get(obj);
  if (b === undefined) {
    b = encode(obj);
    map.set(obj, b);
  }
  return b;
}

/** Appends protobuf primitives to a growing buffer. */
class Out {
  buf = Buffer.allocUnsafe(1024);
  pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.pos + n) cap *= 2;
    const b = Buffer.allocUnsafe(cap);
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }

  varint(n: number): void {
    this.ensure(10);
    if (n < 0) {
      // int32 negatives are written as 10-byte two's complement varints.
      let lo = n >>> 0;
      let hi = 0xffffffff;
      for (let i = 0; i < 9; i++) {
        this.buf[this.pos++] = (lo & 0x7f) | 0x80;
        lo = ((lo >>> 7) | (hi << 25)) >>> 0;
        hi >>>= 7;
      }
      this.buf[this.pos++] = 1;
      return;
    }
    this.pos = writeVarint(this.buf, this.pos, n);
  }

  bytes(tag: number, b: Uint8Array): void {
    this.varint(tag);
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  string(tag: number, s: string): void {
    this.varint(tag);
    const n = s.length;
    if (n < 128) {
      // Short ASCII (ids, IPs, req ids) is copied char by char; anything else goes through utf8.
      this.ensure(n + 1);
      const start = this.pos + 1;
      let ascii = true;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          ascii = false;
          break;
        }
        this.buf[start + i] = c;
      }
      if (ascii) {
        this.buf[this.pos] = n;
        this.pos = start + n;
        return;
      }
    }
    const len = Buffer.byteLength(s, "utf8");
    this.varint(len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, "utf8");
  }

  /** The bytes written since the last call, as a view that the next encode overwrites. */
  take(): Uint8Array {
    const view = this.buf.subarray(0, this.pos);
    this.pos = 0;
    return view;
  }
}

const out = new Out();

/** AuditLogEntry.encode(e).finish(), faster when users and targets are shared objects. */
export function encodeEntry(e: AuditLogEntry): Uint8Array {
  return Buffer.from(encodeEntryTransient(e));
}

/**
 * Like {@link encodeEntry}, but returns a view into a scratch buffer that the next call reuses:
 * for callers that copy the bytes away at once (the store does), it saves an allocation per entry.
 */
export function encodeEntryTransient(e: AuditLogEntry): Uint8Array {
  const t = e.timestamp;
  if (t !== undefined) {
    if (t.seconds >= 0 && t.nanos >= 0) {
      // Inline the common case; negative int64 seconds take the generated path.
      const len =
        (t.seconds !== 0 ? 1 + varintSize(t.seconds) : 0) + (t.nanos !== 0 ? 1 + varintSize(t.nanos) : 0);
      out.varint(10);
      out.varint(len);
      if (t.seconds !== 0) {
        out.varint(8);
        out.varint(t.seconds);
      }
      if (t.nanos !== 0) {
        out.varint(16);
        out.varint(t.nanos);
      }
    } else out.bytes(10, Timestamp.encode(t).finish());
  }
  if (e.user !== undefined)
    out.bytes(
      18,
      cached(userBytes, e.user, (u) => User.encode(u).finish()),
    );
  if (e.operation !== 0) {
    out.varint(24);
    out.varint(e.operation);
  }
  if (e.description !== "") out.string(34, e.description);
  for (const t of e.targets)
    out.bytes(
      42,
      cached(targetBytes, t, (x) => AuditLogTarget.encode(x).finish()),
    );
  for (const d of e.details) out.string(50, d);
  if (e.success) {
    out.varint(56);
    out.varint(1);
  }
  if (e.reqId !== "") out.string(66, e.reqId);
  if (e.sourceIp !== "") out.string(74, e.sourceIp);
  return out.take();
}
