/**
 * One pass over an export's (uncompressed) bytes, chunk by chunk: the byte ranges its digests
 * describe, tiled from 0, each hashed (SHA-256) and split into leaves ({@link forEachLeaf}, per range
 * as the signer split them) as the bytes go by. A line cut by a chunk's end waits in a small carry
 * buffer; nothing else is copied, and nothing is allocated per entry but its leaf hash.
 */
import { createHash, type Hash } from "node:crypto";
import { forEachLeaf, type LeafFormat, LeafHashes } from "@clarifai-audit/client/internal/digest/leaves.js";
import { HASH_BYTES } from "@clarifai-audit/client/internal/digest/merkle.js";

/** A range of the file a digest describes. */
export interface ByteRange {
  offset: number;
  bytes: number;
}

/** What one range held. */
export interface RangeResult {
  /** The range's index in the walker's list. */
  index: number;
  /** SHA-256 (hex) of the bytes found. */
  sha256: string;
  /** Bytes found (fewer than the range's when the file ended inside it). */
  bytes: number;
  leaves: LeafHashes;
  /** 1-based line of each leaf (the first `leaves.count`). */
  lines: Uint32Array;
  /** Whether the file held the whole range. */
  complete: boolean;
  /** Lines the file held before this range (the line of an entry due after the last leaf: +1). */
  linesBefore: number;
  /** Lines ended (newlines) by the end of what was found. */
  linesAfter: number;
  /** Whether what was found ends inside a line (no newline after its last bytes). */
  cut: boolean;
}

const NL = 0x0a;

function newlinesIn(bytes: Buffer, from: number, to: number): number {
  let n = 0;
  for (let i = bytes.indexOf(NL, from); i >= 0 && i < to; i = bytes.indexOf(NL, i + 1)) n++;
  return n;
}

/** See the module comment. */
export class RangeWalker {
  readonly #format: LeafFormat;
  readonly #ranges: readonly ByteRange[];
  readonly #onRange: (result: RangeResult) => void;
  #r = 0;
  #pos = 0;
  #end = 0;
  #hash: Hash = createHash("sha256");
  #found = 0;
  #leaves = new LeafHashes();
  #lines = new Uint32Array(1024);
  #newlines = 0;
  #linesBefore = 0;
  #carry = Buffer.allocUnsafe(64 * 1024);
  #carryLength = 0;
  /** Where bytes after the last range start (byte offset and line), once seen. */
  extra: { offset: number; line: number } | undefined;
  /**
   * When set, called with the leaf hashes of range `index` as they are found (after each chunk
   * and before the range's result), in order: a tree can grow while the file is read.
   */
  onLeaves: ((index: number, hashes: Buffer, count: number) => void) | undefined;
  /** Leaves of the current range already passed to {@link onLeaves}. */
  #sent = 0;

  readonly #from: number;

  /** `from`: ranges before it only count lines (their leaves are not split or hashed). */
  constructor(
    format: LeafFormat,
    ranges: readonly ByteRange[],
    onRange: (result: RangeResult) => void,
    from = 0,
  ) {
    this.#format = format;
    this.#from = from;
    this.#ranges = ranges;
    this.#onRange = onRange;
    this.#begin();
  }

  /** Bytes seen so far. */
  get position(): number {
    return this.#pos;
  }

  /** Feeds the next chunk; false once bytes past the last range were seen ({@link extra}). */
  push(chunk: Buffer): boolean {
    let i = 0;
    while (i < chunk.length) {
      if (this.#r >= this.#ranges.length) {
        this.extra ??= { offset: this.#pos, line: this.#newlines + 1 };
        return false;
      }
      const take = Math.min(chunk.length - i, this.#end - this.#pos);
      this.#hash.update(chunk.subarray(i, i + take));
      this.#scan(chunk.subarray(0, i + take), i);
      i += take;
      this.#pos += take;
      this.#found += take;
      if (this.#pos === this.#end) this.#finish(true);
    }
    this.#passLeaves();
    return true;
  }

  /** Passes the current range's leaves not passed yet to {@link onLeaves}. */
  #passLeaves(): void {
    const count = this.#leaves.count;
    const from = this.#sent;
    if (this.onLeaves === undefined || count === from || this.#r >= this.#ranges.length) return;
    this.#sent = count;
    this.onLeaves(this.#r, this.#leaves.hashes().subarray(from * HASH_BYTES), count - from);
  }

  /** The file ended: the range it ended in (if any) is reported incomplete. */
  end(): void {
    if (this.#r < this.#ranges.length) this.#finish(false);
  }

  /** Starts range #r (and finishes empty ones at once). */
  #begin(): void {
    while (this.#r < this.#ranges.length) {
      const range = this.#ranges[this.#r] as ByteRange;
      this.#end = this.#pos + range.bytes;
      this.#linesBefore = this.#newlines;
      if (range.bytes > 0) return;
      this.#finish(true, false);
    }
  }

  #finish(complete: boolean, next = true): void {
    const cut = this.#carryLength > 0;
    if (cut) {
      this.#line(this.#carry, 0, this.#carryLength);
      this.#carryLength = 0;
    }
    this.#passLeaves();
    const result: RangeResult = {
      index: this.#r,
      sha256: this.#hash.digest("hex"),
      bytes: this.#found,
      leaves: this.#leaves,
      lines: this.#lines,
      complete,
      linesBefore: this.#linesBefore,
      linesAfter: this.#newlines,
      cut,
    };
    this.#r++;
    this.#hash = createHash("sha256");
    this.#found = 0;
    this.#leaves = new LeafHashes();
    this.#sent = 0;
    this.#onRange(result);
    if (complete && next) this.#begin();
    else if (!complete) this.#r = this.#ranges.length;
  }

  /** Leaves of `c[from, c.length)`: whole lines now, a cut one into the carry. */
  #scan(c: Buffer, from: number): void {
    const to = c.length;
    if (this.#r < this.#from) {
      this.#newlines += newlinesIn(c, from, to);
      return;
    }
    let start = from;
    if (this.#carryLength > 0) {
      const nl = c.indexOf(NL, start);
      if (nl < 0) {
        this.#keep(c, start, to);
        return;
      }
      this.#keep(c, start, nl);
      this.#line(this.#carry, 0, this.#carryLength);
      this.#carryLength = 0;
      this.#newlines++;
      start = nl + 1;
    }
    if (start >= to) return;
    const last = c.lastIndexOf(NL, to - 1);
    if (last < start) {
      this.#keep(c, start, to);
      return;
    }
    let counted = start;
    forEachLeaf(
      this.#format,
      c,
      (s, e) => {
        this.#newlines += newlinesIn(c, counted, s);
        counted = e;
        this.#add(c, s, e);
      },
      start,
      last,
    );
    this.#newlines += newlinesIn(c, counted, last + 1);
    if (last + 1 < to) this.#keep(c, last + 1, to);
  }

  /** The leaves of one line without its newline (a line the carry held). */
  #line(bytes: Buffer, from: number, to: number): void {
    forEachLeaf(this.#format, bytes, (s, e) => this.#add(bytes, s, e), from, to);
  }

  #add(bytes: Buffer, s: number, e: number): void {
    const i = this.#leaves.count;
    if (i >= this.#lines.length) {
      const grown = new Uint32Array(this.#lines.length * 2);
      grown.set(this.#lines);
      this.#lines = grown;
    }
    this.#lines[i] = this.#newlines + 1;
    // The chunks are the verifier's own (read or gunzipped for it, hashed before their leaves).
    this.#leaves.addInPlace(bytes, s, e);
  }

  /** Appends `c[from, to)` to the carry. */
  #keep(c: Buffer, from: number, to: number): void {
    const need = this.#carryLength + (to - from);
    if (need > this.#carry.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.#carry.length * 2));
      this.#carry.copy(grown, 0, 0, this.#carryLength);
      this.#carry = grown;
    }
    c.copy(this.#carry, this.#carryLength, from, to);
    this.#carryLength = need;
  }
}
