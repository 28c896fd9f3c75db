/**
 * The leaves of a signed log: each entry's line exactly as stored (an export's JSON line or OCSF
 * event line, a lake row's `entry` column), without its newline. One splitter for the signer and
 * the verifier, so both see the same leaves in the same bytes.
 */
import { HASH_BYTES, leafHashInPlace, leafHashInto } from "./merkle.js";

/** Formats whose bytes a signed export's leaves are read from (CSV has no JSON line per entry). */
export type LeafFormat = "jsonl" | "json" | "ocsf";

/** Bytes of a leaf hash kept in a digest for naming an entry that differs (the root binds all 32). */
export const LEAF_PREFIX_BYTES = 8;

const NL = 0x0a;
const OPEN_BRACE = 0x7b;
const COMMA = 0x2c;

/**
 * Calls `leaf(start, end)` for each entry in `bytes[from, to)` of a file of `format`: JSON Lines and
 * OCSF, every non-empty line; a JSON array (one element per line, export's layout), every line that
 * starts with `{`, without the comma that follows it. A range a commit wrote always ends at a line's
 * end, except a JSON array's last element (its comma comes with the next batch).
 */
export function forEachLeaf(
  format: LeafFormat,
  bytes: Uint8Array,
  leaf: (start: number, end: number) => void,
  from = 0,
  to = bytes.length,
): void {
  let start = from;
  while (start < to) {
    let nl = bytes.indexOf(NL, start);
    if (nl < 0 || nl > to) nl = to;
    let end = nl;
    if (format === "json") {
      if (bytes[start] === OPEN_BRACE) {
        if (end > start && bytes[end - 1] === COMMA) end--;
        leaf(start, end);
      }
    } else if (end > start) leaf(start, end);
    start = nl + 1;
  }
}

/** The leaf hashes of one commit (or one file), in order. */
export class LeafHashes {
  #hashes: Buffer = Buffer.allocUnsafe(HASH_BYTES * 1024);
  #count = 0;

  /** Leaves added. */
  get count(): number {
    return this.#count;
  }

  /** Adds the leaf `bytes[start, end)`. */
  add(bytes: Uint8Array, start = 0, end = bytes.length): void {
    this.#room();
    leafHashInto(bytes, start, end, this.#hashes, this.#count * HASH_BYTES);
    this.#count++;
  }

  /**
   * {@link add} hashing the leaf where it is: `bytes[start - 1]` is changed during the call and put
   * back ({@link leafHashInPlace}); for the caller's own buffer only.
   */
  addInPlace(bytes: Uint8Array, start: number, end: number): void {
    this.#room();
    leafHashInPlace(bytes, start, end, this.#hashes, this.#count * HASH_BYTES);
    this.#count++;
  }

  /** Adds a leaf hash computed elsewhere. */
  addHash(hash: Uint8Array): void {
    this.#room();
    this.#hashes.set(hash, this.#count * HASH_BYTES);
    this.#count++;
  }

  /** Makes room for one more hash. */
  #room(): void {
    if ((this.#count + 1) * HASH_BYTES <= this.#hashes.length) return;
    const grown = Buffer.allocUnsafe(this.#hashes.length * 2);
    this.#hashes.copy(grown, 0, 0, this.#count * HASH_BYTES);
    this.#hashes = grown;
  }

  /**
   * Adds every leaf of `bytes[from, to)` of a file of `format` ({@link forEachLeaf}); `inPlace`: the
   * bytes are the caller's to change during the call ({@link addInPlace}).
   */
  addText(format: LeafFormat, bytes: Uint8Array, from = 0, to = bytes.length, inPlace = false): void {
    if (inPlace) forEachLeaf(format, bytes, (s, e) => this.addInPlace(bytes, s, e), from, to);
    else forEachLeaf(format, bytes, (s, e) => this.add(bytes, s, e), from, to);
  }

  /** The hashes laid end to end ({@link HASH_BYTES} each). */
  hashes(): Buffer {
    return this.#hashes.subarray(0, this.#count * HASH_BYTES);
  }

  /** The first {@link LEAF_PREFIX_BYTES} of each hash, laid end to end, base64: a digest's `leaves`. */
  prefixes(): string {
    const out = Buffer.allocUnsafe(this.#count * LEAF_PREFIX_BYTES);
    for (let i = 0; i < this.#count; i++)
      this.#hashes.copy(out, i * LEAF_PREFIX_BYTES, i * HASH_BYTES, i * HASH_BYTES + LEAF_PREFIX_BYTES);
    return out.toString("base64");
  }
}

/** A digest's `leaves` back as prefixes ({@link LEAF_PREFIX_BYTES} each), or undefined when malformed. */
export function decodeLeafPrefixes(text: string, count: number): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64");
  return bytes.length === count * LEAF_PREFIX_BYTES ? bytes : undefined;
}
