/**
 * At least once under SIGKILL: `sync --dest syslog://… --checkpoint F` (the built CLI) syncs an
 * account of the emulator whose log grows with late entries (test/collector/harness.ts) to a real
 * rsyslogd, and is killed at each step of a delivery commit
 * (crash points `delivery.sent`, `delivery.state-written`, and the sync's own) and at random
 * instants; a final run follows. rsyslog then holds every entry of the log (distinct entry ids =
 * the log's keys), and the repeats number at most one commit per kill (commitEntries + perPage − 1:
 * the bound docs/destinations.md states).
 */
import { join } from "node:path";
import { seededRandom, tempDir } from "../cli/helpers.js";
import {
  type AccountsEmulator,
  type BinProcess,
  crashChain,
  killLoop,
  spawnBin,
  startAccounts,
} from "../collector/harness.js";
import { parseSyslog, type Rsyslog, startRsyslog } from "../helpers/rsyslog.js";
import { waitFor } from "../helpers/waitFor.js";

let tmp: ReturnType<typeof tempDir>;
let acc: AccountsEmulator;
let rs: Rsyslog;

const COMMIT_ENTRIES = 20;
const PER_PAGE = 10;
/** The entries one kill may repeat: one commit. */
const BOUND = COMMIT_ENTRIES + PER_PAGE - 1;

beforeAll(async () => {
  tmp = tempDir();
  [acc, rs] = await Promise.all([
    startAccounts([
      { id: "points", count: 150, growth: { count: 2, everyMs: 40, lateFraction: 0.3 } },
      { id: "random", count: 150, growth: { count: 2, everyMs: 40, lateFraction: 0.3 } },
    ]),
    startRsyslog(),
  ]);
}, 60_000);

afterAll(async () => {
  await acc?.close();
  await rs?.close();
  tmp?.cleanup();
});

function start(id: string, crashAt?: string): BinProcess {
  const a = acc.account(id);
  return spawnBin(
    [
      "sync",
      "--endpoint",
      acc.endpoint,
      "--insecure",
      "--dest",
      `syslog://127.0.0.1:${rs.port}`,
      "--checkpoint",
      join(tmp.dir, `${id}.json`),
      "--settle",
      "0s",
      "--reconcile",
      "3650d",
      "--per-page",
      String(PER_PAGE),
      "--commit-entries",
      String(COMMIT_ENTRIES),
      "--commit-interval",
      "0",
      "-q",
    ],
    { PATH: process.env.PATH ?? "", CLARIFAI_PAT: a.pat, CLARIFAI_USER_ID: a.userId },
    crashAt !== undefined ? { crashAt } : {},
  );
}

/** The entry ids rsyslog holds of `id`'s log (`sync` has no account: told apart by the log's keys), in arrival order. */
function delivered(id: string): string[] {
  const others = new Set(acc.accounts.filter((a) => a.id !== id).flatMap((a) => acc.keys(a.id)));
  return rs
    .records()
    .map((r) => parseSyslog(r.raw).sd.get("clarifai@32473")?.get("id") as string)
    .filter((key) => !others.has(key));
}

/** Stops the growth, runs once more to the end, and checks every entry arrived, repeats within `kills` commits. */
async function expectAtLeastOnce(id: string, kills: number): Promise<void> {
  acc.stopGrowth();
  const last = await start(id).exit;
  expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });
  const want = new Set(acc.keys(id));
  await waitFor(() => new Set(delivered(id)).size >= want.size, { what: `every entry of ${id} at rsyslog` });
  const ids = delivered(id);
  expect(new Set(ids)).toEqual(want);
  expect(ids.length - want.size).toBeLessThanOrEqual(kills * BOUND);
}

it("delivers every entry at least once when killed at each step of a delivery commit, repeats within one commit a kill", async () => {
  const specs = [
    "sync.window-pinned",
    "delivery.sent:2",
    "delivery.state-written:2",
    "delivery.sent:5",
    "delivery.state-written:4",
    "delivery.sent:1",
  ];
  const outcomes = await crashChain(specs, (crashAt) => start("points", crashAt));
  for (const o of outcomes.slice(0, -1)) expect([o.crashAt, o.signal]).toEqual([o.crashAt, "SIGKILL"]);
  expect(outcomes.at(-1)?.code).toBe(0);
  // Only a kill between the send and the state file repeats a commit.
  await expectAtLeastOnce("points", specs.filter((s) => s.startsWith("delivery.sent")).length);
}, 60_000);

it("delivers every entry at least once when killed at random instants while the log grows with late entries", async () => {
  const result = await killLoop({
    rounds: 6,
    random: seededRandom(24),
    start: () => start("random"),
    // From its first delivery on.
    armed: () => waitFor(() => delivered("random").length > 0, { what: "a first delivery" }),
    minMs: 10,
    maxMs: 400,
  });
  expect(result.killed).toBeGreaterThan(0);
  for (const r of result.ended) expect(r.code).toBe(0);
  await expectAtLeastOnce("random", result.killed);
}, 60_000);
