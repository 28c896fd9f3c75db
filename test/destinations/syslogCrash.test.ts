/**
 * At least once under SIGKILL: a program of its own (syslogChild.ts, bundled here with esbuild as
 * the CLI's bin is) syncs an account of the emulator whose log grows with late entries
 * (test/collector/harness.ts) to a real rsyslogd, and is killed at each step of a delivery commit
 * (crash points `delivery.sent`, `delivery.state-written`, and the sync's own) and at random
 * instants; a final run follows. rsyslog then holds every entry of the log (distinct entry ids =
 * the log's keys), and the repeats number at most one commit per kill (commitEntries + perPage − 1:
 * the bound docs/destinations.md states).
 */
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
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
import type { SyslogChildConfig } from "./syslogChild.js";

let tmp: ReturnType<typeof tempDir>;
let acc: AccountsEmulator;
let rs: Rsyslog;
let program: string;

const COMMIT_ENTRIES = 20;
const PER_PAGE = 10;
/** The entries one kill may repeat: one commit. */
const BOUND = COMMIT_ENTRIES + PER_PAGE - 1;

beforeAll(async () => {
  tmp = tempDir();
  // The program's packages (grpc-js, …) load from this checkout's node_modules.
  const bin = join(tmp.dir, "bin");
  mkdirSync(bin);
  symlinkSync(join(process.cwd(), "node_modules"), join(bin, "node_modules"));
  program = join(bin, "syslogChild.mjs");
  [acc, rs] = await Promise.all([
    startAccounts([
      { id: "points", count: 150, growth: { count: 2, everyMs: 40, lateFraction: 0.3 } },
      { id: "random", count: 150, growth: { count: 2, everyMs: 40, lateFraction: 0.3 } },
    ]),
    startRsyslog(),
    build({
      entryPoints: [join(process.cwd(), "test", "destinations", "syslogChild.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      outfile: program,
      packages: "external",
      tsconfig: join(process.cwd(), "tsconfig.json"),
      logLevel: "warning",
    }),
  ]);
}, 60_000);

afterAll(async () => {
  await acc?.close();
  await rs?.close();
  tmp?.cleanup();
});

function start(id: string, crashAt?: string): BinProcess {
  const a = acc.account(id);
  const cfg: SyslogChildConfig = {
    endpoint: acc.endpoint,
    userId: a.userId,
    patEnv: a.patEnv,
    url: `syslog://127.0.0.1:${rs.port}`,
    statePath: join(tmp.dir, `${id}.json`),
    account: id,
    commitEntries: COMMIT_ENTRIES,
    perPage: PER_PAGE,
    reconcileMs: 3650 * 86_400_000,
  };
  return spawnBin([JSON.stringify(cfg)], acc.env(), { script: program, ...(crashAt ? { crashAt } : {}) });
}

/** The entry ids rsyslog holds for `id`, in arrival order. */
const delivered = (id: string) =>
  rs
    .records()
    .map((r) => parseSyslog(r.raw).sd.get("clarifai@32473"))
    .filter((sd) => sd?.get("account") === id)
    .map((sd) => sd?.get("id") as string);

/** Stops the growth, runs once more to the end, and checks every entry arrived, repeats within `kills` commits. */
async function expectAtLeastOnce(id: string, kills: number): Promise<void> {
  acc.stopGrowth();
  const last = await start(id).exit;
  expect([last.code, last.stderr]).toEqual([0, expect.stringContaining("child: done")]);
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
