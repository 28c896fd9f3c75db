/**
 * Source text of the protobuf wire readers shared by the generated fast paths (src/codec/decoder.ts,
 * src/codec/jsonTranscoder.ts).
 *
 * It is spliced into each module's generated source rather than called from here, so every reader
 * stays a local function of the one closure that holds the input state (`s`: the Buffer, `rp`: the
 * read position, `FB`: the fallback signal) and the generated code runs exactly as when each module
 * had its own copy.
 */

/**
 * Generated-source functions `rv` (uint32 varint), `rbool`, `sv` (skip varint), `sk(tag)` (skip a
 * field) and `r64(signed)` (int64/uint64 as a JS number); each throws `FB` where ts-proto would
 * read something else.
 */
export const WIRE_READERS = `
function rv() {
  const src = s;
  let p = rp;
  let b = src[p++];
  if (b < 128) { rp = p; return b; }
  let r = b & 127;
  b = src[p++]; r |= (b & 127) << 7; if (b < 128) { rp = p; return r; }
  b = src[p++]; r |= (b & 127) << 14; if (b < 128) { rp = p; return r; }
  b = src[p++]; r |= (b & 127) << 21; if (b < 128) { rp = p; return r; }
  b = src[p++]; r = (r | ((b & 15) << 28)) >>> 0; if (b < 128) { rp = p; return r; }
  for (let i = 0; i < 5; i++) { b = src[p++]; if (b < 128) { rp = p; return r; } }
  throw FB;
}
/** A varint as ts-proto's reader.bool() sees it: true when any of its 64 bits is set. */
function rbool() {
  let nz = false;
  for (let i = 0; i < 10; i++) {
    const b = s[rp++];
    if ((b & 127) !== 0 && (i < 9 || (b & 1) !== 0)) nz = true;
    if (b < 128) return nz;
  }
  throw FB;
}
function sv() {
  for (let i = 0; i < 10; i++) { if (s[rp++] < 128) return; }
  throw FB;
}
function sk(t) {
  // Field number 0 ends a ts-proto decode loop early; leave such bytes to the reference path.
  if (t < 8) throw FB;
  switch (t & 7) {
    case 0: sv(); return;
    case 1: rp += 8; return;
    case 2: { const l = rv(); rp += l; return; }
    case 5: rp += 4; return;
    default: throw FB;
  }
}
function r64(signed) {
  let b = s[rp++];
  if (b < 128) return b;
  let lo = b & 127;
  b = s[rp++]; lo |= (b & 127) << 7; if (b < 128) return lo;
  b = s[rp++]; lo |= (b & 127) << 14; if (b < 128) return lo;
  b = s[rp++]; lo |= (b & 127) << 21; if (b < 128) return lo;
  // Bits 28 and up, as a float (exact up to 2^53 of the total).
  let hi = 0, m = 1, i = 4;
  for (; i < 10; i++) {
    b = s[rp++];
    hi += (b & 127) * m;
    m *= 128;
    if (b < 128) break;
  }
  if (i === 10 || (i === 9 && b > 1)) throw FB;
  const v = hi * 268435456 + lo;
  if (v <= 9007199254740991) return v;
  if (!signed || hi < 34359738368) throw FB;
  const mag = (68719476736 - hi) * 268435456 - lo;
  if (mag > 9007199254740991) throw FB;
  return -mag;
}
`;
