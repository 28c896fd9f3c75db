/**
 * Query semantics of PostAuditLogSearches (the spec is docs/emulator.md):
 * validation of a request into a compiled query, and the page scan over an {@link AuditLog}.
 */

import { ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import { DEFAULT_PER_PAGE, MAX_PER_PAGE } from "@clarifai-audit/client/internal/domain/limits.js";
import {
  entryHasTarget,
  TARGET_KIND_JSON_NAMES,
  TARGET_KINDS,
  type TargetKey,
  targetKey,
  targetMayMatch,
} from "@clarifai-audit/client/internal/domain/targets.js";
import {
  MAX_TIMESTAMP_SECONDS as MAX_SECONDS,
  MIN_TIMESTAMP_SECONDS as MIN_SECONDS,
} from "@clarifai-audit/client/internal/domain/time.js";
import type { Timestamp } from "@clarifai-audit/client/internal/generated/google/protobuf/timestamp.js";
import { EventType } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/resources.js";
import type { PostAuditLogSearchesRequest } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/service.js";
import { lowerIndex, type PostingColumn } from "./postings.js";
import type { AuditLog } from "./store.js";

const KNOWN_EVENT_TYPES = new Set<number>(
  Object.values(EventType).filter((v): v is number => typeof v === "number" && v >= 0),
);

/** A validated query. */
export interface CompiledQuery {
  from: Timestamp | undefined;
  to: Timestamp | undefined;
  userIds: string[];
  operations: number[];
  targets: TargetKey[];
  success: boolean | undefined;
  sourceIps: string[];
  ascending: boolean;
  page: number;
  perPage: number;
}

/** A request the emulator refuses, with the reason as Clarifai would describe it. */
export class InvalidRequest extends ClarifaiAuditError {}

function checkTimestamp(name: string, t: Timestamp | undefined): void {
  if (t === undefined) return;
  if (!Number.isInteger(t.seconds) || t.seconds < MIN_SECONDS || t.seconds > MAX_SECONDS) {
    throw new InvalidRequest(`${name}.seconds ${t.seconds} is outside 0001-01-01..9999-12-31`);
  }
  if (!Number.isInteger(t.nanos) || t.nanos < 0 || t.nanos > 999_999_999) {
    throw new InvalidRequest(`${name}.nanos ${t.nanos} is outside 0..999999999`);
  }
}

function compare(a: Timestamp, b: Timestamp): number {
  return a.seconds !== b.seconds ? a.seconds - b.seconds : a.nanos - b.nanos;
}

/** Validates a request; throws {@link InvalidRequest} saying which field is wrong and why. */
export function compileQuery(req: PostAuditLogSearchesRequest): CompiledQuery {
  const q = req.query;
  const from = q?.timestampFrom;
  const to = q?.timestampTo;
  checkTimestamp("query.timestamp_from", from);
  checkTimestamp("query.timestamp_to", to);
  if (from !== undefined && to !== undefined && compare(from, to) > 0) {
    throw new InvalidRequest("query.timestamp_from is after query.timestamp_to");
  }
  const operations: number[] = [];
  (q?.operations ?? []).forEach((op, i) => {
    if (!KNOWN_EVENT_TYPES.has(op)) {
      throw new InvalidRequest(`query.operations[${i}]: ${op} is not an EventType`);
    }
    if (op !== EventType.EVENT_TYPE_NOT_SET) operations.push(op);
  });
  const targets: TargetKey[] = [];
  (q?.targets ?? []).forEach((t, i) => {
    const k = targetKey(t);
    if (k === undefined) {
      throw new InvalidRequest(
        `query.targets[${i}] sets no target; set one of ${Object.values(TARGET_KIND_JSON_NAMES).join(", ")}`,
      );
    }
    if (k.id === "") {
      const kind = TARGET_KIND_JSON_NAMES[TARGET_KINDS[k.kind] as keyof typeof TARGET_KIND_JSON_NAMES];
      throw new InvalidRequest(`query.targets[${i}].${kind}.id is empty; a target is matched by its id`);
    }
    targets.push(k);
  });
  const page = req.pagination?.page ?? 0;
  const perPage = req.pagination?.perPage ?? 0;
  if (perPage > MAX_PER_PAGE) {
    throw new InvalidRequest(
      `pagination.per_page ${perPage} is too large: at most ${MAX_PER_PAGE} (0 or unset means ${DEFAULT_PER_PAGE})`,
    );
  }
  return {
    from,
    to,
    userIds: q?.userIds ?? [],
    operations,
    targets,
    success: q?.success,
    sourceIps: q?.sourceIps ?? [],
    ascending: req.sortAscending,
    page: page === 0 ? 1 : page,
    perPage: perPage === 0 ? DEFAULT_PER_PAGE : perPage,
  };
}

type Predicate = (id: number) => boolean;

function targetPredicate(log: AuditLog, wanted: TargetKey[]): Predicate {
  // Per distinct target: 0 = not evaluated yet, 1 = may match, 2 = does not. Only an entry with a
  // target that may match is looked at as a whole (its scope may be a sibling target).
  const verdict = new Uint8Array(log.targets.length);
  const mayMatch = (t: number): boolean => {
    let v = verdict[t] as number;
    if (v === 0) {
      v = mayMatchAny(log.targets[t] as TargetKey, wanted) ? 1 : 2;
      verdict[t] = v;
    }
    return v === 1;
  };
  const { tStart, tCount, tpool } = log;
  return (id) => {
    const start = tStart[id] as number;
    const end = start + (tCount[id] as number);
    let i = start;
    while (i < end && !mayMatch(tpool[i] as number)) i++;
    if (i === end) return false;
    const keys: (TargetKey | undefined)[] = [];
    for (let j = start; j < end; j++) keys.push(log.targets[tpool[j] as number]);
    return wanted.some((w) => entryHasTarget(keys, w));
  };
}

/** Membership flags over an interned domain (users, IPs, operations): one array read per test. */
function flags(size: number, members: Iterable<number>): Uint8Array {
  const f = new Uint8Array(size);
  for (const m of members) if (m >= 0 && m < size) f[m] = 1;
  return f;
}

/** AND of the non-time filters, or undefined when there are none. "never" when nothing can match. */
function filterOf(log: AuditLog, q: CompiledQuery): Predicate | undefined | "never" {
  const preds: Predicate[] = [];
  if (q.userIds.length > 0) {
    const ids = q.userIds.map((u) => log.users.lookup(u)).filter((v): v is number => v !== undefined);
    if (ids.length === 0) return "never";
    const f = flags(log.users.values.length, ids);
    const col = log.user;
    preds.push((id) => f[col[id] as number] === 1);
  }
  if (q.operations.length > 0) {
    const f = flags(Math.max(...q.operations) + 1, q.operations);
    const col = log.op;
    preds.push((id) => f[col[id] as number] === 1);
  }
  if (q.success !== undefined) {
    const want = q.success ? 1 : 0;
    const col = log.success;
    preds.push((id) => col[id] === want);
  }
  if (q.sourceIps.length > 0) {
    const ids = q.sourceIps.map((s) => log.ips.lookup(s)).filter((v): v is number => v !== undefined);
    if (ids.length === 0) return "never";
    const f = flags(log.ips.values.length, ids);
    const col = log.ip;
    preds.push((id) => f[col[id] as number] === 1);
  }
  if (q.targets.length > 0) preds.push(targetPredicate(log, q.targets));
  if (preds.length === 0) return undefined;
  if (preds.length === 1) return preds[0];
  if (preds.length === 2) {
    const [a, b] = preds as [Predicate, Predicate];
    return (id) => a(id) && b(id);
  }
  return (id) => {
    for (const p of preds) if (!p(id)) return false;
    return true;
  };
}

/** Scans positions of the range in reply order; undefined when `budget` positions did not settle the page. */
function scanPage(
  log: AuditLog,
  q: CompiledQuery,
  lo: number,
  hi: number,
  filter: Predicate,
  budget: number,
): number[] | undefined {
  const out: number[] = [];
  const skip = (q.page - 1) * q.perPage;
  const order = log.order;
  let skipped = 0;
  let visited = 0;
  const step = q.ascending ? 1 : -1;
  for (let p = q.ascending ? lo : hi - 1; p >= lo && p < hi; p += step) {
    if (++visited > budget) return undefined;
    const id = order[p] as number;
    if (!filter(id)) continue;
    if (skipped < skip) {
      skipped++;
      continue;
    }
    out.push(id);
    if (out.length === q.perPage) break;
  }
  return out;
}

function mayMatchAny(k: TargetKey, wanted: TargetKey[]): boolean {
  return wanted.some((w) => targetMayMatch(k, w));
}

/** The posting slices (restricted to positions [lo, hi)) of one filter field's values. */
interface Candidates {
  positions: Int32Array;
  from: number[];
  to: number[];
  count: number;
}

function candidates(
  log: AuditLog,
  column: PostingColumn,
  values: number[],
  lo: number,
  hi: number,
): Candidates | undefined {
  const postings = log.postings(column);
  if (postings === undefined) return undefined;
  const { starts, positions } = postings;
  const c: Candidates = { positions, from: [], to: [], count: 0 };
  for (const v of new Set(values)) {
    if (v < 0 || v + 1 >= starts.length) continue;
    const s = starts[v] as number;
    const e = starts[v + 1] as number;
    const f = lowerIndex(positions, s, e, lo);
    const t = lowerIndex(positions, f, e, hi);
    if (t > f) {
      c.from.push(f);
      c.to.push(t);
      c.count += t - f;
    }
  }
  return c;
}

/**
 * Walks the candidates of the most selective indexed field, merged in reply order, and applies the
 * full filter to each. Undefined when no field is selective enough to beat a scan.
 */
function indexPage(
  log: AuditLog,
  q: CompiledQuery,
  lo: number,
  hi: number,
  filter: Predicate,
): number[] | undefined {
  const lookup = (names: string[], interner: AuditLog["users"]) =>
    names.map((n) => interner.lookup(n)).filter((v): v is number => v !== undefined);
  const fields: [PostingColumn, number[]][] = [];
  if (q.userIds.length > 0) fields.push(["user", lookup(q.userIds, log.users)]);
  if (q.operations.length > 0) fields.push(["op", q.operations]);
  if (q.sourceIps.length > 0) fields.push(["ip", lookup(q.sourceIps, log.ips)]);
  if (q.targets.length > 0) {
    const matching: number[] = [];
    log.targets.forEach((k, i) => {
      if (mayMatchAny(k, q.targets)) matching.push(i);
    });
    fields.push(["target", matching]);
  }
  // Whole-log counts pick the field, so that only its postings need (re)building.
  let chosen: [PostingColumn, number[]] | undefined;
  let fewest = Number.POSITIVE_INFINITY;
  for (const f of fields) {
    const counts = log.valueCounts[f[0]];
    let n = 0;
    for (const v of new Set(f[1])) n += counts[v] ?? 0;
    if (n < fewest) {
      fewest = n;
      chosen = f;
    }
  }
  if (chosen === undefined || fewest * 2 >= log.size) return undefined;
  const best = candidates(log, chosen[0], chosen[1], lo, hi);
  if (best === undefined || best.count * 2 >= hi - lo) return undefined;
  const { positions, from, to } = best;
  const k = from.length;
  const cur = q.ascending ? [...from] : to.map((t) => t - 1);
  const out: number[] = [];
  const skip = (q.page - 1) * q.perPage;
  let skipped = 0;
  let last = -1;
  const order = log.order;
  for (;;) {
    // k-way merge: the next position in reply order among the slices (ties = one entry, two targets).
    let pick = -1;
    let pos = 0;
    for (let i = 0; i < k; i++) {
      const c = cur[i] as number;
      if (q.ascending ? c >= (to[i] as number) : c < (from[i] as number)) continue;
      const p = positions[c] as number;
      if (pick < 0 || (q.ascending ? p < pos : p > pos)) {
        pick = i;
        pos = p;
      }
    }
    if (pick < 0) return out;
    cur[pick] = (cur[pick] as number) + (q.ascending ? 1 : -1);
    if (pos === last) continue;
    last = pos;
    const id = order[pos] as number;
    if (!filter(id)) continue;
    if (skipped < skip) {
      skipped++;
      continue;
    }
    out.push(id);
    if (out.length === q.perPage) return out;
  }
}

/** Positions a scan visits before it tries the postings instead. */
const SCAN_BUDGET = 32768;

/**
 * Ids of the entries on the requested page, in reply order. A time range is two binary searches.
 * Other filters scan from the range's start and stop when the page is full; when that takes more
 * than a short budget, the walk switches to the candidates of the most selective field.
 */
export function runQuery(log: AuditLog | undefined, q: CompiledQuery): number[] {
  if (log === undefined || log.size === 0) return [];
  const lo = q.from === undefined ? 0 : log.lowerBound(q.from.seconds, q.from.nanos);
  const hi = q.to === undefined ? log.size : log.upperBound(q.to.seconds, q.to.nanos);
  const out: number[] = [];
  if (lo >= hi) return out;
  const skip = (q.page - 1) * q.perPage;
  const filter = filterOf(log, q);
  if (filter === "never") return out;
  const order = log.order;
  if (filter === undefined) {
    if (skip >= hi - lo) return out;
    const n = Math.min(q.perPage, hi - lo - skip);
    if (q.ascending) for (let i = 0; i < n; i++) out.push(order[lo + skip + i] as number);
    else for (let i = 0; i < n; i++) out.push(order[hi - 1 - skip - i] as number);
    return out;
  }
  return (
    scanPage(log, q, lo, hi, filter, SCAN_BUDGET) ??
    indexPage(log, q, lo, hi, filter) ??
    (scanPage(log, q, lo, hi, filter, Number.POSITIVE_INFINITY) as number[])
  );
}

/** The same page by a full scan only: the reference the index path is tested against. */
export function runQueryByScan(log: AuditLog | undefined, q: CompiledQuery): number[] {
  if (log === undefined || log.size === 0) return [];
  const lo = q.from === undefined ? 0 : log.lowerBound(q.from.seconds, q.from.nanos);
  const hi = q.to === undefined ? log.size : log.upperBound(q.to.seconds, q.to.nanos);
  if (lo >= hi) return [];
  const filter = filterOf(log, q);
  if (filter === "never") return [];
  return scanPage(log, q, lo, hi, filter ?? (() => true), Number.POSITIVE_INFINITY) as number[];
}
