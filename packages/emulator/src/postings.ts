/**
 * Per-value position lists ("postings") over the store's sorted order, for selective filters.
 * Without them a page of rare matches costs a scan of the whole time range; with them the query
 * walks only the candidates of its most selective field. They are built lazily, in one O(n) pass
 * per column, and rebuilt after the log changes.
 */

/** The columns of the store (packages/emulator/src/store.ts's `AuditLog`) that postings are built from. */
export interface PostingSource {
  readonly size: number;
  /** Entry ids in the store's sorted order. */
  readonly order: Int32Array;
  readonly user: Int32Array;
  readonly op: Int32Array;
  readonly ip: Int32Array;
  /** Entry id → its targets' ids: `tpool[tStart[id] .. tStart[id] + tCount[id])`. */
  readonly tStart: Uint32Array;
  readonly tCount: Uint16Array;
  readonly tpool: Int32Array;
  readonly users: { readonly values: readonly string[] };
  readonly ips: { readonly values: readonly string[] };
  readonly targets: readonly unknown[];
}

/** Value v's positions (ascending) are `positions[starts[v] .. starts[v + 1])`. */
export interface Postings {
  starts: Int32Array;
  positions: Int32Array;
}

export type PostingColumn = "user" | "op" | "ip" | "target";

/** Operations are enum numbers; a column holding anything outside this domain is not indexed. */
const MAX_OP_DOMAIN = 1 << 16;

/** The postings of `column` over `log`; undefined when the column cannot be indexed. */
export function buildPostings(log: PostingSource, column: PostingColumn): Postings | undefined {
  const { order, size } = log;
  if (column === "target") {
    const { tStart, tCount, tpool } = log;
    const domain = log.targets.length;
    const starts = new Int32Array(domain + 1);
    let total = 0;
    for (let p = 0; p < size; p++) {
      const id = order[p] as number;
      const s = tStart[id] as number;
      const n = tCount[id] as number;
      for (let i = s; i < s + n; i++) starts[(tpool[i] as number) + 1]++;
      total += n;
    }
    for (let v = 0; v < domain; v++) starts[v + 1] = (starts[v + 1] as number) + (starts[v] as number);
    const cursor = starts.slice(0, domain);
    const positions = new Int32Array(total);
    for (let p = 0; p < size; p++) {
      const id = order[p] as number;
      const s = tStart[id] as number;
      const n = tCount[id] as number;
      for (let i = s; i < s + n; i++) {
        const v = tpool[i] as number;
        positions[cursor[v] as number] = p;
        cursor[v] = (cursor[v] as number) + 1;
      }
    }
    return { starts, positions };
  }
  const col = column === "user" ? log.user : column === "ip" ? log.ip : log.op;
  let domain: number;
  if (column === "user") domain = log.users.values.length;
  else if (column === "ip") domain = log.ips.values.length;
  else {
    let max = 0;
    for (let id = 0; id < size; id++) {
      const v = col[id] as number;
      if (v < 0 || v >= MAX_OP_DOMAIN) return undefined;
      if (v > max) max = v;
    }
    domain = max + 1;
  }
  const starts = new Int32Array(domain + 1);
  for (let id = 0; id < size; id++) starts[(col[id] as number) + 1]++;
  for (let v = 0; v < domain; v++) starts[v + 1] = (starts[v + 1] as number) + (starts[v] as number);
  const cursor = starts.slice(0, domain);
  const positions = new Int32Array(size);
  for (let p = 0; p < size; p++) {
    const v = col[order[p] as number] as number;
    positions[cursor[v] as number] = p;
    cursor[v] = (cursor[v] as number) + 1;
  }
  return { starts, positions };
}

/** First index in positions[from, to) whose value is ≥ p. */
export function lowerIndex(positions: Int32Array, from: number, to: number, p: number): number {
  let lo = from;
  let hi = to;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((positions[mid] as number) < p) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
