/**
 * The collector's end-to-end harness: a multi-account emulator in this process (ephemeral loopback
 * port, each account's log growing with late entries), a collector config written from a small typed
 * spec, the built bin spawned with the PATs in its environment (never on argv), its stderr read line
 * by line, signals and random SIGKILLs, and (./exactlyOnce.ts, re-exported here) the checkers that
 * say whether every destination holds each account's entries, and each alert, exactly once.
 *
 * Framework-free (no jest imports): a failed check throws an ordinary Error that lists what differs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { entryToJsonLine } from "../../packages/client/src/codec/entryPrinter.js";
import { lineKey } from "../../packages/client/src/domain/entryKey.js";
import {
  type EmulatorHandle,
  type EmulatorOptions,
  type GrowthOptions,
  startEmulator,
} from "../../packages/emulator/src/index.js";

import { type CollectorSpec, collectorConfigText } from "./config.js";
import { type Discrepancy, problems } from "./exactlyOnce.js";

export * from "./config.js";
export * from "./exactlyOnce.js";

/** The package's bin (`npm run build`). */
export const BIN = join(process.cwd(), "packages", "cli", "dist", "src", "cli", "clarifai-audit.mjs");

/** Default growth of an account: a few entries every 40 ms, 30% of them late. */
export const DEFAULT_GROWTH: GrowthOptions = { count: 4, everyMs: 40, lateFraction: 0.3 };

/** One account of {@link startAccounts}. */
export interface AccountSpec {
  /** The collector's account id (`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`). */
  id: string;
  /** Generated entries at start (default 200). */
  count?: number;
  /** Seed of the generated entries (default: 100 + the account's index, so accounts differ). */
  seed?: number;
  /** Growth while serving (default {@link DEFAULT_GROWTH}); `false`: none. */
  growth?: GrowthOptions | false;
}

/** An account as served: its ids, PAT and the variable the PAT is passed in. */
export interface HarnessAccount {
  id: string;
  userId: string;
  pat: string;
  /** `CLARIFAI_PAT_<ID>`: the config's `pat_env`; {@link AccountsEmulator.env} sets it. */
  patEnv: string;
}

/** A running multi-account emulator. */
export interface AccountsEmulator {
  emu: EmulatorHandle;
  /** `127.0.0.1:PORT` (plaintext gRPC: `insecure: true`). */
  endpoint: string;
  accounts: HarnessAccount[];
  account(id: string): HarnessAccount;
  /** A child's environment: PATH and every account's PAT variable (plus `extra`). */
  env(extra?: Record<string, string>): Record<string, string>;
  /** An account's log as JSON lines (the lake's and PostgreSQL's `entry`), oldest first. */
  lines(id: string): string[];
  /** The entry keys (packages/client/src/domain/entryKey.ts) of an account's log, oldest first. */
  keys(id: string): string[];
  /** id → {@link keys}, for the checkers (default: every account). */
  expected(ids?: readonly string[]): Map<string, string[]>;
  /** Sets (or, undefined, stops) an account's growth. */
  setGrowth(id: string, growth: GrowthOptions | undefined): void;
  /** Stops every account's growth: the logs are final (call before the final run and the checks). */
  stopGrowth(): void;
  close(): Promise<void>;
}

const envName = (id: string) => `CLARIFAI_PAT_${id.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;

/** Starts an emulator serving `specs` (gRPC only, plaintext, ephemeral port). */
export async function startAccounts(
  specs: readonly AccountSpec[],
  options: Pick<EmulatorOptions, "rateLimit" | "faults"> = {},
): Promise<AccountsEmulator> {
  const accounts: HarnessAccount[] = specs.map((s) => ({
    id: s.id,
    userId: `user-${s.id}`,
    // Random, so a PAT printed anywhere is recognisable in a test's output and never a guess.
    pat: `pat-${s.id}-${randomBytes(8).toString("hex")}`,
    patEnv: envName(s.id),
  }));
  const emu = await startEmulator({
    restPort: false,
    ...options,
    accounts: specs.map((s, i) => {
      const a = accounts[i] as HarnessAccount;
      const growth = s.growth === undefined ? DEFAULT_GROWTH : s.growth;
      return {
        pat: a.pat,
        userId: a.userId,
        generate: { count: s.count ?? 200, seed: s.seed ?? 100 + i },
        ...(growth === false ? {} : { growth }),
      };
    }),
  });
  const account = (id: string): HarnessAccount => {
    const a = accounts.find((x) => x.id === id);
    if (a === undefined)
      throw new Error(`no account ${id} (accounts: ${accounts.map((x) => x.id).join(", ")})`);
    return a;
  };
  const lines = (id: string): string[] => {
    const log = emu.log(account(id).userId);
    if (log === undefined) return [];
    const out: string[] = [];
    for (let i = 0; i < log.size; i++)
      out.push(entryToJsonLine(log.entry(log.order[i] as number) as AuditLogEntry));
    return out;
  };
  const keys = (id: string) => lines(id).map(lineKey);
  return {
    emu,
    endpoint: emu.grpcAddress,
    accounts,
    account,
    env: (extra = {}) => ({
      PATH: process.env.PATH ?? "",
      ...Object.fromEntries(accounts.map((a) => [a.patEnv, a.pat])),
      ...extra,
    }),
    lines,
    keys,
    expected: (ids = accounts.map((a) => a.id)) => new Map(ids.map((id) => [id, keys(id)])),
    setGrowth: (id, growth) => emu.setGrowth(account(id).userId, growth),
    stopGrowth: () => {
      for (const a of accounts) emu.setGrowth(a.userId, undefined);
    },
    close: () => emu.close(),
  };
}

/**
 * Writes `dir/name` (default `collector.yaml`) from `spec` for the accounts of `emulator`, and
 * returns its absolute path. PATs are named by `pat_env` only: run the bin with `emulator.env()`.
 */
export function writeCollectorConfig(
  dir: string,
  emulator: AccountsEmulator,
  spec: CollectorSpec,
  name = "collector.yaml",
): string {
  mkdirSync(dir, { recursive: true });
  const path = resolve(dir, name);
  writeFileSync(path, collectorConfigText(emulator.accounts, emulator.endpoint, spec));
  return path;
}

/** How a process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A spawned bin: its stderr as lines so far, waits on them, signals, its exit. */
export interface BinProcess {
  child: ChildProcess;
  pid: number;
  /** Complete stderr lines so far. */
  readonly lines: string[];
  /** Resolves with the first stderr line (already seen or to come) matching; rejects if the process ends first or after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends a signal (no-op once it has exited). */
  signal(sig: NodeJS.Signals): void;
  /** Its end. */
  readonly exit: Promise<Exit>;
  readonly exited: boolean;
}

/** Options of {@link spawnBin}. */
export interface SpawnOptions {
  /** CLARIFAI_AUDIT_CRASH_AT (packages/client/src/state/crashPoint.ts): e.g. `lake.state-written:3`. */
  crashAt?: string;
  cwd?: string;
  /** A program to run instead of the bin (e.g. a test's bundled child calling runSync). */
  script?: string;
}

/** Spawns the built bin with `args` and exactly `env` (nothing inherited: see {@link AccountsEmulator.env}). */
export function spawnBin(args: string[], env: Record<string, string>, o: SpawnOptions = {}): BinProcess {
  const child = spawn(process.execPath, [o.script ?? BIN, ...args], {
    env: o.crashAt === undefined ? env : { ...env, CLARIFAI_AUDIT_CRASH_AT: o.crashAt },
    cwd: o.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let stdout = "";
  let stderr = "";
  let partial = "";
  let exited = false;
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
    const parts = (partial + d).split("\n");
    partial = parts.pop() ?? "";
    if (parts.length === 0) return;
    lines.push(...parts);
    for (const w of waiters) w();
  });
  const exit = new Promise<Exit>((resolveExit, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      exited = true;
      if (partial !== "") lines.push(partial);
      for (const w of waiters) w();
      resolveExit({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    pid: child.pid as number,
    lines,
    get exited() {
      return exited;
    },
    exit,
    signal(sig) {
      if (!exited) child.kill(sig);
    },
    waitForLine(pattern, timeoutMs = 20_000) {
      return new Promise((resolveLine, reject) => {
        const check = () => {
          const hit = lines.find((l) => pattern.test(l));
          if (hit !== undefined) return done(() => resolveLine(hit));
          if (exited)
            done(() =>
              reject(
                new Error(`exited before a stderr line matched ${pattern}; stderr:\n${stderr.slice(-2000)}`),
              ),
            );
        };
        const timer = setTimeout(
          () =>
            done(() =>
              reject(
                new Error(
                  `no stderr line matched ${pattern} in ${timeoutMs} ms; stderr:\n${stderr.slice(-2000)}`,
                ),
              ),
            ),
          timeoutMs,
        );
        const done = (f: () => void) => {
          clearTimeout(timer);
          waiters.delete(check);
          f();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** `run --config PATH` (the collector), with the PATs in `env`. */
export function spawnCollector(
  config: string,
  env: Record<string, string>,
  o: SpawnOptions & { args?: string[] } = {},
): BinProcess {
  return spawnBin(["run", "--config", config, ...(o.args ?? [])], env, o);
}

/** Options of {@link killLoop}. */
export interface KillLoopOptions {
  /** Runs started (and, unless they end first, SIGKILLed). */
  rounds: number;
  /** Seeded (test/cli/helpers.ts's seededRandom), so a failing run can be replayed. */
  random: () => number;
  /** Starts round `i`'s process. */
  start: (round: number) => BinProcess;
  /** Kill delay range after `armed` resolved, in ms (default 100–900). */
  minMs?: number;
  maxMs?: number;
  /** Waited before the delay starts (e.g. a run's summary line); default: nothing. */
  armed?: (p: BinProcess, round: number) => Promise<unknown> | undefined;
}

/** What a kill loop did: how many runs it killed and how the others ended. */
export interface KillLoopResult {
  killed: number;
  /** Runs that ended before their kill (the caller says whether that was fine). */
  ended: Exit[];
}

/** Starts, waits a random time, SIGKILLs; `rounds` times, one process at a time. */
export async function killLoop(o: KillLoopOptions): Promise<KillLoopResult> {
  const min = o.minMs ?? 100;
  const max = o.maxMs ?? 900;
  const result: KillLoopResult = { killed: 0, ended: [] };
  for (let i = 0; i < o.rounds; i++) {
    const p = o.start(i);
    const delay = min + Math.floor(o.random() * (max - min));
    // A run that ends (or dies) before it is armed is reported as ended, not awaited forever.
    await Promise.race([o.armed?.(p, i)?.catch(() => undefined), p.exit]);
    const timer = setTimeout(() => p.signal("SIGKILL"), delay);
    const r = await p.exit;
    clearTimeout(timer);
    if (r.signal === "SIGKILL") result.killed++;
    else result.ended.push(r);
  }
  return result;
}

/** How one step of a {@link crashChain} ended. */
export interface CrashOutcome {
  /** The CLARIFAI_AUDIT_CRASH_AT spec (`""`: a run without one). */
  crashAt: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs `start(crashAt)` once per spec, one after the other, each to its end (a crash point
 * `point[:n][:action]` of packages/client/src/state/crashPoint.ts kills it there, or fails the step
 * with ENOSPC), then once more without one; `between` runs after each step (e.g. a consistency
 * check). Returns every outcome; the caller asserts (killed where armed, the final run exit 0).
 */
export async function crashChain(
  specs: readonly string[],
  start: (crashAt: string | undefined) => BinProcess,
  between?: (outcome: CrashOutcome) => Promise<void> | void,
): Promise<CrashOutcome[]> {
  const out: CrashOutcome[] = [];
  for (const crashAt of [...specs, ""]) {
    const r = await start(crashAt === "" ? undefined : crashAt).exit;
    const outcome = { crashAt, code: r.code, signal: r.signal, stderr: r.stderr };
    out.push(outcome);
    await between?.(outcome);
  }
  return out;
}

/**
 * The crash-point chain of the collector's tests: one run per step (`point[:n]`) started with
 * `start(step)`, SIGTERMed by a watchdog after `watchdogMs` when its point is never reached (it then
 * exits 0 instead of being SIGKILLed, which the caller's check of the outcomes sees), `afterSteps`
 * after the last step (e.g. stop the logs' growth), then `final()` (e.g. `run --once`).
 */
export function crashSteps(
  steps: readonly string[],
  o: {
    start: (crashAt: string) => BinProcess;
    final: () => BinProcess;
    watchdogMs: number;
    afterSteps?: () => void;
  },
): Promise<CrashOutcome[]> {
  return crashChain(
    steps,
    (crashAt) => {
      if (crashAt === undefined) return o.final();
      const p = o.start(crashAt);
      const watchdog = setTimeout(() => p.signal("SIGTERM"), o.watchdogMs);
      void p.exit.then(() => clearTimeout(watchdog));
      return p;
    },
    (outcome) => {
      if (outcome.crashAt === steps[steps.length - 1]) o.afterSteps?.();
    },
  );
}

/**
 * Polls `check` (e.g. `() => checkLake(dir, emulator.expected())`) until every destination holds
 * each key exactly once, for a running collector to catch up; a check that throws (a lake read
 * while its files change) counts as not yet. Rejects after `timeoutMs` with the last discrepancies.
 */
export async function untilExactlyOnce(
  check: () => Promise<Discrepancy[]>,
  timeoutMs = 20_000,
): Promise<void> {
  const end = performance.now() + timeoutMs;
  let last = "no check completed";
  for (;;) {
    try {
      const lines = problems(await check());
      if (lines.length === 0) return;
      last = lines.join("\n");
    } catch (e) {
      last = String(e);
    }
    if (performance.now() > end) throw new Error(`not exactly once after ${timeoutMs} ms:\n${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
