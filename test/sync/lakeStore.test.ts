/**
 * The Parquet lake store on its own (in-process, real DuckDB, real files): dedupe by key, late
 * counts, the commit protocol's recovery, compaction, refusals that change nothing, and the read-only
 * query view, checked against a second Parquet reader (hyparquet).
 */
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import { readManifest, STATE_FILE, tempPath } from "../../packages/cli/src/sync/lake/manifest.js";
import { openLakeReader } from "../../packages/cli/src/sync/lake/reader.js";
import { createLakeStore } from "../../packages/cli/src/sync/lake/store.js";
import { type SyncState, SyncUsageError } from "../../packages/cli/src/sync/store.js";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { formatTs } from "../../packages/client/src/domain/timestamps.js";
import { exportEntryFromMessage } from "../../packages/client/src/export/exportEntry.js";
import { generateEntries } from "../../packages/emulator/src/index.js";
import { IDENTITY, runState } from "./lakeFixtures.js";

const root = mkdtempSync(join(tmpdir(), "clarifai-audit-lake-"));
let n = 0;
const fresh = () => join(root, `lake-${++n}`);

afterAll(() => rmSync(root, { recursive: true, force: true }));

function sorted(entries: AuditLogEntry[]): AuditLogEntry[] {
  return [...entries].sort((a, b) => {
    const x = a.timestamp as { seconds: number; nanos: number };
    const y = b.timestamp as { seconds: number; nanos: number };
    return x.seconds - y.seconds || x.nanos - y.nanos;
  });
}

const ENTRIES = sorted(generateEntries(600, 7));
const LINES = ENTRIES.map((e) => exportEntryFromMessage(e).json());

function state(prev?: SyncState): SyncState {
  return runState("2000-01-01T00:00:00Z", prev?.totals);
}

async function commitAll(dir: string, batches: AuditLogEntry[][], opts: { compactAt?: number } = {}) {
  const store = createLakeStore({ dir, ...opts });
  let s = await store.open(IDENTITY);
  const inserted: number[] = [];
  for (const batch of batches) {
    const r = await store.commit({ entries: batch.map(exportEntryFromMessage), state: state(s) });
    inserted.push(r.inserted);
    s = (await readManifestState(dir)) ?? s;
  }
  await store.close();
  return inserted;
}

async function readManifestState(dir: string): Promise<SyncState | undefined> {
  return (await readManifest(dir))?.state;
}

async function lakeLines(dir: string): Promise<string[]> {
  const reader = await openLakeReader(dir);
  try {
    const r = await reader.query("SELECT entry FROM audit_log ORDER BY timestamp_ns, entry");
    return (await r.getRowsJson()).map((row) => row[0] as string);
  } finally {
    reader.close();
  }
}

function digest(lines: string[]): string {
  return createHash("sha256")
    .update([...lines].sort().join("\n"))
    .digest("hex");
}

function listParquet(dir: string): string[] {
  const table = join(dir, "audit_log");
  if (!existsSync(table)) return [];
  return readdirSync(table).flatMap((p) => readdirSync(join(table, p)).map((f) => `${p}/${f}`));
}

it("stores each entry once across overlapping commits, and counts late ones", async () => {
  const dir = fresh();
  const inserted = await commitAll(dir, [
    ENTRIES.slice(0, 300),
    ENTRIES.slice(200, 450),
    ENTRIES.slice(0, 600),
  ]);
  expect(inserted).toEqual([300, 150, 150]);
  const lines = await lakeLines(dir);
  expect(lines).toHaveLength(600);
  expect(digest(lines)).toBe(digest(LINES));
  const m = await readManifest(dir);
  expect(m?.state.totals.entries).toBe(600);
  expect(m?.pending.length).toBeGreaterThan(0);
  expect(listParquet(dir).every((f) => f.endsWith(".parquet") && !f.includes("/."))).toBe(true);

  // Late: entries at or before the given mark that are new.
  const store = createLakeStore({ dir });
  const s = await store.open(IDENTITY);
  const mark = formatTs(ENTRIES[599]?.timestamp as { seconds: number; nanos: number });
  const extra = { ...ENTRIES[10], reqId: "late-one" } as AuditLogEntry;
  const r = await store.commit({
    entries: [exportEntryFromMessage(extra), exportEntryFromMessage(ENTRIES[11] as AuditLogEntry)],
    state: state(s),
    lateAtOrBefore: mark,
  });
  expect(r).toEqual({ inserted: 1, late: 1 });
  await store.close();
  expect((await readManifest(dir))?.state.totals).toEqual({ entries: 601, late: 1, runs: 0 });
});

it("a run reaching further back than the keys kept gets them back from the files (prepare): nothing written twice", async () => {
  const first = ENTRIES.slice(0, 200).map(exportEntryFromMessage);
  const middle = formatTs(first[100]?.timestamp as NonNullable<AuditLogEntry["timestamp"]>);
  const rerun = async (prepare: boolean) => {
    const dir = fresh();
    // A run whose reconcile window starts mid-log forgets the keys of the older half.
    let store = createLakeStore({ dir });
    await store.open(IDENTITY);
    await store.commit({ entries: first, state: state(), forgetKeysBefore: middle });
    await store.close();
    // A later run re-reads from the start (a longer --reconcile).
    store = createLakeStore({ dir });
    const s = await store.open(IDENTITY);
    if (prepare) await store.prepare?.("2000-01-01T00:00:00Z");
    const r = await store.commit({
      entries: ENTRIES.slice(0, 250).map(exportEntryFromMessage),
      state: state(s),
    });
    await store.close();
    return { inserted: r.inserted, held: (await lakeLines(dir)).length };
  };
  expect(await rerun(true)).toEqual({ inserted: 50, held: 250 });
  // The keys kept really are the newer half only: without prepare the older half goes in again.
  expect(await rerun(false)).toEqual({ inserted: 150, held: 350 });
});

describe("--memory fast: two commits write side by side", () => {
  const batches = [ENTRIES.slice(0, 300), ENTRIES.slice(200, 450), ENTRIES.slice(0, 600)];

  it("each dedupes against the ones made before it, and they publish in call order", async () => {
    const dir = fresh();
    const store = createLakeStore({ dir, memory: "fast" });
    expect(store.commitsInFlight).toBe(2);
    const s = await store.open(IDENTITY);
    // All made before any resolves, each with the totals the sink knew then (none).
    const results = await Promise.all(
      batches.map((b) => store.commit({ entries: b.map(exportEntryFromMessage), state: state(s) })),
    );
    await store.close();
    expect(results.map((r) => r.inserted)).toEqual([300, 150, 150]);
    const m = await readManifest(dir);
    expect(m?.seq).toBe(3);
    expect(m?.state.totals.entries).toBe(600);
    const lines = await lakeLines(dir);
    expect(lines).toHaveLength(600);
    expect(digest(lines)).toBe(digest(LINES));
    // Files are listed in commit order: their names carry the commit's number.
    const seqs = (m?.files ?? []).map((f) => /part-(\d+)-/.exec(f.path)?.[1]);
    expect(seqs).toEqual([...seqs].sort());
  });

  it("a commit that fails keeps every later one from publishing", async () => {
    const dir = fresh();
    const store = createLakeStore({ dir, memory: "fast" });
    const s = await store.open(IDENTITY);
    const [a, b, c] = batches.map((batch, i) =>
      store.commit({
        entries: (batch as AuditLogEntry[]).map(exportEntryFromMessage),
        state: state(s),
        ...(i === 1 ? { forgetKeysBefore: "not a timestamp" } : {}),
      }),
    );
    await expect(b).rejects.toThrow(/not a timestamp/);
    await expect(c).rejects.toThrow(/not a timestamp/);
    // A may still be writing here: close() lets it finish and publish.
    await store.close();
    await expect(a).resolves.toEqual({ inserted: 300, late: 0 });
    expect((await readManifest(dir))?.state.totals.entries).toBe(300);
    expect(digest(await lakeLines(dir))).toBe(digest(LINES.slice(0, 300)));
  });
});

it("agrees with a second Parquet reader (hyparquet) on every column", async () => {
  const dir = fresh();
  await commitAll(dir, [ENTRIES.slice(0, 200)]);
  const m = await readManifest(dir);
  const rows: Record<string, unknown>[] = [];
  for (const f of m?.files ?? []) {
    const file = await asyncBufferFromFile(join(dir, f.path));
    rows.push(...((await parquetReadObjects({ file, compressors })) as Record<string, unknown>[]));
  }
  expect(rows).toHaveLength(200);
  const reader = await openLakeReader(dir);
  const r = await reader.query(
    "SELECT timestamp_ns, operation, operation_name, user_id, success, req_id, source_ip, details, targets, entry FROM audit_log ORDER BY timestamp_ns, entry",
  );
  const duck = await r.getRowObjectsJson();
  reader.close();
  rows.sort((a, b) =>
    (a.timestamp_ns as bigint) < (b.timestamp_ns as bigint)
      ? -1
      : (a.timestamp_ns as bigint) > (b.timestamp_ns as bigint)
        ? 1
        : (a.entry as string) < (b.entry as string)
          ? -1
          : 1,
  );
  rows.forEach((h, i) => {
    const d = duck[i] as Record<string, unknown>;
    expect(String(h.timestamp_ns)).toBe(d.timestamp_ns);
    expect(h.operation).toBe(d.operation);
    expect(h.operation_name).toBe(d.operation_name);
    expect(h.user_id).toBe(d.user_id);
    expect(h.success).toBe(d.success);
    expect(h.req_id).toBe(d.req_id);
    expect(h.details).toEqual(d.details);
    expect(h.targets).toEqual(d.targets);
    expect(h.entry).toBe(d.entry);
    // The exact timestamp is the entry's own.
    const json = JSON.parse(h.entry as string) as { timestamp: string };
    const e = ENTRIES.find(
      (x) => formatTs(x.timestamp as { seconds: number; nanos: number }) === json.timestamp,
    );
    expect(e).toBeDefined();
  });
  const first = ENTRIES[0] as AuditLogEntry;
  const row = rows.find((x) => x.entry === LINES[0]) as Record<string, unknown>;
  expect(row.timestamp_ns).toBe(
    BigInt(first.timestamp?.seconds ?? 0) * 1_000_000_000n + BigInt(first.timestamp?.nanos ?? 0),
  );
  expect(row.operation).toBe(first.operation);
  expect((row.targets as unknown[]).length).toBe(first.targets.length);
});

it("finishes an interrupted commit on open: pending files renamed, stray temporary files deleted", async () => {
  const dir = fresh();
  await commitAll(dir, [ENTRIES.slice(0, 100), ENTRIES.slice(100, 200)]);
  const m = await readManifest(dir);
  // As if killed between the state file and the rename: the last commit's files are still hidden.
  for (const p of m?.pending ?? []) renameSync(join(dir, p), join(dir, tempPath(p)));
  // And a file of a commit that never reached the state file.
  const partition = (m?.files[0]?.path ?? "").split("/").slice(0, 2).join("/");
  writeFileSync(join(dir, partition, ".part-99999999-0-deadbeef.parquet.tmp"), "half");
  // A reader sees the committed lake even before recovery.
  expect(await lakeLines(dir)).toHaveLength(200);
  const store = createLakeStore({ dir });
  await store.open(IDENTITY);
  await store.close();
  expect(listParquet(dir).filter((f) => f.includes("/."))).toEqual([]);
  expect(await lakeLines(dir)).toHaveLength(200);
});

it("compacts a partition's small files into one, keeping every row", async () => {
  const dir = fresh();
  const day = ENTRIES.filter(
    (e) =>
      formatTs(e.timestamp as never).slice(0, 10) === formatTs(ENTRIES[0]?.timestamp as never).slice(0, 10),
  );
  const chunks = [0, 1, 2, 3].map((i) => day.slice((i * day.length) / 4, ((i + 1) * day.length) / 4));
  await commitAll(dir, chunks, { compactAt: 3 });
  const m = await readManifest(dir);
  expect(m?.files.length).toBeLessThanOrEqual(2);
  expect(listParquet(dir)).toHaveLength(m?.files.length ?? -1);
  expect(digest(await lakeLines(dir))).toBe(digest(day.map((e) => exportEntryFromMessage(e).json())));
});

describe("refusals change nothing", () => {
  function snapshot(dir: string): string {
    return digest([
      ...listParquet(dir),
      existsSync(join(dir, STATE_FILE)) ? readFileSync(join(dir, STATE_FILE), "utf8") : "",
    ]);
  }
  async function refused(dir: string, identity = IDENTITY): Promise<string> {
    const store = createLakeStore({ dir });
    const error = await store.open(identity).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SyncUsageError);
    // The lock was released: a correct open works right after.
    return (error as Error).message;
  }

  it("a DIR that is a file", async () => {
    const file = join(root, "plain-file");
    writeFileSync(file, "x");
    expect(await refused(file)).toMatch(/is not a directory/);
  });
  it("another user or endpoint", async () => {
    const dir = fresh();
    await commitAll(dir, [ENTRIES.slice(0, 10)]);
    const before = snapshot(dir);
    // The field that differs, with both values (field names in backticks: the CLI makes them flags).
    expect(await refused(dir, { ...IDENTITY, userId: "someone-else" })).toMatch(
      /holds the log of user u1 at [^;]+; this sync asks for `userId` someone-else \(the other fields match\); use another `store`, or the same filters$/,
    );
    expect(await refused(dir, { ...IDENTITY, endpoint: "other:443" })).toMatch(
      /holds the log of user u1 at [^;]+; this sync asks for `endpoint` other:443 \(the other fields match\)/,
    );
    expect(await refused(dir, { ...IDENTITY, query: { operations: ["MODEL_DELETE"] } })).toMatch(
      /holds the log of user u1 at [^;]+ with no `operations`; this sync asks for `operations` MODEL_DELETE \(the other fields match\)/,
    );
    expect(snapshot(dir)).toBe(before);
  });
  it("a newer schema version", async () => {
    const dir = fresh();
    await commitAll(dir, [ENTRIES.slice(0, 10)]);
    const path = join(dir, STATE_FILE);
    writeFileSync(path, readFileSync(path, "utf8").replace('"schemaVersion":2', '"schemaVersion":3'));
    const before = snapshot(dir);
    expect(await refused(dir)).toMatch(
      /field \/schemaVersion is 3: .* newer clarifai-audit \(this one reads version 2/,
    );
    expect(snapshot(dir)).toBe(before);
  });
  it("a corrupt Parquet file, named", async () => {
    const dir = fresh();
    await commitAll(dir, [ENTRIES.slice(0, 50)]);
    const m = await readManifest(dir);
    const victim = join(dir, m?.files[0]?.path ?? "");
    truncateSync(victim, 100);
    const before = snapshot(dir);
    const message = await refused(dir);
    expect(message).toContain(victim);
    expect(message).toMatch(/not a valid Parquet file/);
    expect(snapshot(dir)).toBe(before);
    await expect(openLakeReader(dir)).rejects.toThrow(victim);
  });
  it("a second store on the same DIR while one is open", async () => {
    const dir = fresh();
    const first = createLakeStore({ dir });
    await first.open(IDENTITY);
    expect(await refused(dir)).toMatch(/another sync is running/);
    await first.close();
    const again = createLakeStore({ dir });
    await again.open(IDENTITY);
    await again.close();
  });
});

describe("query is read-only", () => {
  let dir: string;
  beforeAll(async () => {
    dir = fresh();
    await commitAll(dir, [ENTRIES.slice(0, 20)]);
  });
  it.each([
    ["INSERT INTO audit_log SELECT * FROM audit_log", /only read-only statements .* INSERT/],
    ["CREATE TABLE t AS SELECT 1", /only read-only statements/],
    [`COPY (SELECT 1) TO '${join(root, "out.csv")}'`, /only read-only statements .* COPY/],
    ["ATTACH ':memory:' AS m2", /only read-only statements/],
    ["SELECT * FROM read_csv('/etc/passwd')", /./],
    ["SET enable_external_access = true", /only read-only statements/],
    ["SELEC 1", /syntax error/i],
    ["SELECT nope FROM audit_log", /nope/],
    ["SELECT 1; SELECT 2", /exactly one/],
  ])("%s", async (sql, message) => {
    const reader = await openLakeReader(dir);
    try {
      await expect(reader.query(sql)).rejects.toThrow(message);
      await expect(reader.query(sql)).rejects.toBeInstanceOf(SyncUsageError);
    } finally {
      reader.close();
    }
    expect(existsSync(join(root, "out.csv"))).toBe(false);
  });
  it("a write into the lake's own folder is refused too", async () => {
    const reader = await openLakeReader(dir);
    try {
      await expect(reader.query(`COPY (SELECT 1) TO '${join(dir, "x.csv")}'`)).rejects.toThrow(
        /only read-only statements .* COPY/,
      );
    } finally {
      reader.close();
    }
    expect(existsSync(join(dir, "x.csv"))).toBe(false);
  });
  it("an empty lake has the columns and no rows", async () => {
    const empty = fresh();
    const store = createLakeStore({ dir: empty });
    await store.open(IDENTITY);
    await store.commit({ entries: [], state: state() });
    await store.close();
    const reader = await openLakeReader(empty);
    const r = await reader.query("SELECT count(*) AS n, count(targets) FROM audit_log");
    expect(await r.getRowsJson()).toEqual([["0", "0"]]);
    reader.close();
  });
});
