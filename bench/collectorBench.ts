/**
 * The collector (issue 23), part 11 of `npm run bench`: what one walk fanned out to several
 * destinations costs next to one `sync` per destination, on one emulator log of N entries (the
 * emulator in this process, so its request counter is exact; plaintext loopback gRPC).
 *
 * Baseline (runs today): one `sync` to a lake and one to PostgreSQL (requests, entries/s, peak RSS
 * with the default `--memory lean`, from /usr/bin/time -v).
 *
 * Collector slots (run when a `runCollector` is given, or when the bin has `run`, detected with
 * `run --help`; otherwise reported as not measured):
 * - three destinations (lake, PostgreSQL, alerts) with one walk: requests over one sync's (target
 *   ≤ 1.1×), entries/s over the slowest single sync's (target ≥ 0.8×);
 * - 10 accounts × 3 destinations: peak RSS over one `sync --memory lean` (target ≤ 2×);
 * - failover: two instances with coordination, one SIGKILLed: the time until the other holds its
 *   accounts' leases (target ≤ lease + one poll).
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type EmulatorHandle, startEmulator } from "@clarifai-audit/emulator";
import { type ConfigAccount, collectorConfigText, type DestinationSpec } from "../test/collector/config.js";
import { type PostgresServer, startPostgres } from "../test/helpers/postgres.js";
import { type FailoverFigures, failoverSlot } from "./collectorFailover.js";
import { tempDir } from "./endToEnd.js";
import { timed } from "./lakeBench.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = join(ROOT, "packages/cli/dist/src/cli/clarifai-audit.mjs");

/** One measured run. */
export interface CollectorRunFigures {
  name: string;
  entries: number;
  seconds: number;
  /** Search calls the emulator served during the run. */
  requests: number;
  maxRssMb?: number;
}

/**
 * Runs the collector on `configPath` until `done()` holds (every destination has what it should),
 * then stops it (SIGTERM) and reports its wall time to `done` and its peak RSS. The lead may pass
 * its own; the default ({@link spawnCollectorUntil}) spawns `run --config` under /usr/bin/time.
 */
export type RunCollector = (
  configPath: string,
  env: Record<string, string>,
  done: () => Promise<boolean>,
) => Promise<{ seconds: number; maxRssMb?: number }>;

/** Options of {@link collectorBench}. */
export interface CollectorBenchOptions {
  /**
   * Entries of the log (default: BENCH_COLLECTOR_ENTRIES, else 200 000, 20 000 with `quick`); the
   * 10-account slot splits them between the accounts.
   */
  entries?: number;
  quick?: boolean;
  log?: (line: string) => void;
  /** Default: {@link spawnCollectorUntil} when the bin has `run`, else the slots are skipped. */
  runCollector?: RunCollector;
  /** Lease and poll of the failover slot (defaults 10s / 2s). */
  lease?: string;
  poll?: string;
}

/** What {@link collectorBench} measured. */
export interface CollectorBenchResult {
  entries: number;
  syncLake: CollectorRunFigures;
  syncPostgres: CollectorRunFigures;
  threeDestinations?: CollectorRunFigures & { requestsRatio: number; speedVsSlowest: number };
  tenAccounts?: CollectorRunFigures & { rssVsSync?: number };
  failover?: FailoverFigures;
  /** Why the collector slots were not measured, if they were not. */
  skipped?: string;
  markdown: string;
}

/** True when the bin has a `run` command: `run --help` prints run's usage (without it, the program's, exit 0). */
export function binHasRun(): boolean {
  const r = spawnSync(process.execPath, [CLI, "run", "--help"], { encoding: "utf8" });
  return r.status === 0 && /^Usage: clarifai-audit run\b/m.test(r.stdout);
}

/** The default {@link RunCollector}: `run --config` under /usr/bin/time -v, SIGTERM once `done`. */
export const spawnCollectorUntil: RunCollector = async (configPath, env, done) => {
  const useTime = existsSync("/usr/bin/time");
  const args = [CLI, "run", "--config", configPath];
  const t0 = performance.now();
  const child = spawn(
    useTime ? "/usr/bin/time" : process.execPath,
    useTime ? ["-v", process.execPath, ...args] : args,
    {
      env,
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20_000);
  });
  const exited = new Promise<number | null>((r) => child.once("exit", r));
  let running = true;
  void exited.then(() => {
    running = false;
  });
  while (running && !(await done())) await new Promise((r) => setTimeout(r, 100));
  const seconds = (performance.now() - t0) / 1000;
  if (!running)
    throw new Error(`run --config ended before its destinations were complete: ${stderr.slice(-1500)}`);
  // /usr/bin/time passes SIGTERM on to the collector, which drains and exits 0.
  child.kill("SIGTERM");
  await exited;
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return { seconds, ...(m ? { maxRssMb: Number(m[1]) / 1024 } : {}) };
};

/** An account of the bench's emulator, as the config names it, with its PAT. */
interface BenchAccount extends ConfigAccount {
  pat: string;
}

function accountsOf(n: number): BenchAccount[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `acct${i}`,
    userId: `bench-user-${i}`,
    pat: `bench-pat-${i}`,
    patEnv: `CLARIFAI_PAT_ACCT${i}`,
  }));
}

/** A child's environment: PATH and the accounts' PAT variables. */
function envOf(
  accounts: readonly BenchAccount[],
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    ...Object.fromEntries(accounts.map((a) => [a.patEnv, a.pat])),
    ...extra,
  };
}

/** Entries a lake destination holds for an account (its state's totals; 0 before the first commit). */
function lakeHolds(dir: string): number {
  const state = join(dir, "_clarifai_sync.json");
  if (!existsSync(state)) return 0;
  return (JSON.parse(readFileSync(state, "utf8")) as { state: { totals: { entries: number } } }).state.totals
    .entries;
}

async function tableHolds(server: PostgresServer, db: string, account?: string): Promise<number> {
  const c = await server.client(db);
  try {
    const cols = await c.query(
      "SELECT 1 FROM information_schema.columns WHERE table_name = 'audit_log' AND column_name = 'account'",
    );
    const where = account !== undefined && cols.rowCount ? " WHERE account = $1" : "";
    const r = await c.query(`SELECT count(*)::int AS n FROM audit_log${where}`, where ? [account] : []);
    return r.rows[0].n as number;
  } catch {
    return 0;
  } finally {
    await c.end();
  }
}

/** One `sync` of account 0 into `dest`, timed (peak RSS too), with the emulator's requests counted. */
async function syncRun(
  name: string,
  emu: EmulatorHandle,
  a: BenchAccount,
  dest: string,
  entries: number,
): Promise<CollectorRunFigures> {
  const calls = emu.calls;
  const r = await timed(
    process.execPath,
    [
      CLI,
      "sync",
      "--dest",
      dest,
      "--endpoint",
      emu.grpcAddress,
      "--insecure",
      "--user-id",
      a.userId,
      "--settle",
      "0s",
      "-q",
    ],
    { CLARIFAI_PAT: a.pat },
  );
  return {
    name,
    entries,
    seconds: r.seconds,
    requests: emu.calls - calls,
    ...(r.maxRssMb ? { maxRssMb: r.maxRssMb } : {}),
  };
}

/** A webhook receiver that answers 200 to every alert (the alerts destination must not be the slowest). */
async function sink(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200).end());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const fmt = (n: number | undefined, d = 0) =>
  n === undefined || !Number.isFinite(n)
    ? "n/a"
    : n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

/** Runs part 11 (see the module comment). */
export async function collectorBench(o: CollectorBenchOptions = {}): Promise<CollectorBenchResult> {
  const n = o.entries ?? Number(process.env.BENCH_COLLECTOR_ENTRIES ?? (o.quick ? 20_000 : 200_000));
  const log = o.log ?? (() => {});
  const runCollector = o.runCollector ?? (binHasRun() ? spawnCollectorUntil : undefined);
  const dir = tempDir();
  const server = await startPostgres({ durable: true });
  const [one] = accountsOf(1) as [BenchAccount];
  const emu = await startEmulator({
    restPort: false,
    accounts: [{ pat: one.pat, userId: one.userId, generate: { count: n, seed: 1 } }],
  });
  const result: Omit<CollectorBenchResult, "markdown"> = { entries: n } as CollectorBenchResult;
  try {
    log(`part 11: collector baseline, sync of ${n} entries to a lake`);
    result.syncLake = await syncRun("sync → lake (--memory lean)", emu, one, join(dir, "lake"), n);
    log("part 11: collector baseline, sync to PostgreSQL");
    const url = await server.createDatabase("bench_sync");
    result.syncPostgres = await syncRun("sync → PostgreSQL", emu, one, url, n);
    if (runCollector === undefined) {
      result.skipped = "the bin has no `run` command yet (`run --help` does not print its usage)";
    } else {
      // ── SLOT: three destinations, one walk ────────────────────────────────────────────────────
      log("part 11: collector, one account × lake + PostgreSQL + alerts");
      const hook = await sink();
      try {
        const cdir = join(dir, "three");
        mkdirSync(cdir, { recursive: true });
        const db = await server.createDatabase("bench_three");
        const destinations: DestinationSpec[] = [
          { id: "lake", lake: "./lake" },
          { id: "db", postgres: db },
          { id: "alerts", alerts: { rules: ["builtin"], webhooks: [hook.url] } },
        ];
        const config = join(cdir, "collector.yaml");
        writeFileSync(
          config,
          collectorConfigText([one], emu.grpcAddress, {
            destinations,
            listen: false,
            settings: { interval: "1h" },
          }),
        );
        const calls = emu.calls;
        const r = await runCollector(
          config,
          envOf([one]),
          async () =>
            lakeHolds(join(cdir, "lake", `account=${one.id}`)) >= n &&
            (await tableHolds(server, "bench_three")) >= n,
        );
        const requests = emu.calls - calls;
        const slowest = Math.min(n / result.syncLake.seconds, n / result.syncPostgres.seconds);
        result.threeDestinations = {
          name: "run: 1 account × 3 destinations",
          entries: n,
          ...r,
          requests,
          requestsRatio: requests / result.syncLake.requests,
          speedVsSlowest: n / r.seconds / slowest,
        };
      } finally {
        await hook.close();
      }
      // ── SLOT: 10 accounts × 3 destinations, peak RSS ───────────────────────────────────────────
      log("part 11: collector, 10 accounts × 3 destinations");
      const ten = accountsOf(10);
      const per = Math.ceil(n / 10);
      const emu10 = await startEmulator({
        restPort: false,
        accounts: ten.map((a, i) => ({
          pat: a.pat,
          userId: a.userId,
          generate: { count: per, seed: 10 + i },
        })),
      });
      const hook10 = await sink();
      try {
        const cdir = join(dir, "ten");
        mkdirSync(cdir, { recursive: true });
        const db = await server.createDatabase("bench_ten");
        const config = join(cdir, "collector.yaml");
        writeFileSync(
          config,
          collectorConfigText(ten, emu10.grpcAddress, {
            destinations: [
              { id: "lake", lake: "./lake" },
              { id: "db", postgres: db },
              { id: "alerts", alerts: { rules: ["builtin"], webhooks: [hook10.url] } },
            ],
            listen: false,
            settings: { interval: "1h" },
          }),
        );
        const calls = emu10.calls;
        const r = await runCollector(config, envOf(ten), async () => {
          for (const a of ten) if (lakeHolds(join(cdir, "lake", `account=${a.id}`)) < per) return false;
          return (await tableHolds(server, "bench_ten")) >= per * 10;
        });
        const base = result.syncLake.maxRssMb;
        result.tenAccounts = {
          name: "run: 10 accounts × 3 destinations",
          entries: per * 10,
          ...r,
          requests: emu10.calls - calls,
          ...(base && r.maxRssMb ? { rssVsSync: r.maxRssMb / base } : {}),
        };
      } finally {
        await hook10.close();
        await emu10.close();
      }
      // ── SLOT: failover after SIGKILL of one of two instances ──────────────────────────────────
      // Two real instances: only with the bin's `run`, whatever runCollector is.
      if (binHasRun())
        result.failover = await failoverSlot({
          ...o,
          server,
          emu,
          account: one,
          env: envOf([one]),
          dir,
          log,
          cli: CLI,
        });
    }
  } finally {
    await emu.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { ...result, markdown: markdownOf(result) };
}

function markdownOf(r: Omit<CollectorBenchResult, "markdown">): string {
  const row = (x: CollectorRunFigures) =>
    `| ${x.name} | ${fmt(x.entries)} | ${fmt(x.seconds, 2)} | ${fmt(x.entries / x.seconds)} | ${fmt(x.requests)} | ${fmt(x.maxRssMb, 1)} |`;
  const lines = [
    `**Collector** (${fmt(r.entries)} entries, emulator in the bench's process, plaintext loopback; wall time of the bundled CLI, start-up included; one run each)`,
    "",
    "| run | entries | seconds | entries/s | requests | peak RSS MB |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    row(r.syncLake),
    row(r.syncPostgres),
    ...(r.threeDestinations ? [row(r.threeDestinations)] : []),
    ...(r.tenAccounts ? [row(r.tenAccounts)] : []),
    "",
  ];
  if (r.skipped) return [...lines, `Collector targets not measured: ${r.skipped}.`, ""].join("\n");
  const t = r.threeDestinations;
  const ten = r.tenAccounts;
  const f = r.failover;
  const mark = (ok: boolean | undefined) => (ok === undefined ? "" : ok ? "met" : "**not met**");
  return [
    ...lines,
    "| target | measured | |",
    "| --- | ---: | --- |",
    `| requests with 3 destinations ≤ 1.1× one sync's | ${fmt(t?.requestsRatio, 2)}× | ${mark(t && t.requestsRatio <= 1.1)} |`,
    `| entries/s into 3 destinations ≥ 0.8× the slowest single sync | ${fmt(t?.speedVsSlowest, 2)}× | ${mark(t && t.speedVsSlowest >= 0.8)} |`,
    `| peak RSS, 10 accounts × 3 destinations ≤ 2× one sync --memory lean | ${fmt(ten?.maxRssMb, 1)} MB (${fmt(ten?.rssVsSync, 2)}×) | ${mark(ten?.rssVsSync === undefined ? undefined : ten.rssVsSync <= 2)} |`,
    f
      ? `| failover after SIGKILL ≤ lease + one poll | ${fmt(f.seconds, 2)} s (lease ${f.leaseSeconds} s + poll ${f.pollSeconds} s) | ${mark(f.seconds <= f.leaseSeconds + f.pollSeconds)} |`
      : "| failover after SIGKILL ≤ lease + one poll | not measured (needs the bin's `run`) | |",
    "",
  ].join("\n");
}

// `node dist/bench/collectorBench.js [entries]`: this part alone.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const entries = process.argv[2] ? Number(process.argv[2]) : undefined;
  collectorBench({ ...(entries ? { entries } : {}), log: (l) => process.stderr.write(`bench: ${l}\n`) }).then(
    (r) => process.stdout.write(`${r.markdown}\n`),
    (err) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
