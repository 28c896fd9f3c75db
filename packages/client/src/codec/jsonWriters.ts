/**
 * Source text of the JSON output functions shared by the generated printers
 * (packages/client/src/codec/jsonlTranscoder.ts, packages/client/src/codec/entryPrinter.ts).
 *
 * They are part of each printer's generated source, not called from here: they write to the output
 * buffer (`o`, `op`) that the printer's closure owns, and a call across modules per value is what
 * the printers exist to avoid. Each printer defines its own `wi`/`wa`/`wq`/`wb` (they differ in who
 * reserves space), which the functions here call; `civilFromDays` is a helper passed in
 * (packages/client/src/codec/codegen.ts).
 */

/**
 * Generated-source declarations: `HEX`, `ens(n)` (room for n more bytes), `wn(v)` (a double as
 * protobuf JSON prints it) and `fb()` (always falls back).
 */
export const JSON_WRITERS = `
const HEX = "0123456789abcdef";
function ens(n) {
  if (op + n > o.length) {
    const next = Buffer.allocUnsafe(Math.max(o.length * 2, op + n));
    o.copy(next, 0, 0, op);
    o = next;
  }
}
function wn(v) {
  if (Number.isInteger(v) && v <= 4294967295 && v >= -4294967295) { wi(v === 0 ? 0 : v); return; }
  if (v !== v) { wa('"NaN"'); return; }
  if (v === Infinity) { wa('"Infinity"'); return; }
  if (v === -Infinity) { wa('"-Infinity"'); return; }
  wa(String(v));
}
function fb() { throw FB; }
`;

/**
 * Generated-source body of `wi(v)`: the integer `v` (up to 2^32 − 1 in magnitude; larger ones go
 * through `wa`) in decimal at `o[op]`, in room the printer's `wi` has reserved before it.
 */
export const INT_DIGITS = `  if (v < 0) { o[op++] = 45; v = -v; }
  if (v < 10) { o[op++] = 48 + v; return; }
  if (v > 4294967295) { wa(String(v)); return; }
  let d = 1;
  for (let x = v; x >= 10; x = (x / 10) >>> 0) d++;
  op += d;
  for (let p = op - 1; d > 0; d--, p--) { const q = (v / 10) >>> 0; o[p] = 48 + v - q * 10; v = q; }
`;

/**
 * Generated-source statements writing the ASCII byte `c` (a control character, `"` or `\`) escaped
 * as JSON does, at `out[p]` after the caller's check that it needs escaping.
 */
export function escapeAsciiSource(c: string): string {
  return `out[p++] = 92;
    switch (${c}) {
      case 34: out[p++] = 34; break;
      case 92: out[p++] = 92; break;
      case 8: out[p++] = 98; break;
      case 12: out[p++] = 102; break;
      case 10: out[p++] = 110; break;
      case 13: out[p++] = 114; break;
      case 9: out[p++] = 116; break;
      default:
        out[p++] = 117; out[p++] = 48; out[p++] = 48;
        out[p++] = HEX.charCodeAt(${c} >> 4); out[p++] = HEX.charCodeAt(${c} & 15);
    }`;
}

/**
 * Generated-source statements printing the Timestamp in `sec`/`nanos` (already read) as protobuf
 * JSON's quoted RFC 3339 string, with 0, 3, 6 or 9 fraction digits (the calendar is
 * packages/client/src/domain/time.ts's `civilFromDays`, passed in); out of the range JSON allows (years 1..9999,
 * nanos 0..999999999) they throw `FB`.
 */
export const TIMESTAMP_JSON = `
  const ms = sec * 1000;
  if (ms < -62135596800000 || ms > 253402300799000 || nanos < 0 || nanos > 999999999) throw FB;
  const day = Math.floor(sec / 86400);
  ens(40);
  const out = o;
  let p = op;
  out[p++] = 34;
  const [yy, mo, dd] = civilFromDays(day);
  const y1 = (yy / 100) | 0, y2 = yy - y1 * 100;
  let r = sec - day * 86400;
  const hh = (r / 3600) | 0; r -= hh * 3600;
  const mm = (r / 60) | 0; r -= mm * 60;
  out[p++] = 48 + ((y1 / 10) | 0); out[p++] = 48 + (y1 % 10);
  out[p++] = 48 + ((y2 / 10) | 0); out[p++] = 48 + (y2 % 10); out[p++] = 45;
  out[p++] = 48 + ((mo / 10) | 0); out[p++] = 48 + (mo % 10); out[p++] = 45;
  out[p++] = 48 + ((dd / 10) | 0); out[p++] = 48 + (dd % 10); out[p++] = 84;
  out[p++] = 48 + ((hh / 10) | 0); out[p++] = 48 + (hh % 10); out[p++] = 58;
  out[p++] = 48 + ((mm / 10) | 0); out[p++] = 48 + (mm % 10); out[p++] = 58;
  out[p++] = 48 + ((r / 10) | 0); out[p++] = 48 + (r % 10);
  if (nanos > 0) {
    out[p++] = 46;
    let digits = 9, x = nanos;
    if (x % 1000000 === 0) { digits = 3; x = x / 1000000; }
    else if (x % 1000 === 0) { digits = 6; x = x / 1000; }
    for (let q = p + digits - 1; q >= p; q--) { const d = (x / 10) | 0; out[q] = 48 + x - d * 10; x = d; }
    p += digits;
  }
  out[p++] = 90;
  out[p++] = 34;
  op = p;
`;
