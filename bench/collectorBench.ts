/**
 * The collector (issue 23), part 11 of `npm run bench`: what one walk fanned out to several
 * destinations costs next to one `sync` per destination, on one emulator log of N entries (the
 * emulator in this process, so its request counter is exact; plaintext loopback gRPC).
 *
 * Baseline (runs today): one `sync` to a lake and one to PostgreSQL (requests, entries/s, peak RSS
 * with the default `--memory lean`, from /usr/bin/time -v).
 *
 * Collector slots (when the bin has `run`, detected with `run --help`; otherwise reported as not
 * measured), each `run --config FILE --once --json` under /usr/bin/time -v, its destinations then
 * checked complete:
 * - three destinations (lake, PostgreSQL, alerts to a local receiver) with one walk: requests over
 *   one sync's (target ≤ 1.1×), entries/s over the slowest single sync's (target ≥ 0.8×);
 * - 10 accounts × 3 destinations: peak RSS over one `sync --memory lean` (target ≤ 2×);
 * - failover (./collectorFailover.ts): two `run --config` instances with coordination, one
 *   SIGKILLed: the time until the other holds its accounts' leases (target ≤ lease + one poll).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
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
  /** Search requests the command counted (`requests` of its `--json` line). */
  requests: number;
  /** Search calls the emulator served during the run (its own counter: a check on `requests`). */
  served: number;
  /** Entries stored, over every destination (`inserted` of its `--json` line; watch: absent). */
  inserted?: number;
  maxRssMb?: number;
  /** CPU seconds (user + system) of the command's process (/usr/bin/time -v). */
  cpuSeconds?: number;
  /** What did not go as it should (a destination short of entries): the row's figures are suspect. */
  note?: string;
}

/** Options of {@link collectorBench}. */
export interface CollectorBenchOptions {
  /**
   * Entries of the log (default: BENCH_COLLECTOR_ENTRIES, else 200 000, 20 000 with `quick`); the
   * 10-account slot splits them between the accounts.
   */
  entries?: number;
  quick?: boolean;
  log?: (line: string) => void;
  /** Lease and poll of the failover slot (defaults 10s / 2s). */
  lease?: string;
  poll?: string;
}

/** What {@link collectorBench} measured. */
export interface CollectorBenchResult {
  entries: number;
  syncLake: CollectorRunFigures;
  syncPostgres: CollectorRunFigures;
  /** The alerts destination on its own: `watch --once` of the same log and rules. */
  watchAlerts?: CollectorRunFigures;
  /** Lake + PostgreSQL only: the fan-out's speed over the slower of their two syncs. */
  twoDestinations?: CollectorRunFigures & { speedVsSlowest: number };
  /** `speedVsSlowest`: over the slowest of the three destinations' own runs (two syncs, one watch). */
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

/** The `--json` object of a command's stderr: its last line that is one (/usr/bin/time's report follows it). */
export function jsonSummary(stderr: string): Record<string, unknown> {
  const line = stderr
    .split("\n")
    .filter((l) => l.startsWith('{"command"'))
    .pop();
  if (line === undefined) throw new Error(`no --json line on stderr: ${stderr.slice(-1500)}`);
  return JSON.parse(line) as Record<string, unknown>;
}

/**
 * Runs the bin with `args` plus `--json -q` under /usr/bin/time -v to its exit: wall time, peak RSS,
 * the requests of its `--json` line and the calls `emu` served meanwhile.
 */
export async function runBin(
  args: string[],
  env: Record<string, string>,
  emu: EmulatorHandle,
): Promise<Omit<CollectorRunFigures, "name" | "entries">> {
  const calls = emu.calls;
  const r = await timed(process.execPath, [CLI, ...args, "--json", "-q"], env);
  const json = jsonSummary(r.stderr);
  return {
    seconds: r.seconds,
    requests: Number(json.requests),
    inserted: Number(json.inserted),
    served: emu.calls - calls,
    ...(r.maxRssMb ? { maxRssMb: r.maxRssMb } : {}),
    ...(r.cpuSeconds !== undefined ? { cpuSeconds: r.cpuSeconds } : {}),
  };
}

/** `run --config FILE --once`: one round per account, every destination brought up to now. */
function runOnce(config: string, env: Record<string, string>, emu: EmulatorHandle) {
  return runBin(["run", "--config", config, "--once"], env, emu);
}

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

/** One `sync` of `a` into `dest` (settings as the collector's config: settle 0s, default reconcile). */
async function syncRun(
  name: string,
  emu: EmulatorHandle,
  a: BenchAccount,
  dest: string,
  entries: number,
): Promise<CollectorRunFigures> {
  const args = ["sync", "--dest", dest, "--endpoint", emu.grpcAddress, "--insecure"];
  const r = await runBin([...args, "--user-id", a.userId, "--settle", "0s"], { CLARIFAI_PAT: a.pat }, emu);
  return {
    name,
    entries,
    ...r,
    ...(r.inserted === entries ? {} : { note: `${r.inserted} of ${entries} stored` }),
  };
}

/** Which destinations a bench config has: a lake (`./lake`), a PostgreSQL database, alerts to a receiver. */
interface BenchDestinations {
  lake?: boolean;
  db?: string;
  hook?: string;
}

/** The config of `accounts` into `to`, one round each with `--once`. */
function configText(accounts: readonly BenchAccount[], endpoint: string, to: BenchDestinations): string {
  const destinations: DestinationSpec[] = [
    ...(to.lake ? [{ id: "lake", lake: "./lake" }] : []),
    ...(to.db !== undefined ? [{ id: "db", postgres: to.db }] : []),
    ...(to.hook !== undefined ? [{ id: "alerts", alerts: { rules: ["builtin"], webhooks: [to.hook] } }] : []),
  ];
  // As `sync --settle 0s` of the baselines: reconcile at sync's default (TEST_SETTINGS' is 10 years).
  const settings = { interval: "1h", settle: "0s", reconcile: "1h" };
  return collectorConfigText(accounts, endpoint, { destinations, listen: false, settings });
}

/** `watch --once` of `a`'s whole log with the built-in rules, alerts to `hook`: the alerts destination on its own. */
async function watchRun(
  emu: EmulatorHandle,
  a: BenchAccount,
  hook: string,
  dir: string,
  entries: number,
): Promise<CollectorRunFigures> {
  const checkpoint = join(dir, "watch-checkpoint.json");
  const args = ["watch", "--once", "--from", "2000-01-01", "--rules", "builtin", "--alert-webhook", hook];
  const connection = ["--endpoint", emu.grpcAddress, "--insecure", "--user-id", a.userId];
  const r = await runBin([...args, "--checkpoint", checkpoint, ...connection], { CLARIFAI_PAT: a.pat }, emu);
  return {
    name: "watch --once --rules builtin → local webhook (the alerts destination alone)",
    entries,
    ...r,
  };
}

/** `run --once` of `accounts` into `to` (in `dir/name`), then checks every destination holds all. */
async function collectorRun(
  o: { name: string; dir: string; server: PostgresServer; emu: EmulatorHandle; per: number },
  accounts: readonly BenchAccount[],
  to: Omit<BenchDestinations, "db"> & { db?: boolean },
): Promise<CollectorRunFigures> {
  const cdir = join(o.dir, o.name);
  mkdirSync(cdir, { recursive: true });
  const config = join(cdir, "collector.yaml");
  const db = to.db ? await o.server.createDatabase(`bench_${o.name}`) : undefined;
  writeFileSync(
    config,
    configText(accounts, o.emu.grpcAddress, {
      ...(to.lake ? { lake: true } : {}),
      ...(to.hook !== undefined ? { hook: to.hook } : {}),
      ...(db ? { db } : {}),
    }),
  );
  const r = await runOnce(config, envOf(accounts), o.emu);
  const all = o.per * accounts.length * [to.lake, to.db, to.hook].filter(Boolean).length;
  const stored = r.inserted === all ? "" : `${r.inserted} of ${all} entries stored over its destinations`;
  const note = [
    stored,
    await shortOf(cdir, o.server, to.lake === true, db ? `bench_${o.name}` : undefined, accounts, o.per),
  ]
    .filter(Boolean)
    .join("; ");
  return { name: "", entries: o.per * accounts.length, ...r, ...(note ? { note } : {}) };
}

/** What each destination of `cdir`'s collector is short of, per account, as a note ("" when complete). */
async function shortOf(
  cdir: string,
  server: PostgresServer,
  lake: boolean,
  db: string | undefined,
  accounts: readonly BenchAccount[],
  per: number,
): Promise<string> {
  const short: string[] = [];
  for (const a of accounts) {
    const held = lake ? lakeHolds(join(cdir, "lake", `account=${a.id}`)) : per;
    if (held !== per) short.push(`lake of ${a.id} holds ${held} of ${per}`);
    const rows = db !== undefined ? await tableHolds(server, db, a.id) : per;
    if (rows !== per) short.push(`PostgreSQL rows of ${a.id}: ${rows} of ${per}`);
  }
  return short.join("; ");
}

/** A webhook receiver that answers 200 to every alert at once. */
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

/** Entries per second of a run. */
const rate = (r: CollectorRunFigures) => r.entries / r.seconds;

const fmt = (n: number | undefined, d = 0) =>
  n === undefined || !Number.isFinite(n)
    ? "n/a"
    : n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

/** Runs part 11 (see the module comment). */
export async function collectorBench(o: CollectorBenchOptions = {}): Promise<CollectorBenchResult> {
  const n = o.entries ?? Number(process.env.BENCH_COLLECTOR_ENTRIES ?? (o.quick ? 20_000 : 200_000));
  const log = o.log ?? (() => {});
  const dir = tempDir();
  const server = await startPostgres({ durable: true });
  const [one] = accountsOf(1) as [BenchAccount];
  const emu = await startEmulator({
    restPort: false,
    accounts: [{ pat: one.pat, userId: one.userId, generate: { count: n, seed: 1 } }],
  });
  const hook = await sink();
  const result: Omit<CollectorBenchResult, "markdown"> = { entries: n } as CollectorBenchResult;
  try {
    log(`part 11: collector baseline, sync of ${n} entries to a lake`);
    result.syncLake = await syncRun("sync → lake (--memory lean)", emu, one, join(dir, "lake"), n);
    log("part 11: collector baseline, sync to PostgreSQL");
    const url = await server.createDatabase("bench_sync");
    result.syncPostgres = await syncRun("sync → PostgreSQL", emu, one, url, n);
    if (!binHasRun()) {
      result.skipped = "the bin has no `run` command yet (`run --help` does not print its usage)";
    } else {
      log("part 11: collector baseline, watch --once (alerts alone)");
      result.watchAlerts = await watchRun(emu, one, hook.url, dir, n);
      const slowest = Math.min(...[result.syncLake, result.syncPostgres, result.watchAlerts].map(rate));
      log("part 11: collector, one account × lake + PostgreSQL, run --once");
      const base = { dir, server, emu, per: n };
      const two = await collectorRun({ ...base, name: "two" }, [one], { lake: true, db: true });
      result.twoDestinations = {
        ...two,
        name: "run --once: 1 account × 2 destinations (lake, PostgreSQL)",
        speedVsSlowest: rate(two) / Math.min(rate(result.syncLake), rate(result.syncPostgres)),
      };
      log("part 11: collector, one account × lake + PostgreSQL + alerts, run --once");
      const three = await collectorRun({ ...base, name: "three" }, [one], {
        lake: true,
        db: true,
        hook: hook.url,
      });
      result.threeDestinations = {
        ...three,
        name: "run --once: 1 account × 3 destinations (lake, PostgreSQL, alerts)",
        requestsRatio: three.requests / result.syncLake.requests,
        speedVsSlowest: rate(three) / slowest,
      };
      log("part 11: collector, 10 accounts × 3 destinations, run --once");
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
      try {
        const r = await collectorRun({ dir, server, emu: emu10, per, name: "ten" }, ten, {
          lake: true,
          db: true,
          hook: hook.url,
        });
        const lean = result.syncLake.maxRssMb;
        result.tenAccounts = {
          ...r,
          name: `run --once: 10 accounts × 3 destinations (${fmt(per)} entries each)`,
          ...(lean && r.maxRssMb ? { rssVsSync: r.maxRssMb / lean } : {}),
        };
      } finally {
        await emu10.close();
      }
      result.failover = await failoverSlot({ ...o, server, dir, log, cli: CLI });
    }
  } finally {
    await hook.close();
    await emu.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return { ...result, markdown: markdownOf(result) };
}

function markdownOf(r: Omit<CollectorBenchResult, "markdown">): string {
  const row = (x: CollectorRunFigures) =>
    `| ${x.name}${x.note ? ` ⚠ ${x.note}` : ""} | ${fmt(x.entries)} | ${fmt(x.seconds, 2)} | ${fmt(x.entries / x.seconds)} | ${fmt(x.requests)} (${fmt(x.served)}) | ${fmt(x.maxRssMb, 1)} |`;
  const lines = [
    `**Collector** (${fmt(r.entries)} entries, emulator in the bench's process, plaintext loopback; wall time of the bundled CLI, start-up included; one run each; requests: the command's \`--json\` figure, in brackets the calls the emulator served)`,
    "",
    "| run | entries | seconds | entries/s | requests | peak RSS MB |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    row(r.syncLake),
    row(r.syncPostgres),
    ...(r.watchAlerts ? [row(r.watchAlerts)] : []),
    ...(r.twoDestinations ? [row(r.twoDestinations)] : []),
    ...(r.threeDestinations ? [row(r.threeDestinations)] : []),
    ...(r.tenAccounts ? [row(r.tenAccounts)] : []),
    "",
  ];
  if (r.skipped) return [...lines, `Collector targets not measured: ${r.skipped}.`, ""].join("\n");
  const t = r.threeDestinations;
  const ten = r.tenAccounts;
  const f = r.failover;
  const mark = (ok: boolean | undefined) => (ok === undefined ? "" : ok ? "met" : "**not met**");
  const own = [r.syncLake, r.syncPostgres, ...(r.watchAlerts ? [r.watchAlerts] : [])];
  const slowest = own.reduce((a, b) => (rate(b) < rate(a) ? b : a));
  const two = r.twoDestinations;
  return [
    ...lines,
    "| target | measured | |",
    "| --- | ---: | --- |",
    `| requests with 3 destinations ≤ 1.1× one sync's | ${fmt(t?.requests)} / ${fmt(r.syncLake.requests)} = ${fmt(t?.requestsRatio, 2)}× | ${mark(t && t.requestsRatio <= 1.1)} |`,
    `| entries/s into 3 destinations ≥ 0.8× the slowest destination's own run (${slowest.name.split(" (")[0]}) | ${fmt(t && rate(t))} / ${fmt(rate(slowest))} = ${fmt(t?.speedVsSlowest, 2)}× | ${mark(t && t.speedVsSlowest >= 0.8)} |`,
    ...(two
      ? [
          `| (beside it) entries/s into lake + PostgreSQL ≥ 0.8× the slower of their syncs | ${fmt(rate(two))} = ${fmt(two.speedVsSlowest, 2)}× | ${mark(two.speedVsSlowest >= 0.8)} |`,
        ]
      : []),
    `| peak RSS, 10 accounts × 3 destinations ≤ 2× one sync --memory lean | ${fmt(ten?.maxRssMb, 1)} / ${fmt(r.syncLake.maxRssMb, 1)} MB = ${fmt(ten?.rssVsSync, 2)}× | ${mark(ten?.rssVsSync === undefined ? undefined : ten.rssVsSync <= 2)} |`,
    f
      ? `| failover after SIGKILL ≤ lease + one poll (${f.accounts.length} accounts moved of ${f.of}) | ${fmt(f.seconds, 2)} s (lease ${f.leaseSeconds} s + poll ${f.pollSeconds} s; first account ${fmt(f.firstSeconds, 2)} s) | ${mark(f.seconds <= f.leaseSeconds + f.pollSeconds)} |`
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
