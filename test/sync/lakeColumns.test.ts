/**
 * The lake's columns are derived from each entry's JSON line inside DuckDB (packages/cli/src/sync/lake/schema.ts).
 * Checked here against an independent derivation in JS (the one the store used before), for the
 * emulator's entries and for the edge cases proto3 JSON allows: absent fields, an empty target, an
 * unknown operation code, no timestamp, escapes and non-ASCII text; and each file's rows in the
 * order they were committed, also across interleaved dates and skipped duplicates.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { readManifest } from "../../packages/cli/src/sync/lake/manifest.js";
import { openLakeReader } from "../../packages/cli/src/sync/lake/reader.js";
import { createLakeStore } from "../../packages/cli/src/sync/lake/store.js";
import {
  AuditLogEntry,
  type EventType,
} from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { lineBytesKey, lineKey } from "../../packages/client/src/domain/entryKey.js";
import { operationName } from "../../packages/client/src/domain/operations.js";
import { formatTimestampExact } from "../../packages/client/src/domain/time.js";
import { nsToTs } from "../../packages/client/src/domain/timestamps.js";
import { exportEntryFromMessage } from "../../packages/client/src/export/exportEntry.js";
import { generateEntries } from "../../packages/emulator/src/index.js";
import { IDENTITY, runState } from "./lakeFixtures.js";

const root = mkdtempSync(join(tmpdir(), "clarifai-audit-lakecols-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Json = Record<string, unknown>;
const str = (v: unknown) => (typeof v === "string" ? v : "");

/** The columns of one JSON line, computed in JS. */
function reference(line: string): Json {
  const o = JSON.parse(line) as Json;
  const operation = typeof o.operation === "number" ? o.operation : 0;
  const targets: Json[] = [];
  for (const target of (Array.isArray(o.targets) ? o.targets : []) as Json[]) {
    for (const kind in target) {
      const v = (target[kind] ?? {}) as Json;
      const cc = v.compute_cluster as Json | undefined;
      targets.push({
        kind,
        id: str(v.id),
        app_id: v.app_id ?? null,
        user_id: v.user_id ?? null,
        module_id: v.module_id ?? null,
        workflow_id: v.workflow_id ?? null,
        compute_cluster_id: cc?.id ?? v.compute_cluster_id ?? null,
      });
      break;
    }
  }
  return {
    operation,
    operation_name: operationName(operation),
    user_id: str((o.user as Json | undefined)?.id),
    description: str(o.description),
    targets,
    details: Array.isArray(o.details) ? o.details : [],
    success: o.success === true,
    req_id: str(o.req_id),
    source_ip: str(o.source_ip),
  };
}

const EDGES: AuditLogEntry[] = [
  AuditLogEntry.fromPartial({ description: "no timestamp, nothing else" }),
  AuditLogEntry.fromPartial({
    timestamp: { seconds: 1_700_000_000, nanos: 123_456_789 },
    operation: 99_999 as EventType,
    description: 'quotes " and \\ and a\nnewline, tab\t, é, 😀, \u2028',
    targets: [
      {},
      { nodepool: { id: "np", computeCluster: { id: "cc-1" } } },
      { model: { id: "m", appId: "a" } },
    ],
    details: ["first", "", "ünïcode"],
    success: false,
    reqId: "r-1",
    sourceIp: "::1",
  }),
  AuditLogEntry.fromPartial({
    timestamp: { seconds: -86_401, nanos: 1 },
    user: { id: "before-1970" },
    success: true,
  }),
];

it.each(["lean", "fast"] as const)(
  "derives every column as the JS reference does, keeping each file's rows in commit order (--memory %s)",
  async (memory) => {
    const dir = join(root, `lake-${memory}`);
    // Dates interleave (shuffled), and the second commit repeats entries around new ones, so files
    // are staged from lines that are not consecutive in the commit.
    const generated = generateEntries(900, 11);
    const first = [...generated.slice(0, 500), ...EDGES].sort((a, b) => (a.reqId < b.reqId ? -1 : 1));
    const second = [...generated.slice(400, 900)].reverse();
    const store = createLakeStore({ dir, memory });
    await store.open(IDENTITY);
    expect(
      (
        await store.commit({
          entries: first.map(exportEntryFromMessage),
          state: runState("1960-01-01T00:00:00Z"),
        })
      ).inserted,
    ).toBe(503);
    expect(
      (
        await store.commit({
          entries: second.map(exportEntryFromMessage),
          state: runState("1960-01-01T00:00:00Z"),
        })
      ).inserted,
    ).toBe(400);
    await store.close();

    const reader = await openLakeReader(dir);
    const r = await reader.query(
      "SELECT entry, operation, operation_name, user_id, description, targets, details, success, req_id, source_ip, timestamp_ns, timestamp_text, epoch_us(timestamp) AS us FROM audit_log",
    );
    const rows = await r.getRowObjectsJson();
    reader.close();
    expect(rows).toHaveLength(903);
    const byLine = new Map([...first, ...second].map((e) => [exportEntryFromMessage(e).json(), e]));
    for (const row of rows) {
      const { entry, timestamp_ns, timestamp_text, us, ...columns } = row as Json;
      expect(columns).toEqual(reference(entry as string));
      const source = byLine.get(entry as string) as AuditLogEntry;
      const ns =
        BigInt(source.timestamp?.seconds ?? 0) * 1_000_000_000n + BigInt(source.timestamp?.nanos ?? 0);
      expect(timestamp_ns).toBe(String(ns));
      // Floored: an instant before 1970 with a fraction of a microsecond is in the microsecond before.
      const us1000 = ns / 1000n - (ns < 0n && ns % 1000n !== 0n ? 1n : 0n);
      expect(us).toBe(String(us1000));
      expect(timestamp_text).toBe(formatTimestampExact(nsToTs(ns)));
    }

    // Each file holds its date's new entries in the order they were committed.
    const expected = new Map<string, string[]>();
    const seen = new Set<string>();
    const m = await readManifest(dir);
    for (const [seq, batch] of [first, second].entries()) {
      for (const e of batch) {
        const line = exportEntryFromMessage(e).json();
        if (seen.has(line)) continue;
        seen.add(line);
        const ns = BigInt(e.timestamp?.seconds ?? 0) * 1_000_000_000n + BigInt(e.timestamp?.nanos ?? 0);
        const file = m?.files.find(
          (f) => f.path.includes(`part-0000000${seq + 1}-`) && BigInt(f.minNs) <= ns && ns <= BigInt(f.maxNs),
        );
        expect(file).toBeDefined();
        expected.set(file?.path as string, [...(expected.get(file?.path as string) ?? []), line]);
      }
    }
    for (const f of m?.files ?? []) {
      const file = await asyncBufferFromFile(join(dir, f.path));
      const got = (await parquetReadObjects({ file, compressors, columns: ["entry"] })) as {
        entry: string;
      }[];
      expect(got.map((x) => x.entry)).toEqual(expected.get(f.path));
    }
  },
);

it("hashes a line's bytes to the key of the line", () => {
  for (const e of [...EDGES, ...generateEntries(50, 3)]) {
    const line = exportEntryFromMessage(e).json();
    const bytes = Buffer.from(`x\n${line}\n`);
    expect(lineBytesKey(bytes, 2, bytes.length - 1)).toBe(lineKey(line));
  }
});
