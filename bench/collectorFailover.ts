/**
 * Part 11's failover slot (bench/collectorBench.ts): two `run --config` instances of one config with
 * `coordination` (a real PostgreSQL) over four accounts, each instance with its own /metrics. Once
 * the accounts are split (two each, `clarifai_audit_account_lease{account}` at 1 on one instance
 * only), one instance is SIGKILLed and the time until the survivor holds every account is measured
 * (target ≤ lease + one poll): the dead instance's leases expire at most a lease after its last
 * renewal, and the survivor's next poll takes them.
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startEmulator } from "@clarifai-audit/emulator";
import { collectorConfigText } from "../test/collector/config.js";
import { freePort, type PostgresServer } from "../test/helpers/postgres.js";

/** What the failover slot needs. */
export interface FailoverOptions {
  server: PostgresServer;
  dir: string;
  log: (line: string) => void;
  /** The bin. */
  cli: string;
  /** Defaults 10s / 2s. */
  lease?: string;
  poll?: string;
}

/** Seconds from the SIGKILL until the survivor held every account of the killed instance, and the settings. */
export interface FailoverFigures {
  seconds: number;
  /** Until the first of them moved. */
  firstSeconds: number;
  /** The accounts that moved, and how many the config has. */
  accounts: string[];
  of: number;
  leaseSeconds: number;
  pollSeconds: number;
}

const ACCOUNTS = 4;
/** Entries each account's log holds (the instances walk them while the split settles). */
const PER_ACCOUNT = 2000;

/** The accounts whose `clarifai_audit_account_lease` is 1 in Prometheus text. */
function leasesHeld(metrics: string): Set<string> {
  const held = new Set<string>();
  for (const m of metrics.matchAll(/^clarifai_audit_account_lease\{[^}]*account="([^"]+)"[^}]*\} 1$/gm))
    held.add(m[1] as string);
  return held;
}

async function leasesOf(port: number): Promise<Set<string>> {
  try {
    return leasesHeld(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  } catch {
    return new Set();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the slot (see the module comment). */
export async function failoverSlot(o: FailoverOptions): Promise<FailoverFigures> {
  const { server, dir, log, cli } = o;
  log(`part 11: collector failover, ${ACCOUNTS} accounts on two instances, one SIGKILLed`);
  const lease = o.lease ?? "10s";
  const poll = o.poll ?? "2s";
  const accounts = Array.from({ length: ACCOUNTS }, (_, i) => ({
    id: `fo${i}`,
    userId: `failover-user-${i}`,
    pat: `failover-pat-${i}`,
    patEnv: `CLARIFAI_PAT_FO${i}`,
  }));
  const emu = await startEmulator({
    restPort: false,
    accounts: accounts.map((a, i) => ({
      pat: a.pat,
      userId: a.userId,
      generate: { count: PER_ACCOUNT, seed: 50 + i },
    })),
  });
  const env = {
    PATH: process.env.PATH ?? "",
    ...Object.fromEntries(accounts.map((a) => [a.patEnv, a.pat])),
  };
  const coord = await server.createDatabase("bench_coord");
  const db = await server.createDatabase("bench_failover");
  const ports = [await freePort(), await freePort()];
  const children = ports.map((port, i) => {
    const cdir = join(dir, `failover-${i}`);
    mkdirSync(cdir, { recursive: true });
    const config = join(cdir, "collector.yaml");
    writeFileSync(
      config,
      collectorConfigText(accounts, emu.grpcAddress, {
        destinations: [{ id: "db", postgres: db }],
        listen: `127.0.0.1:${port}`,
        settings: { interval: "1s", settle: "0s", reconcile: "1h" },
        coordination: { url: coord, group: "bench", lease, poll },
      }),
    );
    return spawn(process.execPath, [cli, "run", "--config", config], { env, stdio: "ignore" });
  });
  try {
    const deadline = performance.now() + 120_000;
    // Split: each instance holds its fair share, and no account is held twice.
    let held: Set<string>[] = [];
    for (;;) {
      held = await Promise.all(ports.map(leasesOf));
      const [a, b] = held as [Set<string>, Set<string>];
      if (a.size === ACCOUNTS / 2 && b.size === ACCOUNTS / 2 && [...a].every((x) => !b.has(x))) break;
      if (performance.now() > deadline)
        throw new Error(
          `failover: the instances did not split the accounts within 120 s (${held.map((h) => [...h])})`,
        );
      await sleep(50);
    }
    const victim = 0;
    const survivor = 1;
    const moving = [...(held[victim] as Set<string>)].sort();
    children[victim]?.kill("SIGKILL");
    const t0 = performance.now();
    const movedAt = new Map<string, number>();
    while (movedAt.size < moving.length) {
      const now = await leasesOf(ports[survivor] as number);
      const at = (performance.now() - t0) / 1000;
      for (const a of moving) if (now.has(a) && !movedAt.has(a)) movedAt.set(a, at);
      if (performance.now() > deadline + 60_000)
        throw new Error(`failover: the survivor never took ${moving.filter((a) => !movedAt.has(a))}`);
      await sleep(20);
    }
    const times = [...movedAt.values()];
    const secs = (d: string) => Number(d.replace(/s$/, ""));
    return {
      seconds: Math.max(...times),
      firstSeconds: Math.min(...times),
      accounts: moving,
      of: ACCOUNTS,
      leaseSeconds: secs(lease),
      pollSeconds: secs(poll),
    };
  } finally {
    for (const c of children) c.kill("SIGTERM");
    await Promise.all(
      children.map((c) =>
        c.exitCode !== null || c.signalCode !== null ? undefined : new Promise((r) => c.once("exit", r)),
      ),
    );
    await emu.close();
  }
}
