/**
 * Exactly once across runs of any kind: a lake and a PostgreSQL table synced by a series of runs
 * that differ (complete, killed mid-walk, interrupted, resumed with another --reconcile, --settle
 * 60s after 0s and 0s after 60s, --reconcile widened or narrowed) while the log grows at its head
 * and with late entries behind the last run's high-water mark, end with every entry of the log
 * exactly once. The log is dense near now, so each run's reconcile boundary (high-water − reconcile)
 * falls among entries. Each scenario has its own user (its own log) in one emulator; its lake and
 * table are synced side by side, step by step.
 */
import { join } from "node:path";
import type pg from "pg";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { type CliResult, cliEnv, connection, isoToNs, runCli, tempDir } from "../cli/helpers.js";
import { type PostgresServer, startPostgres } from "../helpers/postgres.js";
import { expectLakeHolds, expectTableHolds, linesOf } from "./syncHelpers.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let conn: string[];
let server: PostgresServer;

const SCENARIOS = 5;
const pat = (i: number) => `runs-pat-${i}-0123456789abcdef`;
const user = (i: number) => `runs-user-${i}`;

beforeAll(async () => {
  tmp = tempDir();
  const pats: Record<string, string> = {};
  for (let i = 0; i < SCENARIOS; i++) pats[pat(i)] = user(i);
  [server, emu] = await Promise.all([startPostgres(), startEmulator({ pats, entries: [], restPort: false })]);
  conn = connection(emu.grpcAddress);
}, 120_000);

afterAll(async () => {
  await emu?.close();
  await server?.stop();
  tmp?.cleanup();
});

let seed = 1000;
/** Generated entries re-dated at the given instants (ms since the epoch, µs added at random). */
function entriesAt(times: number[]): AuditLogEntry[] {
  const out = generateEntries(times.length, ++seed);
  return out.map((e, i) => {
    const ms = times[i] as number;
    const us = Math.floor(ms * 1000) + ((seed * 7919 + i * 104729) % 1000);
    return { ...e, timestamp: { seconds: Math.floor(us / 1e6), nanos: (us % 1e6) * 1000 } };
  });
}

/** `count` instants spread evenly over `[from, to]` (ms). */
function spread(from: number, to: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + ((to - from) * i) / Math.max(1, count - 1));
}

/** A run of a scenario: its flags, and how it is to end (killed at a crash point, interrupted, or complete). */
interface Step {
  flags: string[];
  /** CLARIFAI_AUDIT_CRASH_AT for the lake's run and the table's. */
  crash?: { lake: string; pg: string };
}

const COMMON = ["--per-page", "50", "--concurrency", "2", "--commit-interval", "0", "-q"];
const run = (settle: string, reconcile: string, crash?: Step["crash"]): Step => ({
  flags: ["--settle", settle, "--reconcile", reconcile],
  ...(crash ? { crash } : {}),
});
const KILL_MID_WALK = { lake: "lake.published:3", pg: "pg.after-commit:3" };
const INTERRUPT = { lake: "sync.window-pinned:SIGINT", pg: "sync.window-pinned:SIGINT" };

const CASES: [string, Step[]][] = [
  ["--reconcile widened between complete runs", [run("0s", "20s"), run("0s", "200s"), run("0s", "20s")]],
  ["--settle 60s after --settle 0s", [run("0s", "20s"), run("60s", "20s"), run("0s", "20s")]],
  ["--settle 0s after --settle 60s", [run("60s", "20s"), run("0s", "20s"), run("0s", "20s")]],
  [
    "killed mid-walk, resumed with a narrower --reconcile, then a wider one",
    [run("0s", "200s"), run("0s", "200s", KILL_MID_WALK), run("0s", "20s"), run("0s", "200s")],
  ],
  [
    "interrupted (SIGINT), resumed with a wider --reconcile, then --settle 60s, then complete",
    [run("0s", "20s", INTERRUPT), run("0s", "200s"), run("60s", "20s"), run("0s", "20s")],
  ],
];

/** The high-water mark the summary of a run names (its last line: a resumed run is followed by a fresh one). */
function highWaterOf(r: CliResult): bigint | undefined {
  const all = [...r.stderr.matchAll(/, up to (\S+)\n/g)];
  const last = all[all.length - 1]?.[1];
  return last === undefined ? undefined : isoToNs(last);
}

async function runStep(i: number, to: string, step: Step, crash: string | undefined): Promise<CliResult> {
  const env = cliEnv({
    CLARIFAI_PAT: pat(i),
    CLARIFAI_USER_ID: user(i),
    ...(crash ? { CLARIFAI_AUDIT_CRASH_AT: crash } : {}),
  });
  const r = await runCli(["sync", ...conn, "--dest", to, ...step.flags, ...COMMON], env);
  const outcome = { to, crash, code: r.code, signal: r.signal, stderr: r.stderr };
  if (crash?.endsWith(":SIGINT")) {
    // The interrupt names what sync does about it, not export's --resume.
    expect(outcome).toEqual({
      ...outcome,
      code: 130,
      stderr: expect.stringMatching(
        /^clarifai-audit: error: sync interrupted after \d+ entries of its window; what was walked is stored: run the same sync again to continue \(it resumes the window\)\n$/,
      ),
    });
  } else if (crash) expect(outcome).toEqual({ ...outcome, signal: "SIGKILL" });
  // -q: a complete run prints nothing (only errors and warnings).
  else expect(outcome).toEqual({ ...outcome, code: 0, stderr: "" });
  return r;
}

/** The entries each scenario's log was given. */
const given: AuditLogEntry[][] = Array.from({ length: SCENARIOS }, () => []);
function append(i: number, entries: AuditLogEntry[]): void {
  (given[i] as AuditLogEntry[]).push(...entries);
  emu.append(entries, user(i));
}

async function scenario(i: number, steps: Step[]): Promise<void> {
  const dir = join(tmp.dir, `lake-${i}`);
  const url = await server.createDatabase(`runs${i}`);
  const db: pg.Client = await server.client(`runs${i}`);
  try {
    // Dense near now: an entry every second over the last 240 s.
    const t0 = Date.now();
    append(i, entriesAt(spread(t0 - 240_000, t0 - 1000, 240)));
    let highWater: bigint | undefined;
    for (const [n, step] of steps.entries()) {
      const [lake, table] = await Promise.all([
        runStep(i, dir, step, step.crash?.lake),
        runStep(i, url, step, step.crash?.pg),
      ]);
      // The older of the two marks (the runs ran side by side).
      // The last step is a complete --settle 0s run: it reaches now, and the log is compared.
      if (n === steps.length - 1) break;
      const marks = [highWaterOf(lake), highWaterOf(table)].filter((m) => m !== undefined);
      if (marks.length > 0) highWater = marks.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[0];
      // The log grows: late entries just behind the high-water mark (inside any run's 20 s
      // reconcile window), and new ones at its head.
      const now = Date.now();
      const behind = highWater === undefined ? now : Number(highWater / 1_000_000n);
      append(i, entriesAt([...spread(behind - 8000, behind - 1000, 8), ...spread(now - 900, now, 5)]));
    }
    const expected = linesOf(given[i] as AuditLogEntry[]);
    expect(expected.length).toBe(emu.size(user(i)));
    await expectLakeHolds(dir, expected);
    await expectTableHolds(db, expected);
  } finally {
    await db.end();
  }
}

it(`runs of every kind, one after another (${CASES.map(([name]) => name).join("; ")}): the lake and the table hold the log exactly once`, async () => {
  // The scenarios side by side (each has its own log): a run mostly waits.
  const results = await Promise.allSettled(CASES.map(([, steps], i) => scenario(i, steps)));
  const failed = results.flatMap((r, i) =>
    r.status === "rejected" ? [`${(CASES[i] as [string, Step[]])[0]}: ${(r.reason as Error).message}`] : [],
  );
  expect(failed).toEqual([]);
}, 180_000);
