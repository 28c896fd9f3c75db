/**
 * Merkle trees as RFC 6962 §2.1 / RFC 9162 §2.1 define them (Certificate Transparency): a leaf hash
 * is SHA-256(0x00 || leaf), an interior node SHA-256(0x01 || left || right), the tree over n leaves
 * splits at the largest power of two below n, and the empty tree's hash is SHA-256 of nothing. The
 * same hashing lets anyone check a root, an inclusion proof or a log with any RFC 6962 tool.
 */
import * as crypto from "node:crypto";

/** Bytes of one SHA-256. */
export const HASH_BYTES = 32;

/**
 * Node's one-shot `crypto.hash` (20.12+): for inputs this small, the cost of a hash is mostly the
 * call, and one call with a string result is about twice as fast as a Hash object's three (a signed
 * export hashes each entry three times: its leaf, its commit's tree, the chain's tree).
 */
const oneShot = crypto.hash as typeof crypto.hash | undefined;

/** SHA-256 of `data`, written into `out` at `at`. */
function sha256Into(data: Uint8Array, out: Buffer, at: number): void {
  if (oneShot !== undefined) out.write(oneShot("sha256", data, "binary"), at, HASH_BYTES, "latin1");
  else out.set(crypto.createHash("sha256").update(data).digest(), at);
}

const copyBytes = Buffer.prototype.copy;

/** The prefix byte and the bytes hashed after it, laid end to end (reused: hashing is synchronous). */
let scratch = Buffer.allocUnsafe(64 * 1024);

/** SHA-256(0x00 || bytes[start, end)) written into `out` at `at`: {@link leafHash} without a new Buffer. */
export function leafHashInto(bytes: Uint8Array, start: number, end: number, out: Buffer, at: number): void {
  const n = end - start;
  if (n + 1 > scratch.length) scratch = Buffer.allocUnsafe(Math.max(n + 1, scratch.length * 2));
  scratch[0] = 0;
  // Buffer's copy takes any Uint8Array and makes no view object (subarray's cost is the call's).
  copyBytes.call(bytes, scratch, 1, start, end);
  sha256Into(scratch.subarray(0, n + 1), out, at);
}

/**
 * {@link leafHashInto} without copying the leaf: the byte before it (`bytes[start - 1]`) holds the
 * prefix 0x00 for the call and is put back after (at `start` 0, the copy). Only for bytes that nothing
 * else reads meanwhile (the caller's own buffer): a copy per leaf was ~40% of a leaf's hashing.
 */
export function leafHashInPlace(
  bytes: Uint8Array,
  start: number,
  end: number,
  out: Buffer,
  at: number,
): void {
  if (start === 0) {
    leafHashInto(bytes, start, end, out, at);
    return;
  }
  const keep = bytes[start - 1] as number;
  bytes[start - 1] = 0;
  try {
    sha256Into(bytes.subarray(start - 1, end), out, at);
  } finally {
    bytes[start - 1] = keep;
  }
}

/** SHA-256(0x00 || bytes[start, end)): the hash of one leaf. */
export function leafHash(bytes: Uint8Array, start = 0, end = bytes.length): Buffer {
  const out = Buffer.allocUnsafe(HASH_BYTES);
  leafHashInto(bytes, start, end, out, 0);
  return out;
}

const node = Buffer.allocUnsafe(1 + 2 * HASH_BYTES);

/**
 * Copies `n` bytes from `src` at `from` to `dst` at `to`: for the 32 and 64 bytes of a node, a
 * loop the JIT compiles costs less than a call into Buffer's copy.
 */
function copySmall(src: Uint8Array, from: number, dst: Uint8Array, to: number, n: number): void {
  for (let i = 0; i < n; i++) dst[to + i] = src[from + i] as number;
}

/** SHA-256(0x01 || left || right) written into `out` at `at` (`out` may hold `left` or `right`). */
function nodeHashInto(left: Uint8Array, right: Uint8Array, out: Buffer, at: number): void {
  node[0] = 1;
  copySmall(left, 0, node, 1, HASH_BYTES);
  copySmall(right, 0, node, 1 + HASH_BYTES, HASH_BYTES);
  sha256Into(node, out, at);
}

/** SHA-256(0x01 || left || right): the hash of an interior node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HASH_BYTES);
  nodeHashInto(left, right, out, 0);
  return out;
}

/** The hash of the empty tree: SHA-256 of no bytes. */
export function emptyRoot(): Buffer {
  return crypto.createHash("sha256").digest();
}

/** The i-th hash of `hashes` (leaf hashes laid end to end, {@link HASH_BYTES} each). */
export function hashAt(hashes: Uint8Array, i: number): Buffer {
  return Buffer.from(hashes.buffer, hashes.byteOffset + i * HASH_BYTES, HASH_BYTES);
}

/** Largest power of two strictly below n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[from, to)) over leaf hashes laid end to end. */
function subtreeRoot(hashes: Uint8Array, from: number, to: number): Buffer {
  const n = to - from;
  if (n === 0) return emptyRoot();
  if (n === 1) return hashAt(hashes, from);
  const k = split(n);
  return nodeHash(subtreeRoot(hashes, from, from + k), subtreeRoot(hashes, from + k, to));
}

/**
 * The Merkle tree hash of `count` leaf hashes laid end to end in `hashes` (RFC 6962 §2.1), level by
 * level: pairing neighbours from the left and carrying an odd last node up unchanged builds the same
 * tree as splitting at the largest power of two below n (its left part is always a perfect subtree).
 */
export function merkleRoot(hashes: Uint8Array, count = hashes.length / HASH_BYTES): Buffer {
  if (count <= 1) return count === 0 ? emptyRoot() : Buffer.from(hashAt(hashes, 0));
  const level = Buffer.from(hashes.subarray(0, count * HASH_BYTES));
  for (let n = count; n > 1; ) {
    const pairs = Math.floor(n / 2);
    node[0] = 1;
    for (let i = 0; i < pairs; i++) {
      copySmall(level, 2 * i * HASH_BYTES, node, 1, 2 * HASH_BYTES);
      sha256Into(node, level, i * HASH_BYTES);
    }
    if (n % 2 === 1) level.copy(level, pairs * HASH_BYTES, (n - 1) * HASH_BYTES, n * HASH_BYTES);
    n = pairs + (n % 2);
  }
  return Buffer.from(level.subarray(0, HASH_BYTES));
}

/**
 * The audit path of leaf `index` in the tree over `count` leaf hashes (RFC 6962 §2.1.1, PATH(m, D[n])):
 * the sibling hashes from the leaf up.
 */
export function inclusionProof(
  hashes: Uint8Array,
  index: number,
  count = hashes.length / HASH_BYTES,
): Buffer[] {
  if (!Number.isInteger(index) || index < 0 || index >= count)
    throw new RangeError(`leaf ${index} is outside a tree of ${count}`);
  const path: Buffer[] = [];
  const walk = (m: number, from: number, to: number): void => {
    const n = to - from;
    if (n <= 1) return;
    const k = split(n);
    if (m < k) {
      walk(m, from, from + k);
      path.push(subtreeRoot(hashes, from + k, to));
    } else {
      walk(m - k, from + k, to);
      path.push(subtreeRoot(hashes, from, from + k));
    }
  };
  walk(index, 0, count);
  return path;
}

/**
 * The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or undefined when the proof cannot be
 * one of leaf `index` in a tree of `size` leaves (wrong length).
 */
export function rootFromInclusionProof(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Buffer | undefined {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return undefined;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

/**
 * A growing tree kept as its frontier: the roots of the perfect subtrees that make up the tree so
 * far, largest first (one per set bit of the size). Appending is O(log n) and the frontier (at most
 * 64 hashes) is all a signer stores to continue a chain's tree after a restart.
 */
export class MerkleFrontier {
  #size: number;
  /** Roots of perfect subtrees, largest (leftmost) first. */
  readonly #nodes: Buffer[];

  constructor(size = 0, nodes: readonly Uint8Array[] = []) {
    let bits = 0;
    for (let s = size; s > 0; s = Math.floor(s / 2)) bits += s % 2;
    if (!Number.isSafeInteger(size) || size < 0 || bits !== nodes.length)
      throw new RangeError(`a frontier of a tree of ${size} leaves has ${bits} nodes, not ${nodes.length}`);
    this.#size = size;
    this.#nodes = nodes.map((n) => Buffer.from(n));
  }

  /** Leaves appended so far. */
  get size(): number {
    return this.#size;
  }

  /** Appends one leaf hash. */
  append(leaf: Uint8Array): void {
    this.#appendAt(leaf, 0);
  }

  /** Appends `count` leaf hashes laid end to end. */
  appendAll(hashes: Uint8Array, count = hashes.length / HASH_BYTES): void {
    for (let i = 0; i < count; i++) this.#appendAt(hashes, i * HASH_BYTES);
  }

  /** Appends the leaf hash at `src[at, at + 32)`, with one new Buffer (the node it pushes). */
  #appendAt(src: Uint8Array, at: number): void {
    let size = this.#size;
    this.#size++;
    const out = Buffer.allocUnsafe(HASH_BYTES);
    copySmall(src, at, out, 0, HASH_BYTES);
    // Each trailing set bit of the old size is a subtree of the new leaf's height: merge it.
    while (size % 2 === 1) {
      nodeHashInto(this.#nodes.pop() as Buffer, out, out, 0);
      size = Math.floor(size / 2);
    }
    this.#nodes.push(out);
  }

  /** MTH of the leaves so far. */
  root(): Buffer {
    const nodes = this.#nodes;
    if (nodes.length === 0) return emptyRoot();
    let r: Buffer = nodes[nodes.length - 1] as Buffer;
    for (let i = nodes.length - 2; i >= 0; i--) r = nodeHash(nodes[i] as Buffer, r);
    return r;
  }

  /** The frontier's hashes (hex), largest subtree first: with {@link size}, what resumes it. */
  nodes(): string[] {
    return this.#nodes.map((n) => n.toString("hex"));
  }

  /** A frontier from its {@link size} and {@link nodes}. */
  static of(size: number, nodes: readonly string[]): MerkleFrontier {
    return new MerkleFrontier(
      size,
      nodes.map((n) => Buffer.from(n, "hex")),
    );
  }
}
