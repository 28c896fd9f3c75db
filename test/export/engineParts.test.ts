/**
 * The three parts `exportToSink` composes (packages/client/src/export/plan.ts, walk.ts, sinkSession.ts), each on its
 * own, against the emulator on loopback (real gRPC): the walk source hands over every entry of the
 * pinned window once and in order, and a plan rebuilt from any of its cursors walks exactly the
 * rest; the sink session flushes at the commit interval of a clock the test drives and closes once,
 * flushing what was written before a failure; and one identity function names the log for all.
 */
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { entryToJsonLine } from "../../packages/client/src/codec/index.js";
import { resumeIdentity } from "../../packages/client/src/export/identity.js";
import type { PipelineStats } from "../../packages/client/src/export/orderedPages.js";
import {
  pinWindow,
  planFromCursor,
  type WalkSettings,
  walkSettings,
  walkStats,
} from "../../packages/client/src/export/plan.js";
import type { ExportCursor, ExportSink } from "../../packages/client/src/export/sink.js";
import { SinkSession } from "../../packages/client/src/export/sinkSession.js";
import { type WalkBatch, walkPlan } from "../../packages/client/src/export/walk.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";

const PAT = "parts-pat";
const USER = "parts-user";

let emu: EmulatorHandle;
let client: AuditLogClient;
let lines: string[];

beforeAll(async () => {
  const entries: AuditLogEntry[] = generateEntries(1_500, 21);
  lines = entries.map(entryToJsonLine);
  emu = await startEmulator({ pats: { [PAT]: USER }, entries, restPort: false });
  client = new AuditLogClient({ pat: PAT, userId: USER, endpoint: emu.grpcAddress, insecure: true });
});
afterAll(async () => {
  client.close();
  await emu.close();
});

const sink: ExportSink = { open: async () => undefined, write: async () => {}, close: async () => {} };
const NOW = () => Date.parse("2026-01-01T00:00:00Z");

async function walkAll(
  settings: WalkSettings,
  cursor?: ExportCursor,
): Promise<{ batches: WalkBatch[]; lines: string[] }> {
  const stats = walkStats(cursor);
  const plan = cursor ? planFromCursor(cursor) : await pinWindow(settings, stats, NOW, undefined);
  const pipeline: PipelineStats = { slices: 0, splits: 0 };
  const batches: WalkBatch[] = [];
  for await (const b of walkPlan(plan, settings, stats, pipeline, undefined)) batches.push(b);
  return { batches, lines: batches.flatMap((b) => b.entries.map((e) => e.json())) };
}

it("the walk source yields every entry of the window once, in order, and a cursor's plan walks the rest", async () => {
  const settings = walkSettings({ sink, client, perPage: 100, concurrency: 4, settleMs: 0 });
  const whole = await walkAll(settings);
  expect(whole.lines).toEqual(lines);
  const last = whole.batches[whole.batches.length - 1] as WalkBatch;
  expect(last.cursor.complete).toBe(true);
  expect(last.cursor.stats?.entries).toBe(lines.length);
  // Resumed from each of a few cursors: what was handed over before it, plus the rest, is the log.
  for (const i of [0, 3, Math.floor(whole.batches.length / 2), whole.batches.length - 2]) {
    const at = whole.batches[i] as WalkBatch;
    const before = whole.batches.slice(0, i + 1).flatMap((b) => b.entries.map((e) => e.json()));
    const rest = await walkAll(settings, at.cursor);
    expect([...before, ...rest.lines]).toEqual(lines);
  }
  // A complete cursor leaves nothing to fetch.
  expect((await walkAll(settings, last.cursor)).batches).toEqual([]);
});

it("planning refuses bad options and cursors with one line, before any request", async () => {
  const calls = emu.calls;
  expect(() => walkSettings({ sink, client, perPage: 0 })).toThrow(
    "`perPage`: 0 is not an integer from 1 to 1000",
  );
  expect(() => walkSettings({ sink, client, query: { page: 2 } })).toThrow(
    "`query.page`: the engine sets it; pass the window as options.from / options.to",
  );
  expect(() => walkSettings({ sink })).toThrow("exportToSink: pass a client or a fetchPage");
  const settings = walkSettings({ sink, client, settleMs: 0 });
  await expect(
    pinWindow(
      { ...settings, from: { seconds: 2_000_000_000, nanos: 0 } },
      walkStats(undefined),
      NOW,
      undefined,
    ),
  ).rejects.toThrow(/^empty window: from 2033-05-18T03:33:20Z is after to 2026-01-01T00:00:00Z/);
  const bad = { version: 1, window: { from: "x", to: "y", pinnedAt: "z" } } as unknown as ExportCursor;
  expect(() => planFromCursor(bad)).toThrow(
    "the sink's cursor is corrupt: window.from is not a timestamp: x",
  );
  expect(emu.calls).toBe(calls);
});

it("the sink session flushes at the commit interval of its clock, and a failure flushes then closes once", async () => {
  const calls: string[] = [];
  let t = 0;
  const recording: ExportSink = {
    open: async () => undefined,
    write: async () => {
      calls.push("write");
    },
    flush: async () => {
      calls.push("flush");
    },
    close: async (o) => {
      calls.push(`close ${o.complete} ${o.error ? (o.error as Error).message : ""}`.trim());
    },
  };
  const session = new SinkSession(recording, 1000, () => t);
  session.walking();
  const batch = { entries: [], cursor: {} as ExportCursor };
  for (const at of [0, 400, 999, 1000, 1500, 2100]) {
    t = at;
    await session.write(batch);
    await session.commitIfDue();
  }
  expect(calls).toEqual(["write", "write", "write", "write", "flush", "write", "write", "flush"]);
  calls.length = 0;
  await session.fail(new Error("boom"), true);
  expect(calls).toEqual(["flush", "close false boom"]);

  // A sink without flush is still closed with the error.
  const closed: unknown[] = [];
  const plain = new SinkSession(
    { open: async () => undefined, write: async () => {}, close: async (o) => void closed.push(o.error) },
    0,
    () => 0,
  );
  const err = new Error("x");
  await plain.fail(err, true);
  expect(closed).toEqual([err]);
});

it("one identity function names the log for every resumable reader", () => {
  const log = { endpoint: "api.example:443", userId: "u" };
  // tail and watch compare their identities as JSON text: the order is part of it.
  expect(JSON.stringify(resumeIdentity(log, { operations: [1], lookbackMs: 5 }))).toBe(
    '{"operations":[1],"lookbackMs":5,"userId":"u","endpoint":"api.example:443"}',
  );
  expect(resumeIdentity(undefined, { perPage: 10 })).toEqual({ perPage: 10 });
  expect(walkSettings({ sink, client, perPage: 10, identity: { format: "jsonl" } }).identity).toEqual({
    filters: {},
    perPage: 10,
    from: null,
    to: null,
    userId: USER,
    endpoint: emu.grpcAddress,
    format: "jsonl",
  });
});
