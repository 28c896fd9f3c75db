/**
 * Part 11's failover slot (bench/collectorBench.ts): two `run --config` instances of one config with
 * `coordination`, each with its own /metrics; the one holding the account's lease is SIGKILLed and
 * the time until the other holds it is measured (target ≤ lease + one poll).
 */
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { EmulatorHandle } from "@clarifai-audit/emulator";
import { type ConfigAccount, collectorConfigText } from "../test/collector/config.js";
import { freePort, type PostgresServer } from "../test/helpers/postgres.js";

/** What the failover slot needs. */
export interface FailoverOptions {
  server: PostgresServer;
  emu: EmulatorHandle;
  account: ConfigAccount;
  /** The instances' environment (the account's PAT variable). */
  env: Record<string, string>;
  dir: string;
  log: (line: string) => void;
  /** The bin. */
  cli: string;
  /** Defaults 10s / 2s. */
  lease?: string;
  poll?: string;
}

/** Seconds from the SIGKILL until the other instance held the lease, and the settings. */
export interface FailoverFigures {
  seconds: number;
  leaseSeconds: number;
  pollSeconds: number;
}

/** A `lease` metric of `account` at 1 in Prometheus text (the metrics slice's name may differ: adjust here). */
function holdsLease(metrics: string, account: string): boolean {
  return new RegExp(`^[a-z_]*lease[a-z_]*\\{[^}]*account="${account}"[^}]*\\} 1$`, "m").test(metrics);
}

async function metricsOf(port: number): Promise<string> {
  try {
    return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } catch {
    return "";
  }
}

/**
 * SLOT: two instances of one config with `coordination`, each with its own /metrics port; once one
 * holds the account's lease it is SIGKILLed, and the time until the other holds it is measured.
 */
export async function failoverSlot(o: FailoverOptions): Promise<FailoverFigures> {
  const { server, emu, account: a, dir, log, cli: CLI } = o;
  log("part 11: collector failover, two instances, one SIGKILLed");
  const lease = o.lease ?? "10s";
  const poll = o.poll ?? "2s";
  const coord = await server.createDatabase("bench_coord");
  const db = await server.createDatabase("bench_failover");
  const ports = [await freePort(), await freePort()];
  const children = ports.map((port, i) => {
    const cdir = join(dir, `failover-${i}`);
    mkdirSync(cdir, { recursive: true });
    const config = join(cdir, "collector.yaml");
    writeFileSync(
      config,
      collectorConfigText([a], emu.grpcAddress, {
        destinations: [{ id: "db", postgres: db }],
        listen: `127.0.0.1:${port}`,
        settings: { interval: "1s" },
        coordination: { url: coord, group: "bench", lease, poll },
      }),
    );
    return spawn(process.execPath, [CLI, "run", "--config", config], { env: o.env, stdio: "ignore" });
  });
  try {
    const deadline = performance.now() + 120_000;
    let owner = -1;
    while (owner < 0 && performance.now() < deadline) {
      for (const [i, port] of ports.entries()) if (holdsLease(await metricsOf(port), a.id)) owner = i;
      if (owner < 0) await new Promise((r) => setTimeout(r, 50));
    }
    if (owner < 0)
      throw new Error("failover: no instance reported holding the lease on /metrics within 120 s");
    const other = 1 - owner;
    children[owner]?.kill("SIGKILL");
    const t0 = performance.now();
    while (!holdsLease(await metricsOf(ports[other] as number), a.id)) {
      if (performance.now() > deadline) throw new Error("failover: the other instance never took the lease");
      await new Promise((r) => setTimeout(r, 20));
    }
    const seconds = (performance.now() - t0) / 1000;
    const secs = (d: string) => Number(d.replace(/s$/, ""));
    return { seconds, leaseSeconds: secs(lease), pollSeconds: secs(poll) };
  } finally {
    for (const c of children) c.kill("SIGTERM");
  }
}
