/**
 * The engine's units, each alone and in-process: window planning, the AIMD controller, the page-span
 * estimator, the slice walk (immutable slices) and the scheduler over a fake page fetcher, the
 * shared boundary dedupe, the partial-file writer and the manifest's schema.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdaptiveConcurrency } from "../../packages/client/src/export/concurrency.js";
import { dedupeEntries } from "../../packages/client/src/export/dedupe.js";
import { ManifestError, validateManifest } from "../../packages/client/src/export/manifest.js";
import { PageScheduler, type PipelineStats } from "../../packages/client/src/export/orderedPages.js";
import { PageSpanEstimator } from "../../packages/client/src/export/pageSpan.js";
import { PartialWriter } from "../../packages/client/src/export/sinks/partialWriter.js";
import { type FetchPage, type Slice, SliceWalk } from "../../packages/client/src/export/sliceWalk.js";
import { planSlices, planWindow, remainingSlices } from "../../packages/client/src/export/window.js";
import { writeFileAtomic } from "../../packages/client/src/state/durableFile.js";
import { validExportManifest } from "./manifestFixture.js";

const ts = (seconds: number, nanos = 0) => ({ seconds, nanos });
interface E {
  timestamp: { seconds: number; nanos: number };
  id: string;
}
const e = (seconds: number, id: string): E => ({ timestamp: ts(seconds), id });

/** A fake fetcher over a sorted array with offset pagination; counts requests. */
function fakeLog(entries: E[]) {
  const requests: Array<{ from?: number; to: number; page: number }> = [];
  const fetchPage: FetchPage<E> = async (req) => {
    requests.push({ ...(req.from ? { from: req.from.seconds } : {}), to: req.to.seconds, page: req.page });
    const inWindow = entries.filter(
      (x) =>
        (req.from === undefined || x.timestamp.seconds >= req.from.seconds) &&
        x.timestamp.seconds <= req.to.seconds,
    );
    if (!req.ascending) inWindow.reverse();
    return {
      entries: inWindow.slice((req.page - 1) * req.perPage, req.page * req.perPage),
      attempts: 1,
    };
  };
  return { fetchPage, requests };
}

describe("window planning", () => {
  it("cuts a window into equal slices, the last one inclusive", () => {
    expect(planSlices(ts(0), ts(30), 3)).toEqual([
      { from: ts(0), to: ts(10), last: false },
      { from: ts(10), to: ts(20), last: false },
      { from: ts(20), to: ts(30), last: true },
    ]);
    // Narrower than the count in nanoseconds: fewer slices.
    expect(planSlices(ts(0, 0), ts(0, 2), 5)).toHaveLength(2);
    expect(planSlices(ts(5), ts(5), 4)).toEqual([{ from: ts(5), to: ts(5), last: true }]);
  });
  it("spaces the inner boundaries over the data, the outer slices reaching the window's ends", () => {
    const slices = planWindow(ts(0), ts(1000), ts(100), ts(199), 2);
    expect(slices[0]?.from).toEqual(ts(0));
    expect(slices[1]?.to).toEqual(ts(1000));
    expect(slices[1]?.last).toBe(true);
    expect(slices[0]?.to.seconds).toBeGreaterThanOrEqual(149);
    expect(slices[0]?.to.seconds).toBeLessThanOrEqual(150);
    expect(planWindow(ts(0), ts(1000), ts(100), ts(100), 4)).toEqual([
      { from: ts(0), to: ts(1000), last: true },
    ]);
  });
  it("a cursor's slice leaves its rest and everything after it", () => {
    const slice: Slice = { from: ts(10), to: ts(20), last: false };
    expect(remainingSlices(slice, false, ts(50))).toEqual([slice, { from: ts(20), to: ts(50), last: true }]);
    expect(remainingSlices(slice, true, ts(50))).toEqual([{ from: ts(20), to: ts(50), last: true }]);
    expect(remainingSlices({ ...slice, last: true }, true, ts(20))).toEqual([]);
  });
});

describe("AdaptiveConcurrency (AIMD)", () => {
  it("halves on a retried page, once per round of pages sent at that limit, and adds one back per clean round", () => {
    const c = new AdaptiveConcurrency(8);
    const tickets = Array.from({ length: 8 }, () => c.send());
    expect(c.canSend).toBe(false);
    c.settle(tickets[0] as number, true);
    expect(c.limit).toBe(4);
    // Sent before the decrease: already answered, no second halving.
    c.settle(tickets[1] as number, true);
    expect(c.limit).toBe(4);
    for (const t of tickets.slice(2)) c.settle(t, false);
    expect(c.inFlight).toBe(0);
    // 6 clean pages at limit 4: one increase after 4.
    expect(c.limit).toBe(5);
    expect(c.lowest).toBe(4);
    expect(c.backoffs).toBe(1);
    const t = c.send();
    c.settle(t, true);
    expect(c.limit).toBe(2);
    // A failed page teaches nothing.
    c.settle(c.send(), undefined);
    expect(c.limit).toBe(2);
    for (let i = 0; i < 100; i++) c.settle(c.send(), false);
    expect(c.limit).toBe(8);
    expect(() => new AdaptiveConcurrency(0)).toThrow(RangeError);
  });
});

describe("PageSpanEstimator", () => {
  it("learns from full pages, widens on sparse slices, and doubles on nearly empty ones", () => {
    const s = new PageSpanEstimator(10);
    expect(s.step).toBeUndefined();
    // Fewer than half a page, or a slice's last page: nothing learned.
    s.observePage([e(0, "a"), e(1, "b")], false);
    expect(s.span).toBeUndefined();
    s.observePage(
      Array.from({ length: 10 }, (_, i) => e(i, String(i))),
      false,
    );
    expect(s.span).toBe(9_000_000_000n);
    expect(s.step).toBe(7_875_000_000n);
    // A slice 100 s wide holding 20 entries: a page there spans 50 s.
    s.observeSlice(100_000_000_000n, 20);
    expect(s.span).toBe(50_000_000_000n);
    // A nearly empty piece at least doubles the span.
    s.observeSlice(10_000_000_000n, 2);
    expect(s.span).toBe(100_000_000_000n);
    // Ties: a full page within one instant is 1 ns wide, not 0.
    const t = new PageSpanEstimator(2);
    t.observePage([e(5, "a"), e(5, "b")], false);
    expect(t.span).toBe(1n);
  });
});

describe("boundary dedupe (shared by the slice walk and tail)", () => {
  const key = (x: E) => x.id;
  it("drops repeats at the boundary and stale entries behind it; keeps only the boundary's keys", () => {
    const state = { position: undefined, keys: new Map<string, bigint>() };
    const first = dedupeEntries([e(1, "a"), e(2, "b"), e(2, "c")], state, 0n, key);
    expect(first.fresh.map((x) => x.id)).toEqual(["a", "b", "c"]);
    expect(state.position).toEqual(ts(2));
    expect([...state.keys.keys()].sort()).toEqual(["b", "c"]);
    const second = dedupeEntries([e(1, "a"), e(2, "c"), e(2, "d"), e(3, "e")], state, 0n, key);
    expect(second.fresh.map((x) => x.id)).toEqual(["d", "e"]);
    expect(second).toMatchObject({ repeated: 1, stale: 1 });
    expect([...state.keys.keys()]).toEqual(["e"]);
  });
  it("with a lookback, remembers (and so drops) entries up to the lookback behind the position", () => {
    const state = { position: ts(10), keys: new Map<string, bigint>([["x", 9_000_000_000n]]) };
    const r = dedupeEntries([e(4, "old"), e(9, "x"), e(8, "late"), e(12, "new")], state, 5_000_000_000n, key);
    expect(r.fresh.map((x) => x.id)).toEqual(["late", "new"]);
    expect(r).toMatchObject({ repeated: 1, stale: 1 });
    // Floor now 12 − 5 = 7 s: "late" (8 s) is still remembered.
    expect([...state.keys.keys()].sort()).toEqual(["late", "new", "x"]);
  });
});

describe("SliceWalk", () => {
  it("walks page after page, and narrowing gives a new slice without touching the old one", async () => {
    const log = fakeLog(Array.from({ length: 25 }, (_, i) => e(i, `e${i}`)));
    const slice: Slice = Object.freeze({ from: ts(0), to: ts(100), last: true });
    const walk = new SliceWalk(slice, { page: 1, boundaryKeys: [] }, log.fetchPage, 10, (x) => x.id);
    const p1 = await walk.next();
    expect(p1.entries.map((x) => x.id)).toEqual(Array.from({ length: 10 }, (_, i) => `e${i}`));
    expect(walk.reached).toEqual(ts(9));
    const rest = walk.narrow(ts(15));
    expect(rest).toEqual({ from: ts(15), to: ts(100), last: true });
    expect(walk.slice).toEqual({ from: ts(0), to: ts(15), last: false });
    expect(slice).toEqual({ from: ts(0), to: ts(100), last: true });
    const p2 = await walk.next();
    // Past the cut: belongs to the piece cut off; the walk ends there.
    expect(p2.entries.map((x) => x.id)).toEqual(["e10", "e11", "e12", "e13", "e14"]);
    expect(p2.done).toBe(true);
    expect(walk.done).toBe(true);
    await expect(walk.next()).rejects.toThrow(/after the last page/);
  });
});

describe("PageScheduler over a fake fetcher", () => {
  it("hands over every entry once, in order, across planned and split slices", async () => {
    const entries = Array.from({ length: 500 }, (_, i) => e(i, `e${i}`));
    const log = fakeLog(entries);
    const stats: PipelineStats = { slices: 0, splits: 0 };
    const scheduler = new PageScheduler(
      planSlices(ts(0), ts(600), 3),
      { page: 1, boundaryKeys: [] },
      log.fetchPage,
      { concurrency: 3, perPage: 20, keyOf: (x) => x.id },
      stats,
    );
    const got: string[] = [];
    for await (const page of scheduler.pages()) got.push(...page.entries.map((x) => x.id));
    expect(got).toEqual(entries.map((x) => x.id));
    expect(stats.slices).toBe(3 + stats.splits);
    expect(stats.lowestConcurrency).toBe(3);
  });
  it("a failing fetch stops every worker and rejects the iteration", async () => {
    let calls = 0;
    const failing: FetchPage<E> = async () => {
      if (++calls === 3) throw new Error("boom");
      return {
        entries: Array.from({ length: 5 }, (_, i) => e(calls * 10 + i, `${calls}-${i}`)),
        attempts: 1,
      };
    };
    const scheduler = new PageScheduler(
      planSlices(ts(0), ts(1000), 2),
      { page: 1, boundaryKeys: [] },
      failing,
      { concurrency: 2, perPage: 5, keyOf: (x) => x.id, split: false },
    );
    await expect(
      (async () => {
        for await (const _ of scheduler.pages()) {
          // drain
        }
      })(),
    ).rejects.toThrow("boom");
  });
});

describe("PartialWriter and the manifest", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "engine-units-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("resumes at the committed length: cuts what came after, refuses a short or altered file", async () => {
    const path = join(dir, "out.partial");
    const w = await PartialWriter.create(path);
    await w.write("hello ");
    await w.sync();
    const committed = { bytes: w.bytes, sha256: w.digest() };
    await w.write("uncommitted");
    await w.close();
    const r = await PartialWriter.resume(path, committed.bytes, committed.sha256);
    if (!(r instanceof PartialWriter)) throw new Error(`resume failed: ${r.kind}`);
    await r.write("world");
    await r.close();
    expect(await readFile(path, "utf8")).toBe("hello world");
    expect(await PartialWriter.resume(path, 100, committed.sha256)).toEqual({ kind: "short", size: 11 });
    expect(await PartialWriter.resume(path, committed.bytes, "0".repeat(64))).toEqual({ kind: "hash" });
  });

  it("a manifest is checked against its schema; the error names the file and the field", async () => {
    const good = validExportManifest();
    expect((await validateManifest("m.json", structuredClone(good))).committed.bytes).toBe(0);
    const bad = (mutate: (m: typeof good) => void) => {
      const m = structuredClone(good);
      mutate(m);
      return validateManifest("m.json", m);
    };
    await expect(validateManifest("m.json", null)).rejects.toThrow(
      new ManifestError("m.json", "field / is null, expected an object"),
    );
    await expect(
      bad((m) => {
        (m.committed as { bytes: unknown }).bytes = -1;
      }),
    ).rejects.toThrow("m.json: field /committed/bytes is -1, expected a value >= 0");
    await expect(
      bad((m) => {
        m.window.to = "yesterday";
      }),
    ).rejects.toThrow('m.json: field /window/to is "yesterday", expected an RFC 3339 timestamp');
    await expect(
      bad((m) => {
        delete (m.committed as { cursor?: unknown }).cursor;
      }),
    ).rejects.toThrow("m.json: field /committed/cursor is missing");
  });

  it("an atomic write that fails leaves no temp file", async () => {
    const target = join(dir, "state.json");
    await mkdir(target);
    await writeFile(join(target, "x"), "");
    await expect(writeFileAtomic(target, "{}")).rejects.toThrow();
    expect((await readdir(dir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("the first atomic write of a path removes the temp file of a writer killed mid-write, not a live one's", async () => {
    const target = join(dir, "killed.json");
    const dead = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ["-e", ""]);
      child.on("exit", () => resolve(child.pid as number));
    });
    await writeFile(join(dir, `.killed.json.${dead}.tmp`), "{half");
    await writeFile(join(dir, `.killed.json.${process.ppid}.tmp`), "{live");
    await writeFileAtomic(target, "{}");
    expect((await readdir(dir)).filter((n) => n.startsWith(".killed.json"))).toEqual([
      `.killed.json.${process.ppid}.tmp`,
    ]);
    expect(await readFile(target, "utf8")).toBe("{}");
  });
});
