/**
 * Source text of the state and writers the generated REST JSON → bytes encoder
 * (packages/client/src/codec/restJsonEncoder.ts) calls: the output buffer `o` and position `op`, the nesting depth
 * `dp`, varints, length prefixes, strings, the scalar checks and the Timestamp parser. Spliced into
 * the generated source so that every call stays a local function of its one closure; `FB` (the
 * fallback signal), `daysFromCivil` and `daysInMonth` are the factory's parameters.
 *
 * Each check accepts a value only where the reference (@bufbuild/protobuf's `fromJson`, the
 * calendar check, ts-proto's decode and encode) accepts it and ends with the same bytes; anything
 * else throws `FB`, so the reference decides (and words the error).
 */
export const ENCODER_RUNTIME = `
let o = Buffer.allocUnsafe(1 << 16);
let op = 0;
let dp = 0;
function ens(n) {
  if (op + n <= o.length) return;
  let c = o.length * 2;
  while (c < op + n) c *= 2;
  const b = Buffer.allocUnsafe(c);
  o.copy(b, 0, 0, op);
  o = b;
}
/** A varint of n, 0 <= n < 2^32. */
function v32(n) {
  ens(5);
  while (n > 127) { o[op++] = (n & 127) | 128; n >>>= 7; }
  o[op++] = n;
}
/** A varint of the safe integer n; negatives as 10-byte two's complement (int32 and int64 alike). */
function v64(n) {
  if (n >= 0 && n <= 0xffffffff) { v32(n); return; }
  ens(10);
  let hi = Math.floor(n / 4294967296);
  let lo = (n - hi * 4294967296) >>> 0;
  hi >>>= 0;
  while (hi !== 0 || lo > 127) {
    o[op++] = (lo & 127) | 128;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  o[op++] = lo;
}
/** Ends a length-delimited field whose body started after the one byte reserved at \`at\`. */
function fin(at) {
  const len = op - at - 1;
  if (len < 128) { o[at] = len; return; }
  let size = 2;
  while (len >= 2 ** (7 * size)) size++;
  ens(size - 1);
  o.copyWithin(at + size, at + 1, op);
  op += size - 1;
  let l = len;
  let p = at;
  while (l > 127) { o[p++] = (l & 127) | 128; l >>>= 7; }
  o[p] = l;
}
/** A string's length and UTF-8 bytes; lone surrogates (the reference says "invalid UTF8") fall back. */
function str(s) {
  const n = s.length;
  if (n < 128) {
    ens(n + 1);
    const start = op + 1;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 128) break;
      o[start + i] = c;
    }
    if (i === n) { o[op] = n; op = start + n; return; }
  }
  if (!s.isWellFormed()) throw FB;
  const len = Buffer.byteLength(s, "utf8");
  v32(len);
  ens(len);
  op += o.write(s, op, len, "utf8");
}
function isObj(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
/** Own enumerable keys of a JSON object (a key the encoder did not read means: not ours). */
function nkeys(v) {
  let n = 0;
  for (const _ in v) n++;
  return n;
}
function i32(x) {
  if (typeof x !== "number" || !Number.isInteger(x) || x < -2147483648 || x > 2147483647) throw FB;
  return x;
}
function u32(x) {
  if (typeof x !== "number" || !Number.isInteger(x) || x < 0 || x > 4294967295) throw FB;
  return x;
}
/** int64/uint64 as ts-proto (forceLong=number) holds them: safe integers, from a number or a decimal string. */
function i64(x, unsigned) {
  let n = x;
  if (typeof x === "string") {
    if (!/^-?(?:0|[1-9][0-9]{0,15})$/.test(x)) throw FB;
    n = Number(x);
  }
  if (typeof n !== "number" || !Number.isSafeInteger(n) || (unsigned && n < 0)) throw FB;
  return n;
}
/** The three strings proto3 JSON spells non-finite numbers with. */
function special(x) {
  if (x === "NaN") return Number.NaN;
  if (x === "Infinity") return Number.POSITIVE_INFINITY;
  if (x === "-Infinity") return Number.NEGATIVE_INFINITY;
  throw FB;
}
function dbl(x) {
  if (typeof x === "string") return special(x);
  // JSON.parse reads 1e999 as Infinity, which the reference refuses as a number.
  if (typeof x !== "number" || !Number.isFinite(x)) throw FB;
  return x;
}
function flt(x) {
  if (typeof x === "string") return special(x);
  if (typeof x !== "number" || !Number.isFinite(Math.fround(x))) throw FB;
  return x;
}
function wd(x) { ens(8); o.writeDoubleLE(x, op); op += 8; }
function wf(x) { ens(4); o.writeFloatLE(x, op); op += 4; }
/** Standard padded base64 only (the reference also takes URL-safe and unpadded forms). */
function b64(x) {
  if (typeof x !== "string" || x.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(x)) throw FB;
  const b = Buffer.from(x, "base64");
  v32(b.length);
  ens(b.length);
  b.copy(o, op);
  op += b.length;
}
function dg(s, i) {
  const c = s.charCodeAt(i) - 48;
  if (!(c >= 0 && c <= 9)) throw FB;
  return c;
}
function sep(s, i, c) {
  if (s.charCodeAt(i) !== c) throw FB;
}
/**
 * A Timestamp's body from "YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z" naming a real instant of years 0001-9999
 * (offsets, lower-case letters and the rest go to the reference).
 */
function tsw(s) {
  if (typeof s !== "string") throw FB;
  const L = s.length;
  if (L < 20 || L > 30 || L === 21 || s.charCodeAt(L - 1) !== 90) throw FB;
  const y = dg(s, 0) * 1000 + dg(s, 1) * 100 + dg(s, 2) * 10 + dg(s, 3);
  sep(s, 4, 45);
  const mo = dg(s, 5) * 10 + dg(s, 6);
  sep(s, 7, 45);
  const d = dg(s, 8) * 10 + dg(s, 9);
  sep(s, 10, 84);
  const h = dg(s, 11) * 10 + dg(s, 12);
  sep(s, 13, 58);
  const mi = dg(s, 14) * 10 + dg(s, 15);
  sep(s, 16, 58);
  const sec = dg(s, 17) * 10 + dg(s, 18);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 59) throw FB;
  let nanos = 0;
  if (L > 20) {
    sep(s, 19, 46);
    let scale = 100000000;
    for (let i = 20; i < L - 1; i++) {
      nanos += dg(s, i) * scale;
      scale /= 10;
    }
  }
  const seconds = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
  if (seconds !== 0) { ens(1); o[op++] = 8; v64(seconds); }
  if (nanos !== 0) { ens(1); o[op++] = 16; v32(nanos); }
}
`;
