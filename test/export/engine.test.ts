/**
 * The engine into a sink of our own (in memory), against the emulator in-process over real gRPC:
 * every entry exactly once and in order, resuming from the cursor the sink returns after an abort
 * or a crash mid-walk, and while the log grows.
 */
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { entryToJsonLine } from "../../packages/client/src/codec/index.js";
import {
  type ExportBatch,
  type ExportCursor,
  ExportInterruptedError,
  type ExportSink,
  exportToSink,
  type SinkOpenInfo,
} from "../../packages/client/src/export/index.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";

const PAT = "engine-pat";
const USER = "engine-user";

/**
 * Holds entries and cursor "durably" only at flush (as a database transaction would); `crashAfter`
 * batches, write throws and everything not flushed is lost, like a killed process.
 */
class MemorySink implements ExportSink {
  durable: { lines: string[]; cursor: ExportCursor | undefined } = { lines: [], cursor: undefined };
  pending: { lines: string[]; cursor: ExportCursor | undefined } = { lines: [], cursor: undefined };
  identity: Record<string, unknown> | undefined;
  batches = 0;
  crashed = false;
  closed: { complete: boolean } | undefined;
  constructor(
    public crashAfter = Number.POSITIVE_INFINITY,
    public onBatch: (n: number) => void = () => {},
  ) {}
  async open(info: SinkOpenInfo): Promise<ExportCursor | undefined> {
    if (this.identity !== undefined) expect(info.identity).toEqual(this.identity);
    this.identity = info.identity;
    this.pending = { lines: [], cursor: this.durable.cursor };
    this.closed = undefined;
    this.crashed = false;
    return this.durable.cursor;
  }
  async start(cursor: ExportCursor): Promise<void> {
    this.durable.cursor = cursor;
    this.pending.cursor = cursor;
  }
  async write(batch: ExportBatch): Promise<void> {
    if (++this.batches > this.crashAfter) {
      // Gone with the process: the engine's flush on the way out must not save it.
      this.crashed = true;
      this.pending = { lines: [], cursor: undefined };
      throw new Error("crash");
    }
    this.pending.lines.push(...batch.entries.map((e) => e.json()));
    this.pending.cursor = batch.cursor;
    this.onBatch(this.batches);
  }
  async flush(): Promise<void> {
    if (this.crashed) return;
    this.durable = { lines: [...this.durable.lines, ...this.pending.lines], cursor: this.pending.cursor };
    this.pending = { lines: [], cursor: this.durable.cursor };
  }
  async close(outcome: { complete: boolean }): Promise<void> {
    this.closed = outcome;
  }
}

let emu: EmulatorHandle;
let client: AuditLogClient;
let initial: AuditLogEntry[];
let initialLines: string[];

beforeAll(async () => {
  initial = generateEntries(2_400, 7);
  initialLines = initial.map(entryToJsonLine);
  emu = await startEmulator({ pats: { [PAT]: USER }, entries: initial, restPort: false });
  client = new AuditLogClient({ pat: PAT, userId: USER, endpoint: emu.grpcAddress, insecure: true });
});
afterAll(async () => {
  client?.close();
  await emu?.close();
});

function sortedByTime(lines: string[]): boolean {
  const ts = lines.map((l) => (JSON.parse(l) as { timestamp: string }).timestamp);
  // RFC 3339 UTC with a fixed date layout: text order is time order up to the fraction's length.
  const ns = ts.map((t) => {
    const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(t) as RegExpExecArray;
    return `${m[1]}.${(m[2] ?? "").padEnd(9, "0")}`;
  });
  return ns.every((t, i) => i === 0 || (ns[i - 1] as string) <= t);
}

const base = { settleMs: 0, perPage: 50, concurrency: 4, commitIntervalMs: 0 } as const;

it("hands every entry to the sink exactly once, in window order", async () => {
  const sink = new MemorySink();
  const summary = await exportToSink({ ...base, sink, client });
  expect(sink.closed).toEqual({ complete: true });
  expect(sink.durable.cursor?.complete).toBe(true);
  expect(sink.durable.lines.length).toBe(initial.length);
  expect(new Set(sink.durable.lines)).toEqual(new Set(initialLines));
  expect(sortedByTime(sink.durable.lines)).toBe(true);
  expect(summary.entries).toBe(initial.length);
  expect(summary.resumed).toBe(false);
  // Resuming a complete walk fetches nothing and hands over nothing.
  const calls = emu.calls;
  const again = await exportToSink({ ...base, sink, client });
  expect(emu.calls).toBe(calls);
  expect(again.resumed).toBe(true);
  expect(again.entries).toBe(initial.length);
  expect(sink.durable.lines.length).toBe(initial.length);
});

it("resumes from the sink's cursor after an abort mid-walk", async () => {
  const controller = new AbortController();
  const sink = new MemorySink(Number.POSITIVE_INFINITY, (n) => {
    if (n === 9) controller.abort();
  });
  await expect(exportToSink({ ...base, sink, client, signal: controller.signal })).rejects.toBeInstanceOf(
    ExportInterruptedError,
  );
  expect(sink.closed).toEqual({ complete: false });
  const partway = sink.durable.lines.length;
  expect(partway).toBeGreaterThan(0);
  expect(partway).toBeLessThan(initial.length);
  const summary = await exportToSink({ ...base, sink, client });
  expect(summary.resumed).toBe(true);
  expect(summary.entries).toBe(initial.length);
  expect(sink.durable.lines.length).toBe(initial.length);
  expect(new Set(sink.durable.lines)).toEqual(new Set(initialLines));
  expect(sortedByTime(sink.durable.lines)).toBe(true);
});

it("after crashes that lose what was not flushed, while the log grows, still exactly once", async () => {
  const sink = new MemorySink();
  emu.setFaults({ latencyMs: 2, growth: { count: 20, everyMs: 10, lateFraction: 0.5 }, seed: 3 });
  try {
    let crashes = 0;
    for (let run = 0; ; run++) {
      expect(run).toBeLessThan(60);
      // Growth lands inside the pinned window (after the newest entry, before now): stopped after a
      // few runs, or a walk of a few batches per run would chase it forever.
      if (run === 4) emu.resetFaults();
      sink.batches = 0;
      sink.crashAfter = 3 + (run % 4);
      try {
        // Flushes every third batch or so: a crash loses the batches since.
        await exportToSink({ ...base, sink, client, commitIntervalMs: run % 2 === 0 ? 0 : 5 });
        break;
      } catch (error) {
        expect((error as Error).message).toBe("crash");
        crashes++;
      }
    }
    expect(crashes).toBeGreaterThan(2);
  } finally {
    emu.resetFaults();
  }
  const lines = sink.durable.lines;
  expect(new Set(lines).size).toBe(lines.length);
  const got = new Set(lines);
  expect(initialLines.filter((l) => !got.has(l))).toEqual([]);
  expect(sortedByTime(lines)).toBe(true);
  expect(emu.size()).toBeGreaterThan(initial.length);
});
