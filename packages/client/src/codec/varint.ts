/**
 * Protobuf varints for the hand-written wire code: sizes and writes for the emulator's encoders,
 * reads for the reply splitter (packages/client/src/codec/replyBytes.ts). The generated transcoder has its own
 * inlined readers (packages/client/src/codec/wireReaders.ts): there a call per varint is what it exists to avoid.
 */

/** Bytes a protobuf varint of the non-negative number `n` (up to 2^53) takes. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** Writes the non-negative number `n` (up to 2^53) as a varint at `buf[pos]`; returns the end. */
export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Thrown by the readers below on a varint they do not take (too long, or past `end`). */
export const UNREADABLE_VARINT: unique symbol = Symbol("unreadable varint");

/** Where the last {@link readVarint} or {@link skipVarint} ended (one module slot, no allocation). */
export let varintEnd = 0;

/** A varint of at most 7 bytes (< 2^49) at `pos`, its end in {@link varintEnd}. */
export function readVarint(src: Uint8Array, pos: number, end: number): number {
  let v = 0;
  let m = 1;
  for (let i = 0; i < 7 && pos < end; i++) {
    const b = src[pos++] as number;
    v += (b & 127) * m;
    if (b < 128) {
      varintEnd = pos;
      return v;
    }
    m *= 128;
  }
  throw UNREADABLE_VARINT;
}

/** Skips a varint of up to 10 bytes (negative int32/int64 values take 10), its end in {@link varintEnd}. */
export function skipVarint(src: Uint8Array, pos: number, end: number): void {
  for (let i = 0; i < 10 && pos < end; i++) {
    if ((src[pos++] as number) < 128) {
      varintEnd = pos;
      return;
    }
  }
  throw UNREADABLE_VARINT;
}
