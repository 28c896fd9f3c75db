/**
 * The whole protobuf timestamp range (0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z) in
 * every destination, to the nanosecond: the lake (Parquet + `query`'s view) and PostgreSQL, each
 * store on its own (every edge, the future ones included) and `sync`/`query`/`export` as the built
 * CLI runs them against the emulator (the edges a window ending at now can reach), plus the
 * in-process sync of a window ending in year 9999. A second sync adds nothing; the summary counts
 * what the destination holds, rows deleted since included.
 */
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { asyncBufferFromFile, parquetReadObjects } from "hyparquet";
import { compressors } from "hyparquet-compressors";
import type pg from "pg";
import { openLakeReader } from "../../packages/cli/src/sync/lake/reader.js";
import { createLakeStore } from "../../packages/cli/src/sync/lake/store.js";
import { createPostgresStore, POSTGRES_SCHEMA_VERSION } from "../../packages/cli/src/sync/postgres/store.js";
import { runSync } from "../../packages/cli/src/sync/sync.js";
import { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { formatTimestampExact, parseTimestamp } from "../../packages/client/src/domain/time.js";
import { fitsInt64, tsToNs } from "../../packages/client/src/domain/timestamps.js";
import { exportEntryFromMessage } from "../../packages/client/src/export/exportEntry.js";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import { connection, fileLines, PAT, parseCsv, runCli, tempDir, USER } from "../cli/helpers.js";
import { type PostgresServer, startPostgres } from "../helpers/postgres.js";
import { IDENTITY, runState } from "./lakeFixtures.js";

/** Every edge of the range and of the column types inside it. */
const EDGES = [
  "0001-01-01T00:00:00Z", // the protobuf range's start
  "1677-09-21T00:12:43.145224191Z", // one nanosecond before BIGINT nanoseconds (and DuckDB's TIMESTAMP_NS)
  "1677-09-21T00:12:43.145224192Z", // BIGINT's minimum
  "1969-12-31T23:59:59.999999999Z", // the last nanosecond before the epoch (flooring, not truncation)
  "1970-01-01T00:00:00Z",
  "2262-04-11T23:47:16.854775807Z", // BIGINT's maximum
  "2262-04-11T23:47:16.854775808Z", // one nanosecond after
  "9999-12-31T23:59:59.999999999Z", // the range's end
];
/** Those a window ending now reaches (sync and export end at now − settle). */
const PAST = EDGES.slice(0, 5);

function entry(time: string, i: number): AuditLogEntry {
  return AuditLogEntry.fromPartial({
    timestamp: parseTimestamp(time, "time"),
    user: { id: "edge-user" },
    operation: 300,
    description: `edge ${i}`,
    reqId: `req-${i}`,
    success: true,
  });
}

/** What every destination must hold for `time`: the exact text, BIGINT ns or NULL, floored µs. */
function expected(time: string) {
  const ts = parseTimestamp(time, "time");
  const ns = tsToNs(ts);
  const us = ns / 1000n - (ns < 0n && ns % 1000n !== 0n ? 1n : 0n);
  return { text: formatTimestampExact(ts), ns: fitsInt64(ns) ? ns.toString() : null, us: us.toString() };
}

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let server: PostgresServer;
let dbs = 0;

beforeAll(async () => {
  tmp = tempDir();
  const recent = entry(new Date(Date.now() - 3_600_000).toISOString(), PAST.length);
  [server, emu] = await Promise.all([
    startPostgres(),
    startEmulator({
      pats: { [PAT]: USER },
      entries: [...EDGES.map(entry), recent],
      restPort: false,
    }),
  ]);
}, 120_000);

afterAll(async () => {
  await emu?.close();
  await server?.stop();
  tmp?.cleanup();
});

async function freshDb(): Promise<{ url: string; db: pg.Client }> {
  const name = `t${++dbs}`;
  const url = await server.createDatabase(name);
  return { url, db: await server.client(name) };
}

const EDGE_ENTRIES = () => EDGES.map(entry).map(exportEntryFromMessage);

describe("the lake store", () => {
  it("stores every edge with its exact time, reads it back through query's view and hyparquet, and a second commit adds nothing", async () => {
    const dir = join(tmp.dir, "lake-store");
    let store = createLakeStore({ dir });
    await store.open(IDENTITY);
    // The late count is exact at the nanosecond, outside BIGINT too.
    expect(
      await store.commit({
        entries: EDGE_ENTRIES(),
        state: runState("0001-01-01T00:00:00Z"),
        lateAtOrBefore: "2262-04-11T23:47:16.854775807Z",
      }),
    ).toEqual({ inserted: 8, late: 6 });
    expect(
      (await store.commit({ entries: EDGE_ENTRIES(), state: runState("0001-01-01T00:00:00Z") })).inserted,
    ).toBe(0);
    await store.close();
    // The keys went through the state file (a record of 64-bit nanoseconds) and still dedupe.
    store = createLakeStore({ dir });
    await store.open(IDENTITY);
    expect(
      (await store.commit({ entries: EDGE_ENTRIES(), state: runState("0001-01-01T00:00:00Z") })).inserted,
    ).toBe(0);
    expect(await store.count?.()).toBe(8);
    await store.close();

    const reader = await openLakeReader(dir);
    const rows = (await (
      await reader.query(
        `SELECT timestamp_text, timestamp_ns, epoch_us("timestamp") AS us, CAST("date" AS VARCHAR) AS "date", entry FROM audit_log ORDER BY timestamp_text`,
      )
    ).getRowObjectsJson()) as Record<string, string | null>[];
    reader.close();
    expect(rows.map((r) => r.timestamp_text)).toEqual(EDGES.map((t) => expected(t).text));
    rows.forEach((r, i) => {
      const want = expected(EDGES[i] as string);
      expect({
        ns: r.timestamp_ns,
        us: r.us,
        date: r.date,
        time: JSON.parse(r.entry as string).timestamp,
      }).toEqual({
        ns: want.ns,
        us: want.us,
        date: (EDGES[i] as string).slice(0, 10),
        time: EDGES[i],
      });
    });

    // Another engine reads the same exact times from the files.
    const state = JSON.parse(readFileSync(join(dir, "_clarifai_sync.json"), "utf8")) as {
      files: { path: string }[];
    };
    const texts: string[] = [];
    for (const f of state.files) {
      const file = await asyncBufferFromFile(join(dir, f.path));
      const got = (await parquetReadObjects({ file, columns: ["timestamp_text"], compressors })) as {
        timestamp_text: string;
      }[];
      for (const r of got) texts.push(r.timestamp_text);
    }
    expect(texts.sort()).toEqual(EDGES.map((t) => expected(t).text));
  });
  it("compacts a partition outside BIGINT's years into one file in time order", async () => {
    const dir = join(tmp.dir, "lake-compact");
    const store = createLakeStore({ dir, compactAt: 3 });
    await store.open(IDENTITY);
    const times = [
      "0001-01-01T00:00:00.000000003Z",
      "0001-01-01T00:00:00.000000001Z",
      "0001-01-01T00:00:00.000000002Z",
    ];
    for (const [i, t] of times.entries())
      await store.commit({
        entries: [exportEntryFromMessage(entry(t, 10 + i))],
        state: runState("0001-01-01T00:00:00Z"),
      });
    await store.close();
    const state = JSON.parse(readFileSync(join(dir, "_clarifai_sync.json"), "utf8")) as {
      files: { path: string }[];
    };
    expect(state.files).toHaveLength(1);
    const file = await asyncBufferFromFile(join(dir, (state.files[0] as { path: string }).path));
    const rows = (await parquetReadObjects({ file, columns: ["timestamp_text"], compressors })) as {
      timestamp_text: string;
    }[];
    expect(rows.map((r) => r.timestamp_text)).toEqual(times.map((t) => expected(t).text).sort());
  });
});

describe("the PostgreSQL store", () => {
  it("stores every edge with its exact time, a second commit adds nothing, and the late count is exact to the nanosecond", async () => {
    const { url, db } = await freshDb();
    const store = createPostgresStore({ url });
    await store.open(IDENTITY);
    expect(
      await store.commit({
        entries: EDGE_ENTRIES(),
        state: runState("0001-01-01T00:00:00Z"),
        lateAtOrBefore: "2262-04-11T23:47:16.854775807Z",
      }),
    ).toEqual({ inserted: 8, late: 6 });
    expect(
      (await store.commit({ entries: EDGE_ENTRIES(), state: runState("0001-01-01T00:00:00Z") })).inserted,
    ).toBe(0);
    expect(await store.count?.()).toBe(8);
    await store.close();
    const r = await db.query<{ text: string; ns: string | null; us: string; time: string }>(
      `SELECT timestamp_text AS text, timestamp_ns::text AS ns, entry->>'timestamp' AS time,
         (extract(epoch FROM "timestamp") * 1000000)::numeric(30,0)::text AS us
       FROM audit_log ORDER BY timestamp_text`,
    );
    expect(r.rows).toEqual(EDGES.map((t) => ({ ...expected(t), time: t })));
    await db.end();
  });
});

describe("sync, query and export as the CLI runs them", () => {
  const SYNC = ["--settle", "0s", "--reconcile", "36500d", "--per-page", "2"];
  const past = PAST.map((t) => expected(t).text);

  it("a lake: every past edge exactly once, to the nanosecond; a second sync adds nothing", async () => {
    const dir = join(tmp.dir, "lake-cli");
    const conn = connection(emu.grpcAddress);
    const first = await runCli(["sync", ...conn, "--dest", dir, ...SYNC]);
    expect({ code: first.code, stderr: first.stderr }).toEqual({
      code: 0,
      stderr: expect.stringMatching(/(^|\n)synced 6 new entries .*the destination holds 6 entries/),
    });
    const second = await runCli(["sync", ...conn, "--dest", dir, ...SYNC]);
    expect(second.stderr).toMatch(/(^|\n)synced 0 new entries .*the destination holds 6 entries/);
    const q = await runCli([
      "query",
      "--lake",
      dir,
      `SELECT timestamp_text, timestamp_ns, epoch_us("timestamp") AS us FROM audit_log ORDER BY timestamp_text`,
      "--format",
      "jsonl",
    ]);
    expect(q.stderr).toBe("");
    const rows = q.stdout
      .trim()
      .split("\n")
      .map(
        (l) => JSON.parse(l) as { timestamp_text: string; timestamp_ns: number | string | null; us: number },
      );
    expect(rows.slice(0, 5).map((r) => r.timestamp_text)).toEqual(past);
    PAST.forEach((t, i) => {
      const want = expected(t);
      const row = rows[i] as (typeof rows)[number];
      expect([row.timestamp_ns === null ? null : String(row.timestamp_ns), String(row.us)]).toEqual([
        want.ns,
        want.us,
      ]);
    });
  });

  it("PostgreSQL: every past edge exactly once; a second sync adds nothing; after rows are deleted the summary says what the table holds", async () => {
    const { url, db } = await freshDb();
    const conn = connection(emu.grpcAddress);
    const first = await runCli(["sync", ...conn, "--dest", url, ...SYNC]);
    expect({ code: first.code, stderr: first.stderr }).toEqual({
      code: 0,
      stderr: expect.stringMatching(/(^|\n)synced 6 new entries .*the destination holds 6 entries/),
    });
    const second = await runCli(["sync", ...conn, "--dest", url, ...SYNC]);
    expect(second.stderr).toMatch(/(^|\n)synced 0 new entries .*the destination holds 6 entries/);
    const r = await db.query<{ text: string; ns: string | null }>(
      "SELECT timestamp_text AS text, timestamp_ns::text AS ns FROM audit_log ORDER BY timestamp_text",
    );
    expect(r.rows.slice(0, 5)).toEqual(PAST.map((t) => ({ text: expected(t).text, ns: expected(t).ns })));

    // Retention deletes the oldest rows: older than the reconcile window, they are never offered
    // again, and the summary counts the table, not what was ever stored.
    await db.query(`DELETE FROM audit_log WHERE "timestamp" < '1900-01-01T00:00:00Z'`);
    const third = await runCli(["sync", ...conn, "--dest", url, ...SYNC]);
    expect({ code: third.code, stderr: third.stderr }).toEqual({
      code: 0,
      stderr: expect.stringMatching(/(^|\n)synced 0 new entries .*the destination holds 3 entries/),
    });
    expect((await db.query("SELECT count(*)::int AS n FROM audit_log")).rows[0].n).toBe(3);
    await db.end();
  });

  it("export to JSONL and CSV: every past edge with its exact time", async () => {
    const conn = connection(emu.grpcAddress);
    for (const format of ["jsonl", "csv"]) {
      const out = join(tmp.dir, `edges.${format}`);
      const r = await runCli(["export", ...conn, "--out", out, "--settle", "0s"]);
      expect({ code: r.code, stderr: r.stderr }).toEqual({
        code: 0,
        stderr: expect.stringMatching(/(^|\n)exported 6 entries/),
      });
      const times =
        format === "jsonl"
          ? fileLines(out).map((l) => (JSON.parse(l) as { timestamp: string }).timestamp)
          : parseCsv(readFileSync(out, "utf8"))
              .slice(1)
              .map((row) => row[0]);
      expect(times.slice(0, 5)).toEqual(PAST);
    }
  });
});

describe("sync of a window ending in year 9999 (the engine's clock set there)", () => {
  const NOW = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
  // The window ends at 9999-12-31T23:59:59.999Z: every edge but the last nanoseconds of the range.
  const REACHED = EDGES.slice(0, 7);

  it.each(["lake", "postgres"])(
    "%s: every edge up to the window's end, exactly; a second run adds nothing",
    async (kind) => {
      const client = new AuditLogClient({
        pat: PAT,
        userId: USER,
        endpoint: emu.grpcAddress,
        insecure: true,
      });
      let url = "";
      let db: pg.Client | undefined;
      if (kind === "postgres") ({ url, db } = await freshDb());
      const dir = join(tmp.dir, "lake-9999");
      const store = () => (kind === "lake" ? createLakeStore({ dir }) : createPostgresStore({ url }));
      const options = { client, settleMs: 0, reconcileMs: 3_153_600_000_000, perPage: 3, now: () => NOW };
      try {
        const first = await runSync({ ...options, store: store() });
        expect([first.inserted, first.held]).toEqual([8, 8]);
        const second = await runSync({ ...options, store: store() });
        expect([second.inserted, second.held]).toEqual([0, 8]);
      } finally {
        client.close();
      }
      let texts: string[];
      if (db !== undefined) {
        texts = (
          await db.query<{ t: string }>("SELECT timestamp_text AS t FROM audit_log ORDER BY 1")
        ).rows.map((r) => r.t);
        await db.end();
      } else {
        const reader = await openLakeReader(dir);
        const rows = await (
          await reader.query("SELECT timestamp_text AS t FROM audit_log ORDER BY 1")
        ).getRowObjectsJson();
        reader.close();
        texts = rows.map((r) => r.t as string);
      }
      const recent = texts.filter((t) => !REACHED.some((e) => expected(e).text === t));
      expect(recent).toHaveLength(1);
      expect(texts.filter((t) => t !== recent[0])).toEqual(REACHED.map((t) => expected(t).text));
    },
  );
});

describe("schema version 1 destinations are migrated", () => {
  it("PostgreSQL: a version 1 table gets every row's exact time (from timestamp_ns, else from the entry's text)", async () => {
    const { url, db } = await freshDb();
    const undated = exportEntryFromMessage(
      AuditLogEntry.fromPartial({ description: "no time", reqId: "nt" }),
    );
    let store = createPostgresStore({ url });
    await store.open(IDENTITY);
    await store.commit({ entries: [...EDGE_ENTRIES(), undated], state: runState("0001-01-01T00:00:00Z") });
    await store.close();
    // What version 1 left: the same rows without the column.
    await db.query("ALTER TABLE audit_log DROP COLUMN timestamp_text");
    await db.query("UPDATE clarifai_audit_migrations SET version = 1");
    store = createPostgresStore({ url });
    await store.open(IDENTITY);
    expect(
      (await store.commit({ entries: EDGE_ENTRIES(), state: runState("0001-01-01T00:00:00Z") })).inserted,
    ).toBe(0);
    await store.close();
    const r = await db.query<{ t: string }>("SELECT timestamp_text AS t FROM audit_log ORDER BY 1");
    expect(r.rows.map((x) => x.t)).toEqual(
      [...EDGES, "1970-01-01T00:00:00Z"].map((t) => expected(t).text).sort(),
    );
    expect((await db.query("SELECT version FROM clarifai_audit_migrations")).rows).toEqual([
      { version: POSTGRES_SCHEMA_VERSION },
    ]);
    await db.end();
  });

  it("a lake: query reads a version 1 lake as version 2, and a sync rewrites its files to version 2", async () => {
    const dir = join(tmp.dir, "lake-v1");
    // Version 1 held BIGINT nanoseconds' years only.
    const inRange = EDGES.filter((t) => expected(t).ns !== null);
    const entries = () =>
      EDGES.map(entry)
        .filter((_, i) => expected(EDGES[i] as string).ns !== null)
        .map(exportEntryFromMessage);
    let store = createLakeStore({ dir });
    await store.open(IDENTITY);
    await store.commit({ entries: entries(), state: runState("1600-01-01T00:00:00Z") });
    await store.close();
    // Rewrite the lake as version 1 wrote it: no timestamp_text, timestamp truncated toward zero.
    const statePath = join(dir, "_clarifai_sync.json");
    const manifest = JSON.parse(readFileSync(statePath, "utf8")) as {
      schemaVersion: number;
      files: { path: string; bytes: number }[];
    };
    const instance = await DuckDBInstance.create(":memory:");
    const duck = await instance.connect();
    for (const f of manifest.files) {
      const path = join(dir, f.path);
      await duck.run(
        `COPY (SELECT * EXCLUDE (timestamp_text) REPLACE (make_timestamptz(timestamp_ns // 1000) AS "timestamp") FROM read_parquet('${path}')) TO '${path}.v1' (FORMAT parquet, KV_METADATA {clarifai_audit_schema_version: '1'})`,
      );
      renameSync(`${path}.v1`, path);
      f.bytes = statSync(path).size;
    }
    duck.closeSync();
    instance.closeSync();
    manifest.schemaVersion = 1;
    writeFileSync(statePath, JSON.stringify(manifest));
    const oldPaths = manifest.files.map((f) => f.path);

    const read = async () => {
      const reader = await openLakeReader(dir);
      const rows = await (
        await reader.query(
          `SELECT timestamp_text AS t, timestamp_ns AS ns, epoch_us("timestamp") AS us FROM audit_log ORDER BY timestamp_text`,
        )
      ).getRowObjectsJson();
      reader.close();
      return rows;
    };
    const want = inRange.map((t) => ({ t: expected(t).text, ns: expected(t).ns, us: expected(t).us }));
    expect(await read()).toEqual(want);

    store = createLakeStore({ dir });
    await store.open(IDENTITY);
    expect(
      (await store.commit({ entries: entries(), state: runState("1600-01-01T00:00:00Z") })).inserted,
    ).toBe(0);
    await store.close();
    const after = JSON.parse(readFileSync(statePath, "utf8")) as {
      schemaVersion: number;
      files: { path: string }[];
    };
    expect(after.schemaVersion).toBe(2);
    expect(after.files).toHaveLength(oldPaths.length);
    for (const p of oldPaths) expect(existsSync(join(dir, p))).toBe(false);
    expect(await read()).toEqual(want);
    // The rewritten files carry the column themselves (another engine reads it).
    for (const f of after.files) {
      const file = await asyncBufferFromFile(join(dir, f.path));
      const got = (await parquetReadObjects({ file, columns: ["timestamp_text"], compressors })) as {
        timestamp_text: string;
      }[];
      for (const r of got) expect(want.map((w) => w.t)).toContain(r.timestamp_text);
    }
  });
});

describe("watch", () => {
  it("a checkpoint whose newest entry is 1 ns before the epoch is written as an RFC 3339 time and resumed", async () => {
    // The log ends just before 1970, so the checkpoint's lookback keys hold that entry's time.
    const old = await startEmulator({
      pats: { [PAT]: USER },
      entries: PAST.slice(0, 4).map(entry),
      restPort: false,
    });
    try {
      const checkpoint = join(tmp.dir, "watch.checkpoint.json");
      const args = [
        "watch",
        ...connection(old.grpcAddress),
        "--rules",
        "builtin",
        "--once",
        "--checkpoint",
        checkpoint,
        "-q",
      ];
      const first = await runCli([...args, "--from", "0001-01-01T00:00:00Z"]);
      expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
      const saved = JSON.parse(readFileSync(checkpoint, "utf8")) as {
        position: string;
        seen: [string, string][];
      };
      expect(saved.position).toBe("1969-12-31T23:59:59.999999999Z");
      expect(saved.seen.map(([, t]) => t)).toEqual(["1969-12-31T23:59:59.999999999Z"]);
      const second = await runCli(args);
      expect({ code: second.code, stderr: second.stderr }).toEqual({ code: 0, stderr: "" });
    } finally {
      await old.close();
    }
  });
});
