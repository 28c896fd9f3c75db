/**
 * Sync to Splunk HEC killed (SIGKILL) at every step of a delivery (the crash points of
 * packages/client/src/state/crashPoint.ts) and at random instants while the log grows with late
 * entries, then run to the end: a program of its own (hecChild.ts, bundled here with esbuild as the
 * CLI's bin is) against a growing emulator (test/collector/harness.ts) and the test collector with
 * indexer acknowledgement. At least once: the collector ends with every entry of the log (distinct
 * entry ids = the log's), and the duplicates stay within the stated bound: one commit's entries per
 * kill (what was sent and not yet recorded in the state file: at most commitEntries + perPage − 1).
 */
import { spawn } from "node:child_process";
import { mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { build } from "esbuild";
import { seededRandom, tempDir } from "../cli/helpers.js";
import {
  type AccountsEmulator,
  type BinProcess,
  type Exit,
  killLoop,
  startAccounts,
} from "../collector/harness.js";
import { type HecServer, startHecServer } from "../helpers/hecServer.js";
import { waitFor } from "../helpers/waitFor.js";
import type { HecChildConfig } from "./hecChild.js";

const COMMIT_ENTRIES = 30;
const PER_PAGE = 20;
/** The delivery store's bound: what one kill can make the next run send again (a commit, whole pages). */
const PER_KILL = COMMIT_ENTRIES + PER_PAGE - 1;

let tmp: ReturnType<typeof tempDir>;
let accounts: AccountsEmulator;
let hec: HecServer;
let program: string;

beforeAll(async () => {
  tmp = tempDir();
  // The program's packages (grpc-js, …) load from this checkout's node_modules.
  const bin = join(tmp.dir, "bin");
  mkdirSync(bin);
  symlinkSync(join(process.cwd(), "node_modules"), join(bin, "node_modules"));
  program = join(bin, "hecChild.mjs");
  [accounts, hec] = await Promise.all([
    startAccounts([
      { id: "points", count: 150, growth: false },
      { id: "random", count: 200, growth: { count: 4, everyMs: 40, lateFraction: 0.3 } },
    ]),
    startHecServer({ ackDelayMs: 20 }),
    build({
      entryPoints: [join(process.cwd(), "test", "destinations", "hecChild.ts")],
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
  await Promise.all([accounts?.close(), hec?.close()]);
  tmp?.cleanup();
});

/** Spawns the child for `account` (PAT and token in its environment only). */
function start(account: string, crashAt?: string): BinProcess {
  const a = accounts.account(account);
  const cfg: HecChildConfig = {
    endpoint: accounts.endpoint,
    userId: a.userId,
    account,
    url: hec.url("batch_events=10"),
    statePath: join(tmp.dir, `${account}.json`),
    caPath: hec.tls.caPath,
    perPage: PER_PAGE,
    commitEntries: COMMIT_ENTRIES,
    reconcileMs: 3650 * 86_400_000,
  };
  const child = spawn(process.execPath, [program, JSON.stringify(cfg)], {
    env: {
      PATH: process.env.PATH ?? "",
      CHILD_PAT: a.pat,
      CLARIFAI_AUDIT_HEC_TOKEN: hec.token,
      ...(crashAt !== undefined ? { CLARIFAI_AUDIT_CRASH_AT: crashAt } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let exited = false;
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  const exit = new Promise<Exit>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      exited = true;
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    pid: child.pid as number,
    lines: [],
    get exited() {
      return exited;
    },
    exit,
    signal(sig) {
      if (!exited) child.kill(sig);
    },
    waitForLine: () => Promise.reject(new Error("the child prints no progress lines")),
  };
}

/** An account's entries at the collector (by the `account` field): missing, extra copies, foreign ids. */
function heldOf(account: string): { missing: string[]; extra: number; unexpected: number } {
  const keys = accounts.keys(account);
  const want = new Set(keys);
  const counts = new Map<string, number>();
  for (const e of hec.events)
    if ((e.envelope.fields as { account?: string } | undefined)?.account === account)
      counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
  return {
    missing: keys.filter((k) => !counts.has(k)),
    extra: [...counts.values()].reduce((s, n) => s + n - 1, 0),
    unexpected: [...counts.keys()].filter((k) => !want.has(k)).length,
  };
}

it("killed at every step of a delivery, the next run goes on: every entry at least once, at most one commit again per kill", async () => {
  const specs = [
    "hec.batch-sent:1",
    "hec.batch-sent:4",
    "hec.batch-acked:1",
    "hec.batch-acked:3",
    "delivery.sent:2",
    "delivery.state-written:2",
  ];
  for (const spec of specs) {
    const r = await start("points", spec).exit;
    expect({ spec, signal: r.signal, stderr: r.stderr }).toEqual({ spec, signal: "SIGKILL", stderr: "" });
  }
  const last = await start("points").exit;
  expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });
  const h = heldOf("points");
  expect(h.missing).toEqual([]);
  expect(h.unexpected).toBe(0);
  // Each kill before the state file was written repeats what it had sent (the one after it, nothing).
  expect(h.extra).toBeGreaterThan(0);
  expect(h.extra).toBeLessThanOrEqual(specs.length * PER_KILL);
}, 120_000);

it("SIGKILLed at random instants while the log grows with late entries: every entry at least once, duplicates within the bound", async () => {
  let mark = 0;
  const result = await killLoop({
    rounds: 6,
    random: seededRandom(24),
    // Killed while delivering: armed once the round's first batch reached the collector.
    minMs: 0,
    maxMs: 400,
    start: () => {
      mark = hec.bodies.length;
      return start("random");
    },
    armed: () => waitFor(() => hec.bodies.length > mark, { what: "the round's first batch" }),
  });
  accounts.stopGrowth();
  for (const r of result.ended) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  const last = await start("random").exit;
  expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });
  const h = heldOf("random");
  expect(h.missing).toEqual([]);
  expect(h.unexpected).toBe(0);
  expect(h.extra).toBeLessThanOrEqual(result.killed * PER_KILL);
}, 120_000);
