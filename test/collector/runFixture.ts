/**
 * What the collector's crash and outage tests (runCrash*.test.ts, runOutage.test.ts) share: three
 * accounts whose logs grow with late entries, one real PostgreSQL, one alert receiver, a collector
 * config with a lake, a PostgreSQL table and an alerts destination holding every account, and one
 * check of all three destinations (alerts: every expected key delivered, repeats only within the
 * alert store's documented bound).
 */

import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll } from "@jest/globals";
import type pg from "pg";
import { parseRules } from "../../packages/cli/src/watch/rules.js";
import { tempDir } from "../cli/helpers.js";
import { type PostgresServer, startPostgres } from "../helpers/postgres.js";
import {
  type AccountsEmulator,
  type AlertReceiver,
  type BinProcess,
  checkLake,
  checkPostgres,
  compareKeys,
  type Discrepancy,
  expectedAlertKeys,
  spawnCollector,
  startAccounts,
  startAlertReceiver,
  writeCollectorConfig,
} from "./harness.js";

/**
 * One rule per entry, fired by every failed operation: its alerts do not depend on the order the
 * entries are evaluated in (late entries arrive in a later commit than their neighbours), so the
 * offline evaluation over the final log is exactly what must be delivered.
 */
export const RULES_YAML = `rules:
  - id: op-failed
    title: An operation failed
    severity: low
    match: { success: false }
`;

/** Growth of an account while a test runs the collector: an entry every 80 ms, late ones among them. */
export const GROWTH = { count: 1, everyMs: 80, lateFraction: 0.3 };

/** The shared servers of one test file. */
export interface RunFixture {
  tmp: { dir: string; cleanup: () => void };
  server: PostgresServer;
  accounts: AccountsEmulator;
  receiver: AlertReceiver;
  /** Collectors started by the setups and not ended yet (a failed test leaves some). */
  running: Set<BinProcess>;
  /** SIGKILLs every collector still running (afterEach: a failed test must not keep jest waiting). */
  killRunning(): Promise<void>;
  close(): Promise<void>;
}

/** Starts PostgreSQL, three growing accounts and an alert receiver. */
export async function startRunFixture(): Promise<RunFixture> {
  const tmp = tempDir();
  const [server, accounts, receiver] = await Promise.all([
    startPostgres(),
    startAccounts([
      // Still until a test calls grow(): the logs stay small.
      { id: "a", count: 90, growth: false },
      { id: "b", count: 60, growth: false },
      { id: "c", count: 40, growth: false },
    ]),
    startAlertReceiver(),
  ]);
  const running = new Set<BinProcess>();
  const killRunning = async () => {
    const left = [...running];
    for (const p of left) p.signal("SIGKILL");
    await Promise.all(left.map((p) => p.exit));
  };
  return {
    tmp,
    server,
    accounts,
    receiver,
    running,
    killRunning,
    close: async () => {
      await killRunning();
      await Promise.all([accounts.close(), server.stop(), receiver.close()]);
      tmp.cleanup();
    },
  };
}

/**
 * The hooks of a test file: one fixture for the file (given to `set` once started), every collector
 * a test left running SIGKILLed after it (a failed test must not keep jest waiting), closed after all.
 */
export function useRunFixture(set: (f: RunFixture) => void): void {
  let f: RunFixture | undefined;
  beforeAll(async () => {
    f = await startRunFixture();
    set(f);
  }, 60_000);
  afterEach(async () => {
    await f?.killRunning();
  });
  afterAll(async () => {
    await f?.close();
  });
}

/** Starts every account's growth (a test's final run stops it: the logs are final). */
export function grow(f: RunFixture): void {
  for (const a of f.accounts.accounts) f.accounts.setGrowth(a.id, GROWTH);
}

/** One collector setup: its folder, its database, its config file and how to run it. */
export interface Setup {
  name: string;
  dir: string;
  lake: string;
  /** The PostgreSQL URL the config names (a proxy's, when given). */
  pgUrl: string;
  db: pg.Client;
  config: string;
  /** The alerts destination's id, also the receiver's path. */
  alertsId: string;
  /** `run --config` (with `--once` when asked), the PATs in its environment. */
  start(o?: { crashAt?: string; once?: boolean }): BinProcess;
}

/**
 * A collector config with destinations `lake`, `db` and `<name>-alerts` holding every account,
 * fast settings (50 ms rounds, every commit at once, small pages) and `settings` over them.
 */
export async function setupCollector(
  f: RunFixture,
  name: string,
  o: { pgUrl?: (url: string) => string; settings?: Record<string, unknown>; alerts?: object } = {},
): Promise<Setup> {
  const dir = join(f.tmp.dir, name);
  const url = await f.server.createDatabase(name);
  const db = await f.server.client(name);
  const pgUrl = o.pgUrl?.(url) ?? url;
  const alertsId = `${name}-alerts`;
  const config = writeCollectorConfig(dir, f.accounts, {
    destinations: [
      { id: "lake", lake: "./lake" },
      { id: "db", postgres: pgUrl },
      {
        id: alertsId,
        alerts: {
          rules: ["./rules.yaml"],
          webhooks: [f.receiver.url(alertsId)],
          attempts: 3,
          backoff: "50ms",
          ...o.alerts,
        },
      },
    ],
    settings: { commit_interval: "0", per_page: 40, ...o.settings },
  });
  writeFileSync(join(dir, "rules.yaml"), RULES_YAML);
  return {
    name,
    dir,
    lake: join(dir, "lake"),
    pgUrl,
    db,
    config,
    alertsId,
    start: (s = {}) => {
      const p = spawnCollector(config, f.accounts.env(), {
        ...(s.crashAt !== undefined ? { crashAt: s.crashAt } : {}),
        args: s.once ? ["--once"] : [],
      });
      f.running.add(p);
      void p.exit.finally(() => f.running.delete(p));
      return p;
    },
  };
}

/** The alerts the rules fire over each account's log as it is now. */
export function expectedAlerts(accounts: AccountsEmulator): Map<string, string[]> {
  const rules = parseRules("rules.yaml", RULES_YAML);
  return new Map(accounts.accounts.map((a) => [a.id, expectedAlertKeys(rules, accounts.lines(a.id))]));
}

/** Keys of the alerts `setup`'s alert stores dead-lettered (STATE_DIR/alerts/<id>/<account>.json.dead-letter.jsonl). */
export function deadLettered(setup: Setup): string[] {
  const dir = join(setup.dir, "state", "alerts", setup.alertsId);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith(".dead-letter.jsonl"))
    .flatMap((n) => readFileSync(join(dir, n), "utf8").split("\n"))
    .filter((l) => l !== "")
    .map((l) => (JSON.parse(l) as { alert: { key: string } }).alert.key);
}

/**
 * The alerts of `setup`'s destination, delivered to the receiver or dead-lettered (watch's promise:
 * each alert reaches each receiver once, or is written to the dead-letter file once): every expected
 * key, none foreign, and at most `repeatBound` outcomes beyond one per key (the alert store's one
 * window for a repeat: a kill between a receiver's 2xx and the journal line; each account's store
 * has one delivery in flight per receiver, so a kill repeats at most one alert per account).
 */
export function alertDiscrepancy(
  f: RunFixture,
  setup: Setup,
  repeatBound: number,
): Discrepancy & { repeats: number; delivered: number; deadLettered: number } {
  const expected = [...expectedAlerts(f.accounts).values()].flat();
  const delivered = f.receiver.deliveries(setup.alertsId);
  const dead = deadLettered(setup);
  const outcomes = [...delivered, ...dead];
  const d = compareKeys(`alerts ${setup.alertsId}`, "all", expected, [...new Set(outcomes)]);
  const repeats = outcomes.length - new Set(outcomes).size;
  const figures = { repeats, delivered: delivered.length, deadLettered: dead.length };
  return repeats > repeatBound
    ? { ...d, ...figures, duplicated: [`${repeats} repeats > bound ${repeatBound}`] }
    : { ...d, ...figures };
}

/** Lake, PostgreSQL and alerts of `setup` against the logs as they are now. */
export async function checkAll(f: RunFixture, setup: Setup, repeatBound = 0): Promise<Discrepancy[]> {
  const expected = f.accounts.expected();
  return [
    ...(await checkLake(setup.lake, expected)),
    ...(await checkPostgres(setup.db, expected)),
    alertDiscrepancy(f, setup, repeatBound),
  ];
}
