/**
 * Source text of the transcoder's runtime: the state every generated message function shares (the
 * input `s` and read position `rp`, the output `o` and write position `op`), the wire readers and
 * the JSON writers. It opens the generated source (packages/client/src/codec/jsonlTranscoderSource.ts) and refers to
 * the helpers passed in there (`FALLBACK`, `isUtf8`, `EMPTY`, `civilFromDays`).
 */
import { escapeAsciiSource, INT_DIGITS, JSON_WRITERS, TIMESTAMP_JSON } from "./jsonWriters.js";
import { WIRE_READERS } from "./wireReaders.js";

/** The runtime's source (see the module comment). */
export const TRANSCODER_RUNTIME = `
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
${INT_DIGITS}}
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
