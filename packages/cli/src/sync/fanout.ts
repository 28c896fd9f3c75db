/**
 * The fan-out: one walk of an account's log feeding many destinations ({@link SyncStore}s), each
 * keeping its own cursor and its own exactly-once guarantee, as `sync` keeps one store's. `runSync`
 * (sync.ts) is a round of one member, so `sync` and the collector share this lifecycle.
 *
 * A round opens every member's store (one whose open fails is left out, with its error) and sorts
 * them by where they stand:
 * - a member whose state holds a run (a crash, an interrupt or a detach stopped it) resumes that
 *   run's pinned window from its own cursor, on its own walk, as `sync` resumes;
 * - a member with no high-water mark while others have one, or whose mark is more than `reconcileMs`
 *   behind the newest of them, catches up on its own walk (from its mark − reconcile, or the origin);
 * - every other member shares ONE walk of `[min over them of (mark − reconcile) (or the origin),
 *   now − settle]`: each entry goes to each member's queue (storeSink.ts), each member commits its own
 *   state, and stores skip the entries they hold by key, so the union window is exactly once for
 *   each. N members in step cost the requests of one `sync`.
 * The walks run side by side. A member's queue may run ahead of its commits up to its lag bound,
 * where the walk waits for it as long as it makes progress: members in step go at the pace of the
 * slowest. A member whose commit fails, or that ends no commit for the stall time at its bound, is
 * detached (its queue dropped, its in-flight commits left to end) and its next round resumes from
 * its own last commit. Every store is closed once its member is done.
 */
import {
  compareTs,
  formatTs,
  nowTs,
  nsToTs,
  type Ts,
  tsToNs,
} from "@clarifai-audit/client/internal/domain/timestamps.js";
import { exportToSink } from "@clarifai-audit/client/internal/export/engine.js";
import { ExportInterruptedError } from "@clarifai-audit/client/internal/export/errors.js";
import type { ExportSummary } from "@clarifai-audit/client/internal/export/summary.js";
import { crashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import type { SyncState, SyncStore } from "./store.js";
import { MemberSink } from "./storeSink.js";
import {
  msToNs,
  mustTs,
  resumePoint,
  SyncInterruptedError,
  type SyncOptions,
  type SyncRunSummary,
  syncIdentity,
} from "./syncRun.js";
import { WalkSink } from "./walkSink.js";

/** A destination of the fan-out: its id (in events and the result) and its store. */
export interface FanoutMember {
  id: string;
  store: SyncStore;
}

/** Options of {@link runFanout}: `sync`'s, with members instead of one store. */
export interface FanoutOptions extends Omit<SyncOptions, "store" | "onWindow"> {
  members: readonly FanoutMember[];
  /**
   * A member this many entries behind the walk (uncommitted, queued) holds the walk until it
   * commits some (default 4 × commitEntries; never below what the member's own commits hold in
   * flight, (commitsInFlight + 1) × (commitEntries + perPage)): members sharing a disk or a CPU go
   * at the pace of the slowest, none falls behind for good.
   */
  maxLagEntries?: number;
  /**
   * A member at its lag bound that ends no commit for this long (default 30 s) is detached as
   * lagging: a destination that stalls (a commit that does not return) holds the others no longer.
   */
  maxStallMs?: number;
  /** What happens, as it happens (the collector's logs and metrics). A listener that throws is ignored. */
  onEvent?: (event: FanoutEvent) => void;
}

/** What a round reports as it goes. */
export type FanoutEvent =
  | { kind: "window"; members: string[]; from: string; to: string; resumed: boolean; shared: boolean }
  | {
      kind: "committed";
      member: string;
      inserted: number;
      late: number;
      position?: string;
      highWater?: string;
    }
  | { kind: "failed"; member: string; error: unknown }
  | { kind: "detached"; member: string; reason: "lagging" | "failed" };

/** One member's outcome: its run's summary, or the error that stopped it. */
export interface FanoutMemberResult {
  summary?: SyncRunSummary;
  error?: unknown;
  /** Why the member left the walk before its end (its summary counts what it committed before). */
  detached?: "lagging" | "failed";
}

/** What a round did: each member's outcome, and the requests the round's walks sent. */
export interface FanoutResult {
  members: Map<string, FanoutMemberResult>;
  requests: number;
}

/** Options of {@link runRound}: the fan-out's, and each walk's window as the engine pinned it. */
export interface RoundOptions extends FanoutOptions {
  onWalk?: (walk: { from: Ts; to: Ts; resumed: boolean; members: string[]; shared: boolean }) => void;
}

/** A round's result, and the interruption (the signal) that stopped one of its walks, if any. */
export interface RoundOutcome {
  result: FanoutResult;
  interrupted?: ExportInterruptedError;
}

/** An opened member, with the state it starts from. */
interface Opened {
  member: FanoutMember;
  state: SyncState;
}

/** A walk of the round: its members, where it starts (or the run it resumes), and whether it is the group's. */
interface Walk {
  members: Opened[];
  from?: Ts;
  resume: boolean;
  shared: boolean;
}

/**
 * One round: opens every member's store, walks, closes them (see the module comment). Rejects only
 * with {@link SyncInterruptedError} (the signal stopped a walk, after each member committed what it
 * was given); every other failure is its member's, in the result.
 */
export async function runFanout(options: FanoutOptions): Promise<FanoutResult> {
  const { result, interrupted } = await runRound(options);
  if (interrupted !== undefined) throw new SyncInterruptedError(interrupted.summary);
  if (options.signal?.aborted && [...result.members.values()].some((m) => "error" in m))
    throw new SyncInterruptedError(NOTHING_WALKED);
  return result;
}

/** The summary of a walk the signal stopped before it reported one. */
const NOTHING_WALKED: ExportSummary = {
  entries: 0,
  pages: 0,
  retries: 0,
  shiftedPages: 0,
  requests: 0,
  repeated: 0,
  stale: 0,
  slices: 0,
  splits: 0,
  lowestConcurrency: 0,
  durationMs: 0,
  resumed: false,
};

/**
 * The one lifecycle of `sync` and the fan-out: a round as the module comment says, whose failures
 * are its members' (never thrown, apart from a caller's mistake such as two members of one id).
 */
export async function runRound(options: RoundOptions): Promise<RoundOutcome> {
  const started = performance.now();
  const now = options.now ?? Date.now;
  const ids = new Set(options.members.map((m) => m.id));
  if (ids.size !== options.members.length) throw new Error("runFanout: two members have the same id");
  const emit = (event: FanoutEvent): void => {
    try {
      options.onEvent?.(event);
    } catch {
      // A listener's bug must not fail a member's commit (its events are sent from there).
    }
  };
  const results = new Map<string, FanoutMemberResult>();
  const identity = syncIdentity(options.client, options.query);
  const opened: Opened[] = [];
  await Promise.all(
    options.members.map(async (member) => {
      try {
        const state = (await member.store.open(identity)) ?? {
          version: 1,
          identity,
          totals: { entries: 0, late: 0, runs: 0 },
          updatedAt: new Date(now()).toISOString(),
        };
        opened.push({ member, state });
      } catch (error) {
        results.set(member.id, { error });
        emit({ kind: "failed", member: member.id, error });
      }
    }),
  );
  // Members in the order given (opens end in any order): events and walks are then reproducible.
  opened.sort((a, b) => options.members.indexOf(a.member) - options.members.indexOf(b.member));
  const refused: Opened[] = [];
  const walks = planWalks(opened, options, now, (o, error) => {
    results.set(o.member.id, { error });
    emit({ kind: "failed", member: o.member.id, error });
    refused.push(o);
  });
  for (const o of refused) await closeStore(o.member.store).catch(() => undefined);
  let requests = 0;
  let interrupted: ExportInterruptedError | undefined;
  const done = await Promise.all(walks.map((walk) => runWalk(walk, options, now, started, emit, results)));
  for (const d of done) {
    requests += d.requests;
    interrupted ??= d.interrupted;
  }
  return { result: { members: results, requests }, ...(interrupted ? { interrupted } : {}) };
}

/** Sorts the opened members into walks (module comment); `refuse` takes one whose state is damaged. */
function planWalks(
  opened: Opened[],
  options: RoundOptions,
  now: () => number,
  refuse: (o: Opened, error: unknown) => void,
): Walk[] {
  const reconcileNs = msToNs(options.reconcileMs);
  const settled = nsToTs(tsToNs(nowTs(now())) - msToNs(options.settleMs));
  const walks: Walk[] = [];
  const group: { o: Opened; mark?: bigint }[] = [];
  for (const o of opened) {
    if (o.state.run !== undefined) walks.push({ members: [o], resume: true, shared: false });
    else {
      try {
        const hw = o.state.highWater;
        group.push({ o, ...(hw !== undefined ? { mark: tsToNs(mustTs(hw, "highWater")) } : {}) });
      } catch (error) {
        refuse(o, error);
      }
    }
  }
  const marks = group.flatMap((g) => (g.mark !== undefined ? [g.mark] : []));
  const newest = marks.reduce<bigint | undefined>((a, b) => (a === undefined || b > a ? b : a), undefined);
  const shared: Opened[] = [];
  let sharedFrom: Ts | undefined;
  for (const g of group) {
    const from = walkFrom(g.mark, options.origin, reconcileNs, settled);
    if (newest !== undefined && (g.mark === undefined || newest - g.mark > reconcileNs)) {
      walks.push({ members: [g.o], ...(from !== undefined ? { from } : {}), resume: false, shared: false });
      continue;
    }
    // The union of the members' windows: the oldest start (no start: the oldest entry).
    sharedFrom =
      shared.length === 0
        ? from
        : from === undefined || sharedFrom === undefined
          ? undefined
          : minTs(sharedFrom, from);
    shared.push(g.o);
  }
  if (shared.length > 0)
    walks.unshift({
      members: shared,
      ...(sharedFrom !== undefined ? { from: sharedFrom } : {}),
      resume: false,
      shared: true,
    });
  return walks;
}

/** Where a new run of a store with high-water mark `mark` starts, as `sync` has always started it. */
function walkFrom(
  mark: bigint | undefined,
  origin: Ts | undefined,
  reconcileNs: bigint,
  settled: Ts,
): Ts | undefined {
  if (mark === undefined) return origin;
  let back = nsToTs(mark - reconcileNs);
  if (origin !== undefined && compareTs(origin, back) > 0) back = origin;
  // A settle longer than the reconcile window: the window still re-reads back to now − settle.
  return minTs(back, settled);
}

function minTs(a: Ts, b: Ts): Ts {
  return compareTs(a, b) <= 0 ? a : b;
}

async function closeStore(store: SyncStore): Promise<void> {
  try {
    await store.close();
  } finally {
    crashPoint("sync.closed");
  }
}

/**
 * Runs one walk to its end (or its members' detaching) and closes its members' stores; records each
 * member's outcome. Never rejects.
 */
async function runWalk(
  walk: Walk,
  options: RoundOptions,
  now: () => number,
  started: number,
  emit: (event: FanoutEvent) => void,
  results: Map<string, FanoutMemberResult>,
): Promise<{ requests: number; interrupted?: ExportInterruptedError }> {
  const perPage = options.perPage ?? 1000;
  const startedAt = new Date(now()).toISOString();
  const resumeCursor = walk.resume ? walk.members[0]?.state.run?.cursor : undefined;
  const sinks = walk.members.map(({ member, state }) => {
    const commitEntries = options.commitEntries ?? member.store.commitEntries ?? 20_000;
    const commitsInFlight = Math.max(1, member.store.commitsInFlight ?? 1);
    const own = (commitsInFlight + 1) * (commitEntries + perPage);
    return new MemberSink(
      member.id,
      member.store,
      state,
      {
        reconcileNs: msToNs(options.reconcileMs),
        commitEntries,
        commitsInFlight,
        maxLagEntries: Math.max(options.maxLagEntries ?? 4 * commitEntries, own),
        maxStallMs: options.maxStallMs ?? 30_000,
        startedAt,
        now,
      },
      {
        committed: (c) => emit({ kind: "committed", member: member.id, ...c }),
        failed: (error) => emit({ kind: "failed", member: member.id, error }),
        detached: (reason) => emit({ kind: "detached", member: member.id, reason }),
      },
      () => sink.wake(),
    );
  });
  const closed = new Map<MemberSink, Promise<number | undefined>>();
  /** Counts (when the member is done) and closes a member's store, once. */
  const finalize = (m: MemberSink): Promise<number | undefined> => {
    let p = closed.get(m);
    if (p === undefined) {
      p = (async () => {
        // Everything is committed by now: a count that fails leaves it out of the summary, not the run.
        // A member the walk never closed (it failed before): its commits end before its store closes.
        await m.settled();
        const held = m.status === "done" ? await m.store.count?.().catch(() => undefined) : undefined;
        try {
          await closeStore(m.store);
        } catch (error) {
          if (m.error === undefined) m.stop(error);
        }
        return held;
      })();
      closed.set(m, p);
    }
    return p;
  };
  const sink: WalkSink = new WalkSink(sinks, resumeCursor, finalize);
  const from = walk.resume ? resumePoint(resumeCursor) : walk.from && formatTs(walk.from);
  if (from !== undefined)
    await Promise.all(
      sinks.map(async (m) => {
        try {
          await m.store.prepare?.(from);
        } catch (error) {
          m.fail(error);
        }
      }),
    );
  const startRequests = resumeCursor?.stats?.requests ?? 0;
  let lastRequests = startRequests;
  let summary: ExportSummary | undefined;
  let interrupted: ExportInterruptedError | undefined;
  if (sinks.some((m) => m.attached)) {
    try {
      summary = await exportToSink({
        sink,
        client: options.client,
        ...(options.query !== undefined ? { query: options.query } : {}),
        ...(walk.from !== undefined ? { from: walk.from } : {}),
        settleMs: options.settleMs,
        commitIntervalMs: options.commitIntervalMs ?? 5000,
        ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
        ...(options.perPage !== undefined ? { perPage: options.perPage } : {}),
        ...(options.signal !== undefined ? { signal: options.signal } : {}),
        onWindow: (w) => {
          const members = sinks.filter((m) => m.attached).map((m) => m.id);
          options.onWalk?.({ ...w, members, shared: walk.shared });
          emit({
            kind: "window",
            members,
            from: formatTs(w.from),
            to: formatTs(w.to),
            resumed: w.resumed,
            shared: walk.shared,
          });
        },
        onProgress: (p) => {
          lastRequests = p.requests;
          options.onProgress?.(p);
        },
        now,
      });
    } catch (error) {
      if (error instanceof ExportInterruptedError) {
        interrupted = error;
        summary = error.summary;
      } else if (options.signal?.aborted && !WalkSink.isNoMembersLeft(error)) {
        // The signal cancelled a request before the walk began (the engine pinning its window
        // raises the client's cancellation as is): a stop, not a failure of the members.
        interrupted = new ExportInterruptedError(NOTHING_WALKED);
      } else if (!WalkSink.isNoMembersLeft(error)) {
        // The walk failed (the server, the options): each member committed what it was given.
        for (const m of sinks) m.stop(error);
      }
    }
  }
  const requests = (summary?.requests ?? lastRequests) - startRequests;
  for (const m of sinks) {
    const held = await finalize(m);
    const state = m.current;
    const result: FanoutMemberResult = {
      summary: {
        inserted: m.inserted,
        late: m.late,
        walked: m.walked,
        requests: summary?.requests ?? lastRequests,
        durationMs: performance.now() - started,
        resumed: walk.resume,
        ...(summary?.window ? { window: summary.window } : {}),
        ...(held !== undefined ? { held } : {}),
        ...(state.highWater !== undefined ? { highWater: state.highWater } : {}),
        totals: state.totals,
      },
      ...(m.detached !== undefined ? { detached: m.detached } : {}),
    };
    // A failed member's outcome is its error; what it committed before is in its store's state.
    results.set(
      m.id,
      m.status === "failed" ? { error: m.error, ...(m.detached ? { detached: m.detached } : {}) } : result,
    );
  }
  return { requests, ...(interrupted ? { interrupted } : {}) };
}
