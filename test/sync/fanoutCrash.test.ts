/**
 * A round of the fan-out (three lakes fed by one walk) killed (SIGKILL) or failed (ENOSPC) at every
 * step of a lake commit, of a compaction and of a run's end, through the injectable crash points
 * (packages/client/src/state/crashPoint.ts), then run again: a small program of its own
 * (fanoutChild.ts, bundled here with esbuild as the CLI's bin is) against the emulator. The kill
 * stops all three members at once, each at its own step, so the next round finds them in different
 * states (a run to resume, a fresh window, a commit to recover) and sorts them into walks; whatever
 * step a round died at, every lake stays consistent, and the last rounds leave each holding the
 * whole log exactly once. The log grows between rounds, so every round has rows to write.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { tempDir } from "../cli/helpers.js";
import { bundleChild } from "../helpers/bundleChild.js";
import { expectLakesHold, lakeConsistent } from "./fanoutHelpers.js";

/** Two chains side by side, each with its own log (user) and lakes. */
const CHAINS = ["commit", "compact"] as const;
type Chain = (typeof CHAINS)[number];
const pat = (c: Chain) => `fanout-crash-${c}-0123456789abcdef`;
const user = (c: Chain) => `fanout-crash-${c}`;

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let program: string;

beforeAll(async () => {
  tmp = tempDir();
  [emu] = await Promise.all([
    startEmulator({
      pats: Object.fromEntries(CHAINS.map((c) => [pat(c), user(c)])),
      entries: [],
      restPort: false,
    }),
    bundleChild("test/sync/fanoutChild.ts", tmp.dir).then((p) => {
      program = p;
    }),
  ]);
}, 60_000);

beforeAll(() => {
  for (const [i, c] of CHAINS.entries()) emu.append(generateEntries(120, 81 + i), user(c));
});

afterAll(async () => {
  await emu?.close();
  tmp?.cleanup();
});

interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A round of `chain` at instant `now` (ms), re-reading the last 30 s before the members' marks. */
function runChild(chain: Chain, dirs: string[], crash: string, now: number): Promise<ChildResult> {
  const perPage = chain === "compact" ? "5" : "20";
  const args = [program, emu.grpcAddress, pat(chain), user(chain), perPage, String(now), "30000", ...dirs];
  const child: ChildProcess = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, ...(crash !== "" ? { CLARIFAI_AUDIT_CRASH_AT: crash } : {}) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
}

interface RoundReport {
  members: Record<string, { error?: string; inserted?: number; resumed?: boolean }>;
}

/**
 * Every step of a lake commit and of a run's end ("commit"), and of a compaction ("compact", pages
 * of five: every member compacts its partition in every round); an arrival count (`:n`) lands a step
 * in a later commit, or another member. ENOSPC fails one member's step: that member is detached,
 * the others end the round.
 */
const STEPS: Record<Chain, string[]> = {
  commit: [
    "sync.window-pinned:2",
    "lake.staged:4",
    "lake.file-written:3",
    "lake.file-synced:4",
    "lake.state-written:4",
    // The next open finishes the renames the kill left pending, and is killed there.
    "lake.recovered:2",
    "lake.renamed:3",
    "lake.published:5",
    "lake.state-written:2:ENOSPC",
    "sync.window-walked:2",
    "sync.window-walked:ENOSPC",
    "sync.run-ended:2",
    "sync.closed:2",
  ],
  compact: [
    "lake.compact-file-synced",
    "lake.compact-state-written",
    "lake.recovered",
    "lake.compact-published:2",
    "lake.obsolete-deleted:3",
  ],
};

let seed = 900;
/**
 * New entries at the head of `chain`'s log, a second apart (the same UTC day: one partition, whose
 * small files compact); returns the instant of the round after them (ms).
 */
function grow(chain: Chain, count: number): number {
  const base = (emu.log(user(chain))?.span()?.last.seconds ?? 0) + 1;
  const entries: AuditLogEntry[] = generateEntries(count, ++seed).map((e, i) => ({
    ...e,
    timestamp: { seconds: base + i, nanos: (seed * 7919 + i * 104_729) % 1_000_000_000 },
  }));
  emu.append(entries, user(chain));
  return (base + count) * 1000;
}

/** Runs `chain`'s steps, one round each, then rounds without faults; its lakes end with its log exactly once. */
async function runChain(chain: Chain): Promise<void> {
  const dirs = ["m0", "m1", "m2"].map((d) => join(tmp.dir, `${chain}-${d}`));
  for (const spec of STEPS[chain]) {
    // Eight pages of five in a compaction round (seven small files make a compaction).
    const r = await runChild(chain, dirs, spec, grow(chain, chain === "compact" ? 40 : 30));
    const outcome = { chain, spec, code: r.code, signal: r.signal, stderr: r.stderr };
    if (spec.endsWith(":ENOSPC")) {
      expect(outcome).toEqual({ ...outcome, code: 0, signal: null, stderr: "" });
      // One member failed at the step, the two others ended the round.
      const report = JSON.parse(r.stdout) as RoundReport;
      const failed = Object.values(report.members).filter((m) => m.error !== undefined);
      expect(failed.map((m) => m.error)).toEqual([expect.stringContaining("no space left on device")]);
    } else expect(outcome).toEqual({ ...outcome, code: null, signal: "SIGKILL", stderr: "" });
    for (const d of dirs) {
      await lakeConsistent(d).catch((e: unknown) => {
        // Killed before this lake's first commit: no state file yet.
        if (!String(e).includes("ENOENT")) throw e;
      });
    }
  }
  // Rounds without faults until none resumes a run (a resumed run ends at its pinned window; the
  // entries that landed after it need a fresh round).
  for (let i = 0; ; i++) {
    const r = await runChild(chain, dirs, "", grow(chain, 0));
    expect({ chain, code: r.code, stderr: r.stderr }).toEqual({ chain, code: 0, stderr: "" });
    const report = JSON.parse(r.stdout) as RoundReport;
    expect(Object.values(report.members).filter((m) => m.error !== undefined)).toEqual([]);
    if (Object.values(report.members).every((m) => !m.resumed)) break;
    expect(i).toBeLessThan(2);
  }
  await expectLakesHold(dirs, emu.size(user(chain)));
}

it("killed or failed at every step of a lake commit, a compaction and a round's end, the next round goes on: each lake ends with the log exactly once", async () => {
  // Side by side: a round mostly waits (process start, DuckDB, fsync), and the chains share nothing.
  await Promise.all(CHAINS.map(runChain));
}, 120_000);
