/**
 * `sync` killed (SIGKILL) or failed (ENOSPC) at every step of a commit and of a run's end, through
 * the injectable crash points (packages/client/src/state/crashPoint.ts), then run again: the built CLI against the
 * emulator, into a Parquet lake and into PostgreSQL. Whatever step the first run died at, the next
 * one goes on from the state it left, and the destination ends with every entry of the log exactly
 * once and totals that count what it holds. One emulator and one PostgreSQL for the file; a small
 * log and a commit per page, so a run has many commits and the lake compacts.
 */
import { join } from "node:path";
import type pg from "pg";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { cliEnv, connection, PAT, runCli, tempDir, USER } from "../cli/helpers.js";
import { type PostgresServer, startPostgres } from "../helpers/postgres.js";
import { expectLakeHolds, expectTableHolds, lakeHeld, linesOf } from "./syncHelpers.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let conn: string[];
let server: PostgresServer;
// One UTC day of entries (one partition): with a commit per page, many commits, compacted every 7.
const ENTRIES = generateEntries(320, 61);
const EXPECTED = linesOf(ENTRIES);

beforeAll(async () => {
  tmp = tempDir();
  [server, emu] = await Promise.all([
    startPostgres(),
    startEmulator({ pats: { [PAT]: USER }, entries: ENTRIES, restPort: false }),
  ]);
  conn = connection(emu.grpcAddress);
}, 120_000);

afterAll(async () => {
  await emu?.close();
  await server?.stop();
  tmp?.cleanup();
});

const FLAGS = [
  "--settle",
  "0s",
  "--reconcile",
  "3650d",
  "--concurrency",
  "2",
  "--commit-interval",
  "0",
  "-q",
];

/**
 * Runs sync with CLARIFAI_AUDIT_CRASH_AT=`spec` (none when empty), checks it ended as `spec` says
 * (killed there, failed there with ENOSPC, or complete) and records the outcome.
 */
async function runAt(chain: string, to: string, spec: string, extra: string[]): Promise<void> {
  const env = spec === "" ? cliEnv() : cliEnv({ CLARIFAI_AUDIT_CRASH_AT: spec });
  const r = await runCli(["sync", ...conn, "--dest", to, ...FLAGS, ...extra], env);
  const outcome = { chain, spec, code: r.code, signal: r.signal, stderr: r.stderr };
  if (spec.endsWith(":ENOSPC"))
    expect(outcome).toEqual({
      ...outcome,
      code: 1,
      signal: null,
      stderr: expect.stringMatching(/^clarifai-audit: error: .*no space left on device[^\n]*\n$/),
    });
  // Killed: nothing printed (-q).
  else if (spec !== "")
    expect(outcome).toEqual({
      ...outcome,
      code: null,
      signal: "SIGKILL",
      stderr: "",
    });
  else
    expect(outcome).toEqual({
      ...outcome,
      code: 0,
      signal: null,
      // -q: a complete run prints nothing (only errors and warnings).
      stderr: "",
    });
}

/** One step of a chain: a crash spec ("" = a complete run), and flags of that run. */
type Step = string | [spec: string, flags: string[]];

const FAST = ["--memory", "fast", "--commit-entries", "10", "--commit-interval", "1h"];

/** Every step of a lake commit and of a run's end; each run resumes what the one before left. */
const LAKE_COMMIT: Step[] = [
  "lake.staged:3",
  "lake.file-written:2",
  "lake.file-synced:2",
  "lake.file-synced:2:ENOSPC",
  "lake.state-written:3",
  // The next open finishes the renames the kill left pending, and is killed there.
  "lake.recovered",
  "lake.state-written:3:ENOSPC",
  "lake.renamed:2",
  "lake.published:3",
  // Two commits in flight, published in order.
  ["lake.state-written:3", FAST],
  ["lake.renamed:2", FAST],
  "sync.window-walked",
  "sync.window-walked",
  "sync.window-walked:ENOSPC",
  "sync.run-ended",
  "sync.closed",
];

/** Every step of a compaction (a page per commit of 5 entries: one every 7 commits). */
const LAKE_COMPACT: Step[] = [
  "lake.compact-file-synced",
  "lake.compact-state-written",
  "lake.recovered",
  "lake.compact-published",
  "lake.obsolete-deleted:3",
  "lake.compact-state-written:ENOSPC",
  // The end of a later run, one with a reconcile window over what is held: the kill above came
  // after a complete (resumed) run, in the fresh one the same invocation went on with.
  "sync.window-pinned",
  "sync.window-walked",
  "sync.run-ended",
];

const POSTGRES: Step[] = [
  // The first run's first commit (the state row's INSERT), uncommitted, then committed.
  "pg.before-commit:1",
  "pg.after-commit:1",
  "pg.rows-inserted:3",
  "pg.rows-inserted:3:ENOSPC",
  "pg.before-commit:3",
  "pg.after-commit:3",
  "sync.window-walked",
  "sync.window-walked:ENOSPC",
  "sync.run-ended",
  "sync.closed",
  "sync.window-pinned",
  "sync.window-walked",
  "sync.run-ended",
];

/** After a kill: what the lake holds is each entry once, and its totals count it. */
async function lakeConsistent(dir: string): Promise<void> {
  const held = await lakeHeld(dir).catch((e) =>
    String(e).includes("ENOENT") ? undefined : Promise.reject(e),
  );
  if (held === undefined) return;
  expect(new Set(held.entries).size).toBe(held.entries.length);
  expect(held.totals).toBe(held.entries.length);
}

async function tableConsistent(db: pg.Client): Promise<void> {
  const n = (await db.query("SELECT count(*)::int AS n FROM audit_log").catch(() => ({ rows: [{ n: 0 }] })))
    .rows[0].n;
  const st = await db
    .query("SELECT state FROM clarifai_audit_sync_state")
    .catch(() => ({ rows: [] as { state: { totals: { entries: number } } }[] }));
  expect(st.rows[0]?.state.totals.entries ?? 0).toBe(n);
}

async function runChain(
  chain: string,
  to: string,
  steps: Step[],
  perPage: string,
  consistent: () => Promise<void>,
): Promise<void> {
  for (const step of steps) {
    const [spec, flags] = typeof step === "string" ? [step, []] : step;
    await runAt(chain, to, spec, ["--per-page", perPage, ...flags]);
    await consistent();
  }
  await runAt(chain, to, "", ["--per-page", perPage]);
}

it("killed or failed at every step of a commit and of a run's end, the next run goes on: each destination ends with the log exactly once", async () => {
  const lake = join(tmp.dir, "lake-commit");
  const compacted = join(tmp.dir, "lake-compact");
  const url = await server.createDatabase("crash");
  const db: pg.Client = await server.client("crash");
  try {
    // Side by side: each run mostly waits (process start, DuckDB, fsync), and they share nothing.
    await Promise.all([
      runChain("lake commit", lake, LAKE_COMMIT, "10", () => lakeConsistent(lake)),
      runChain("lake compaction", compacted, LAKE_COMPACT, "5", () => lakeConsistent(compacted)),
      runChain("postgres", url, POSTGRES, "10", () => tableConsistent(db)),
    ]);
    await expectLakeHolds(lake, EXPECTED);
    await expectLakeHolds(compacted, EXPECTED);
    await expectTableHolds(db, EXPECTED);
  } finally {
    await db.end();
  }
}, 300_000);

it("a misspelt crash point is refused in one line, exit 2 (a test that names it would test nothing)", async () => {
  const r = await runCli(
    ["sync", ...conn, "--dest", join(tmp.dir, "never"), ...FLAGS],
    cliEnv({ CLARIFAI_AUDIT_CRASH_AT: "lake.stagd" }),
  );
  expect({ code: r.code, stderr: r.stderr }).toEqual({
    code: 2,
    stderr: expect.stringMatching(
      /^clarifai-audit: error: CLARIFAI_AUDIT_CRASH_AT \(a test hook\): unknown point lake\.stagd .*\n$/,
    ),
  });
});
