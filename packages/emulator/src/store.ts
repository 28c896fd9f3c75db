/**
 * One account's audit log, stored column-wise so that a million entries fit in a few hundred MB:
 * each entry is kept only as its encoded bytes (in large shared chunks, ready to be copied into a
 * response) plus the few columns the query filters read. `order` lists entry ids sorted by
 * (timestamp, insertion sequence), so a time range is two binary searches and a page is a slice.
 */

import { type TargetKey, targetKey } from "@clarifai-audit/client/internal/domain/targets.js";
import {
  AuditLogEntry,
  type AuditLogTarget,
} from "@clarifai-audit/client/internal/generated/proto/clarifai/api/resources.js";
import { encodeEntryTransient } from "./entryEncoder.js";
import { buildPostings, type PostingColumn, type Postings } from "./postings.js";

const CHUNK_BYTES = 16 * 1024 * 1024;

/** What the filters read of one entry, for {@link AuditLog.appendEncoded} (taken from its JSON). */
export interface EntryColumns {
  seconds: number;
  nanos: number;
  userId: string;
  operation: number;
  success: boolean;
  sourceIp: string;
  /** One key per target; undefined for a target with no kind set. */
  targets: readonly (TargetKey | undefined)[];
}

/** Interns strings so that columns hold small integers. */
class Interner {
  private readonly ids = new Map<string, number>();
  readonly values: string[] = [];

  intern(s: string): number {
    let id = this.ids.get(s);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(s);
      this.ids.set(s, id);
    }
    return id;
  }

  lookup(s: string): number | undefined {
    return this.ids.get(s);
  }
}

function grow<T extends Float64Array | Int32Array | Uint32Array | Uint8Array | Uint16Array>(
  a: T,
  need: number,
): T {
  if (need <= a.length) return a;
  let cap = Math.max(16, a.length);
  while (cap < need) cap *= 2;
  const b = new (a.constructor as new (n: number) => T)(cap);
  b.set(a);
  return b;
}

/**
 * One account's audit log (see the module comment). Entries are treated as immutable once added:
 * their bytes, and the user and target objects they share, are cached.
 */
export class AuditLog {
  /** Number of entries. */
  size = 0;
  secs = new Float64Array(0);
  nanos = new Int32Array(0);
  user = new Int32Array(0);
  op = new Int32Array(0);
  success = new Uint8Array(0);
  ip = new Int32Array(0);
  /** Entry → its target keys: tpool[tStart[id] .. tStart[id] + tCount[id]). */
  tStart = new Uint32Array(0);
  tCount = new Uint16Array(0);
  tpool = new Int32Array(0);
  private tpoolLen = 0;
  private chunkOf = new Uint16Array(0);
  private offset = new Uint32Array(0);
  private length = new Uint32Array(0);
  private readonly chunks: Buffer[] = [];
  private chunkUsed = 0;
  /** Entries [0, placed) are in `order`; later ones were appended since the last commit. */
  private placed = 0;
  /**
   * Entry ids sorted ascending by (secs, nanos, id). Valid up to `size` once committed: queries
   * must not run between {@link append} and {@link commit} (the data loader commits before the
   * servers bind; `add` commits at once).
   */
  order = new Int32Array(0);

  readonly users = new Interner();
  readonly ips = new Interner();
  /** Distinct targets, by interned key. */
  readonly targets: TargetKey[] = [];
  private readonly targetIds = new Map<string, number>();
  /** Shared target objects (the generator pools them) skip the key building. */
  private readonly targetObjects = new WeakMap<AuditLogTarget, number>();
  /** Entries per value of each indexed column, kept current on add; picks the column to index. */
  readonly valueCounts: Record<PostingColumn, number[]> = { user: [], op: [], ip: [], target: [] };
  /** Bumped whenever entries are added; cached postings of an older version are stale. */
  private version = 0;
  private readonly postingCache = new Map<
    PostingColumn,
    { version: number; postings: Postings | undefined }
  >();

  /** Position lists of a column, built on first use after each change of the log. */
  postings(column: PostingColumn): Postings | undefined {
    const hit = this.postingCache.get(column);
    if (hit !== undefined && hit.version === this.version) return hit.postings;
    const postings = buildPostings(this, column);
    this.postingCache.set(column, { version: this.version, postings });
    return postings;
  }

  /** Adds entries; late ones (older than the newest stored) are merged into place. */
  add(entries: Iterable<AuditLogEntry>): void {
    for (const e of entries) this.append(e);
    this.commit();
  }

  /** Adds one entry, found by queries only after the next {@link commit} (or {@link add}). */
  append(e: AuditLogEntry): void {
    const id = this.row(
      e.timestamp?.seconds ?? 0,
      e.timestamp?.nanos ?? 0,
      e.user?.id ?? "",
      e.operation,
      e.success,
      e.sourceIp,
    );
    for (const t of e.targets) {
      let ti = this.targetObjects.get(t);
      if (ti === undefined) {
        const k = targetKey(t);
        ti = k === undefined ? -1 : this.internTarget(k);
        this.targetObjects.set(t, ti);
      }
      this.pushTarget(ti);
    }
    this.endRow(id, encodeEntryTransient(e));
  }

  /**
   * Adds one entry given as its encoding (`bytes[0, length)`, byte-identical to ts-proto's
   * `AuditLogEntry.encode`) and the columns the filters read; found by queries after {@link commit}.
   */
  appendEncoded(bytes: Uint8Array, length: number, c: EntryColumns): void {
    const id = this.row(c.seconds, c.nanos, c.userId, c.operation, c.success, c.sourceIp);
    for (const k of c.targets) this.pushTarget(k === undefined ? -1 : this.internTarget(k));
    this.endRow(id, length === bytes.length ? bytes : bytes.subarray(0, length));
  }

  /** Makes the entries appended since the last commit searchable; late ones are merged into place. */
  commit(): void {
    this.placeNew(this.placed);
  }

  /** The encoded bytes of entry `id` (a view into a shared chunk; do not modify). */
  bytesOf(id: number): Buffer {
    const chunk = this.chunks[this.chunkOf[id] as number] as Buffer;
    const off = this.offset[id] as number;
    return chunk.subarray(off, off + (this.length[id] as number));
  }

  /** Decoded entry `id`. */
  entry(id: number): AuditLogEntry {
    return AuditLogEntry.decode(this.bytesOf(id));
  }

  /** True when entry a sorts before entry b (timestamp, then insertion order). */
  before(a: number, b: number): boolean {
    const sa = this.secs[a] as number;
    const sb = this.secs[b] as number;
    if (sa !== sb) return sa < sb;
    const na = this.nanos[a] as number;
    const nb = this.nanos[b] as number;
    if (na !== nb) return na < nb;
    return a < b;
  }

  /** First position in `order` whose timestamp is ≥ (s, n). */
  lowerBound(s: number, n: number): number {
    return this.bound(s, n, false);
  }

  /** First position in `order` whose timestamp is > (s, n). */
  upperBound(s: number, n: number): number {
    return this.bound(s, n, true);
  }

  /** Binary search over `order`: first position past every timestamp < (s, n), or ≤ with `orEqual`. */
  private bound(s: number, n: number, orEqual: boolean): number {
    let lo = 0;
    let hi = this.size;
    const { order, secs, nanos } = this;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const id = order[mid] as number;
      const si = secs[id] as number;
      const ni = nanos[id] as number;
      if (si < s || (si === s && (ni < n || (orEqual && ni === n)))) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private internTarget(k: TargetKey): number {
    const key = `${k.kind}\u0000${k.id}\u0000${k.appId}\u0000${k.userId}\u0000${k.parentId}`;
    let id = this.targetIds.get(key);
    if (id === undefined) {
      id = this.targets.length;
      this.targets.push(k);
      this.targetIds.set(key, id);
    }
    return id;
  }

  private storeBytes(id: number, bytes: Uint8Array): void {
    let chunk = this.chunks[this.chunks.length - 1];
    if (chunk === undefined || this.chunkUsed + bytes.length > chunk.length) {
      chunk = Buffer.allocUnsafe(Math.max(CHUNK_BYTES, bytes.length));
      this.chunks.push(chunk);
      this.chunkUsed = 0;
    }
    chunk.set(bytes, this.chunkUsed);
    this.chunkOf[id] = this.chunks.length - 1;
    this.offset[id] = this.chunkUsed;
    this.length[id] = bytes.length;
    this.chunkUsed += bytes.length;
  }

  /** Sets the scalar columns of a new entry; its targets follow, then {@link endRow}. */
  private row(secs: number, nanos: number, userId: string, op: number, success: boolean, ip: string): number {
    const id = this.size;
    const need = id + 1;
    if (need > this.secs.length) {
      const cap = Math.max(1024, this.secs.length * 2);
      this.secs = grow(this.secs, cap);
      this.nanos = grow(this.nanos, cap);
      this.user = grow(this.user, cap);
      this.op = grow(this.op, cap);
      this.success = grow(this.success, cap);
      this.ip = grow(this.ip, cap);
      this.tStart = grow(this.tStart, cap);
      this.tCount = grow(this.tCount, cap);
      this.chunkOf = grow(this.chunkOf, cap);
      this.offset = grow(this.offset, cap);
      this.length = grow(this.length, cap);
    }
    this.secs[id] = secs;
    this.nanos[id] = nanos;
    const counts = this.valueCounts;
    const u = this.users.intern(userId);
    this.user[id] = u;
    counts.user[u] = (counts.user[u] ?? 0) + 1;
    this.op[id] = op;
    if (op >= 0 && op < 1 << 16) counts.op[op] = (counts.op[op] ?? 0) + 1;
    this.success[id] = success ? 1 : 0;
    const ipId = this.ips.intern(ip);
    this.ip[id] = ipId;
    counts.ip[ipId] = (counts.ip[ipId] ?? 0) + 1;
    this.tStart[id] = this.tpoolLen;
    return id;
  }

  /** A target of the entry being added (-1: one with no kind set, which no filter matches). */
  private pushTarget(ti: number): void {
    if (ti < 0) return;
    this.tpool = grow(this.tpool, this.tpoolLen + 1);
    this.tpool[this.tpoolLen++] = ti;
    this.valueCounts.target[ti] = (this.valueCounts.target[ti] ?? 0) + 1;
  }

  private endRow(id: number, bytes: Uint8Array): void {
    this.tCount[id] = this.tpoolLen - (this.tStart[id] as number);
    this.storeBytes(id, bytes);
    this.size = id + 1;
  }

  /** Puts ids [first, size) into `order`: appended when they are all newest, merged otherwise. */
  private placeNew(first: number): void {
    const end = this.size;
    if (first === end) return;
    this.placed = end;
    this.version++;
    const fresh: number[] = [];
    for (let id = first; id < end; id++) fresh.push(id);
    fresh.sort((a, b) => (this.before(a, b) ? -1 : this.before(b, a) ? 1 : 0));
    this.order = grow(this.order, end);
    const old = first;
    const lastOld = old > 0 ? (this.order[old - 1] as number) : -1;
    if (lastOld < 0 || this.before(lastOld, fresh[0] as number)) {
      for (let i = 0; i < fresh.length; i++) this.order[old + i] = fresh[i] as number;
      return;
    }
    const merged = new Int32Array(this.order.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < old && j < fresh.length) {
      const a = this.order[i] as number;
      const b = fresh[j] as number;
      if (this.before(a, b)) {
        merged[k++] = a;
        i++;
      } else {
        merged[k++] = b;
        j++;
      }
    }
    while (i < old) merged[k++] = this.order[i++] as number;
    while (j < fresh.length) merged[k++] = fresh[j++] as number;
    this.order = merged;
  }

  /** The newest and oldest stored timestamps, or undefined when empty. */
  span():
    | { first: { seconds: number; nanos: number }; last: { seconds: number; nanos: number } }
    | undefined {
    if (this.size === 0) return undefined;
    const a = this.order[0] as number;
    const b = this.order[this.size - 1] as number;
    return {
      first: { seconds: this.secs[a] as number, nanos: this.nanos[a] as number },
      last: { seconds: this.secs[b] as number, nanos: this.nanos[b] as number },
    };
  }
}
