/**
 * Failover of `clarifai-audit run --config` on real processes (issue 23, "Done when"): instances of
 * one config with `coordination:` in a real PostgreSQL, which is also a destination, next to a lake
 * and an alerts destination; four accounts of the emulator whose logs grow with late entries.
 *
 * - two instances split the accounts; one is SIGKILLed at a random instant; the other takes its
 *   accounts within lease + 2 polls of the kill (a bound from the settings, not a speed figure) and
 *   every destination ends with every entry once, every alert delivered (repeats bounded by the
 *   alert store's one window: one (alert, webhook) pair in flight per account the killed one held);
 * - three instances, one SIGSTOPped past its lease: the others take its accounts, PostgreSQL commits
 *   go on under the new token while its lake and alerts wait on the paused owner's pid locks; on
 *   SIGCONT the woken one sees its leases lost and commits nothing under them (a trigger records
 *   every committed write of the state rows: the fence never goes back, no write carries the old
 *   token after the wake), lets go, and the new owners take the lake and alerts over: exactly once;
 * - SIGTERM hands the accounts over at once: the survivor takes them sooner after the release than
 *   any expiry could have given them (lease − poll);
 * - without coordination, a second instance of the same config is refused (exit 2, one line naming
 *   the file, the destination and the lock's holder) before any request reaches the emulator.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "@jest/globals";
import type pg from "pg";
import { type CompiledRule, parseRules } from "../../packages/cli/src/watch/rules.js";
import type { GrowthOptions } from "../../packages/emulator/src/index.js";
import { seededRandom, tempDir } from "../cli/helpers.js";
import { freePort, type PostgresServer, startPostgres } from "../helpers/postgres.js";
import { waitFor } from "../helpers/waitFor.js";
import {
  ACQUIRED,
  fencesGoingBack,
  fenceWrites,
  heldBy,
  type Instance,
  LOST,
  type LogLine,
  lastToken,
  lineAfter,
  lockPid,
  metricSum,
  recordFenceWrites,
  startInstance,
  stopAll,
  untilSplit,
} from "./failoverHelpers.js";
import {
  type AccountsEmulator,
  type AlertReceiver,
  assertExactlyOnce,
  checkAlerts,
  checkLake,
  checkPostgres,
  expectedAlertKeys,
  problems,
  spawnCollector,
  startAccounts,
  startAlertReceiver,
  untilExactlyOnce,
  writeCollectorConfig,
} from "./harness.js";

const LEASE_MS = 1500;
const POLL_MS = 300;
const IDS = ["a1", "a2", "a3", "a4"];
/**
 * A rule of one entry each (no threshold or sequence): its alerts do not depend on the order the
 * entries are evaluated in, so a late entry walked after its neighbours fires the same alert as the
 * offline evaluation of the final log does.
 */
const RULES_YAML = `rules:
  - id: op-failed
    title: An operation failed
    severity: low
    match: { success: false }
`;
const GROWTH: GrowthOptions = { count: 2, everyMs: 100, lateFraction: 0.3 };

let tmp: ReturnType<typeof tempDir>;
let server: PostgresServer;
let accounts: AccountsEmulator;
let receiver: AlertReceiver;
let rules: CompiledRule[];
const clients: pg.Client[] = [];
/** Failover times measured, printed at the end (the report's figures). */
const figures: string[] = [];

beforeAll(async () => {
  tmp = tempDir();
  [server, accounts, receiver, rules] = await Promise.all([
    startPostgres(),
    startAccounts(IDS.map((id) => ({ id, count: 60, growth: GROWTH }))),
    startAlertReceiver(),
    parseRules("rules.yaml", RULES_YAML),
  ]);
}, 60_000);

afterAll(async () => {
  for (const c of clients) await c.end();
  await Promise.all([accounts?.close(), server?.stop(), receiver?.close()]);
  tmp?.cleanup();
  if (figures.length > 0) process.stderr.write(`failover figures:\n${figures.join("\n")}\n`);
});

/** One scenario's own database (coordination and destination), lake folder, webhook and config. */
interface Scenario {
  name: string;
  config: string;
  url: string;
  db: pg.Client;
  /** The config's folder (its `state` beside it). */
  dir: string;
  lake: string;
}

async function scenario(
  name: string,
  coordination = true,
  settings: Record<string, unknown> = {},
  listen?: string,
) {
  const url = await server.createDatabase(name);
  const db = await server.client(name);
  clients.push(db);
  const dir = join(tmp.dir, name);
  for (const id of IDS) accounts.setGrowth(id, GROWTH);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "rules.yaml"), RULES_YAML);
  const config = writeCollectorConfig(dir, accounts, {
    destinations: [
      { id: "lake", lake: "./lake" },
      { id: "db", postgres: url },
      { id: "alerts", alerts: { rules: ["./rules.yaml"], webhooks: [receiver.url(name)], backoff: "50ms" } },
    ],
    settings: { interval: "50ms", ...settings },
    ...(listen !== undefined ? { listen } : {}),
    ...(coordination ? { coordination: { url, lease: `${LEASE_MS}ms`, poll: `${POLL_MS}ms` } } : {}),
  });
  return { name, config, url, db, dir, lake: join(dir, "lake") } satisfies Scenario;
}

const start = (name: string, s: Scenario) => startInstance(name, s.config, accounts.env());
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Growth stopped: waits until the lake and PostgreSQL hold every entry once and every alert arrived. */
async function untilComplete(s: Scenario, instances: readonly Instance[]): Promise<void> {
  accounts.stopGrowth();
  const expected = accounts.expected();
  await untilExactlyOnce(
    async () => [...(await checkLake(s.lake, expected)), ...(await checkPostgres(s.db, expected))],
    30_000,
  );
  const alerts = expectedAlerts();
  let last: string[] = [];
  await waitFor(
    () => {
      const ds = checkAlerts(receiver, s.name, alerts);
      last = problems(ds);
      return ds.every((d) => d.missing.length === 0);
    },
    { timeoutMs: 20_000, intervalMs: 50, what: `every alert of ${s.name} delivered` },
  ).catch((error: Error) => {
    const byAccount = new Map(IDS.map((id) => [id, new Set(alerts.get(id))]));
    const missing = (checkAlerts(receiver, s.name, alerts)[0]?.missing ?? []).map(
      (k) => IDS.find((id) => byAccount.get(id)?.has(k)) ?? "?",
    );
    throw new Error(
      `${error.message}:\n${last.join("\n")}\nmissing by account: ${missing.join(" ")}\n${instances
        .map(
          (i) =>
            `${i.name}:\n${i.p.lines
              .filter((l) => !l.includes('"level":"info"') || /lease|alert/.test(l))
              .slice(-40)
              .join("\n")}`,
        )
        .join("\n")}`,
    );
  });
}

function expectedAlerts(): Map<string, string[]> {
  return new Map(IDS.map((id) => [id, expectedAlertKeys(rules, accounts.lines(id))]));
}

/**
 * The alert store's one window for a repeat (packages/cli/src/collector/alertStore.ts): a pair whose
 * 2xx was on its way when its account stopped (a kill, a lease lost or given up, a drain) is sent
 * again by the next open. Each destination sends one alert at a time, so each stop of an account
 * (a `lease lost` line, or an account the killed instance held) repeats at most one.
 */
function stops(instances: readonly Instance[], killed = 0): number {
  return (
    killed + instances.flatMap((i) => i.log()).filter((l) => /^account \S+: lease lost \(/.test(l.msg)).length
  );
}

/** Once every instance has ended: exactly once in the lake and PostgreSQL; the alerts' repeats. */
async function finalCheck(s: Scenario, alertRepeatsAllowed: number): Promise<void> {
  const expected = accounts.expected();
  assertExactlyOnce([...(await checkLake(s.lake, expected)), ...(await checkPostgres(s.db, expected))]);
  const alerts = expectedAlerts();
  expect([...alerts.values()].flat().length).toBeGreaterThan(4);
  const [d] = checkAlerts(receiver, s.name, alerts);
  expect([d?.missing, d?.unexpected]).toEqual([[], []]);
  figures.push(
    `${s.name}: ${[...alerts.values()].flat().length} alerts delivered, ${d?.duplicated.length} repeated (bound ${alertRepeatsAllowed})`,
  );
  expect(d?.duplicated.length).toBeLessThanOrEqual(alertRepeatsAllowed);
}

/** The first `lease acquired` line of `account` among `instances` at or after `after`. */
async function takenBy(
  instances: readonly Instance[],
  after: number,
  account: string,
): Promise<{ by: Instance; line: LogLine; token: number }> {
  let found: { by: Instance; line: LogLine; token: number } | undefined;
  await waitFor(
    () => {
      for (const by of instances) {
        const line = by.log().find((l) => l.at >= after && ACQUIRED(account).test(l.msg));
        if (line !== undefined) {
          found = { by, line, token: Number(ACQUIRED(account).exec(line.msg)?.[1]) };
          return true;
        }
      }
      return false;
    },
    { timeoutMs: 20_000, intervalMs: 10, what: `account ${account} taken by another instance` },
  );
  return found as { by: Instance; line: LogLine; token: number };
}

test("SIGKILL of one of two instances: the other takes its accounts within lease + 2 polls; every destination exactly once", async () => {
  const random = seededRandom(2301);
  const s = await scenario("kill");
  const instances = await Promise.all([start("A", s), start("B", s)]);
  let survivor: Instance | undefined;
  try {
    await untilSplit(instances, IDS, 2);
    // A random instant of the walk: a round, a commit of any destination, or the wait between.
    await pause(200 + Math.floor(random() * 600));
    const [victim, other] = (random() < 0.5 ? instances : [...instances].reverse()) as [Instance, Instance];
    survivor = other;
    const moved = await heldBy(victim);
    expect(moved).toHaveLength(2);
    const killedAt = Date.now();
    victim.p.signal("SIGKILL");
    expect((await victim.p.exit).signal).toBe("SIGKILL");
    const times: number[] = [];
    for (const account of moved)
      times.push((await lineAfter(survivor, killedAt, ACQUIRED(account))).at - killedAt);
    figures.push(
      `SIGKILL → survivor's lease acquired: ${times.join(", ")} ms (bound lease + 2 polls = ${LEASE_MS + 2 * POLL_MS} ms)`,
    );
    // Within lease + 2 polls: the killed one's lease and instance row expire within a lease of the
    // kill, the survivor's next poll (at most one poll later) sees it and takes the accounts.
    expect(Math.max(...times)).toBeLessThanOrEqual(LEASE_MS + 2 * POLL_MS);
    expect(await heldBy(survivor)).toEqual(IDS);
    await untilComplete(s, instances);
  } finally {
    await stopAll(instances);
  }
  expect((await survivor?.p.exit)?.code).toBe(0);
  await finalCheck(s, stops(instances, 2));
}, 60_000);

test("three instances, one SIGSTOPped past its lease: PostgreSQL goes on under the new token, lake and alerts wait; woken, it commits nothing and lets go; exactly once", async () => {
  const random = seededRandom(2302);
  const s = await scenario("pause");
  const instances = await Promise.all([start("A", s), start("B", s), start("C", s)]);
  let victim: Instance | undefined;
  try {
    await untilSplit(instances, IDS, 1);
    // Every committed write of the PostgreSQL destination's state rows from here on, with its token.
    await waitFor(
      async () =>
        (await s.db.query("SELECT to_regclass('clarifai_audit_sync_state') AS t")).rows[0]?.t !== null,
      { what: "the PostgreSQL destination's state table" },
    );
    await recordFenceWrites(s.db);
    await pause(200 + Math.floor(random() * 600));
    victim = instances[Math.floor(random() * 3)] as Instance;
    const others = instances.filter((i) => i !== victim);
    const moved = await heldBy(victim);
    expect(moved.length).toBeGreaterThanOrEqual(1);
    // Paused while it holds the pid locks of its accounts' lake and alerts (taken at a round's
    // first open, kept until the account stops), so that the new owners have to wait on them.
    const locks = moved.flatMap((a) => [
      join(s.lake, `account=${a}`, "_clarifai_sync.json.lock"),
      join(s.dir, "state", "alerts", "alerts", `${a}.json.lock`),
    ]);
    await waitFor(() => locks.every((l) => lockPid(l) === victim?.p.pid), {
      what: `${victim.name}'s locks of ${moved.join(", ")}`,
      intervalMs: 20,
    });
    const oldTokens = new Map(moved.map((a) => [a, lastToken(victim as Instance, a) as number]));
    const stoppedAt = Date.now();
    victim.p.signal("SIGSTOP");

    const taken = new Map<string, { by: Instance; token: number }>();
    for (const account of moved) {
      const t = await takenBy(others, stoppedAt, account);
      figures.push(`SIGSTOP → ${t.by.name} took ${account}: ${t.line.at - stoppedAt} ms`);
      expect(t.token).toBeGreaterThan(oldTokens.get(account) as number);
      taken.set(account, t);
    }
    for (const [account, { by, token }] of taken) {
      // The lake and the alerts wait: the paused owner, alive, holds their pid locks.
      for (const destination of ["lake", "alerts"])
        await lineAfter(
          by,
          stoppedAt,
          new RegExp(`^account ${account}: destination ${destination} failed: .*pid ${victim.p.pid}\\b`),
        );
      // PostgreSQL commits go on under the new owner's token.
      await waitFor(
        async () =>
          (await fenceWrites(s.db)).some(
            (w) => w.account === account && w.fence === token && !w.commitId.startsWith("claim-"),
          ),
        { what: `a commit of ${account} under token ${token}`, intervalMs: 50 },
      );
    }
    const wokenAt = Date.now();
    victim.p.signal("SIGCONT");
    // Woken: it finds each lease lost (by its local deadline or the refused renewal) and stops the account.
    for (const account of moved) await lineAfter(victim, wokenAt, LOST(account));
    await untilComplete(s, instances);
    const writes = await fenceWrites(s.db);
    // The fence never goes back, and no write after the wake carries a token the woken one lost.
    expect(fencesGoingBack(writes)).toEqual([]);
    expect(
      writes.filter((w) => w.at >= wokenAt - 5 && w.fence === oldTokens.get(w.account)).map((w) => w.account),
    ).toEqual([]);
    // Commits of the moved accounts went on while it was paused.
    for (const [account, { token }] of taken)
      expect(
        writes.some(
          (w) =>
            w.account === account && w.fence === token && w.at < wokenAt && !w.commitId.startsWith("claim-"),
        ),
      ).toBe(true);
  } finally {
    await stopAll(instances);
  }
  expect((await Promise.all(instances.map((i) => i.p.exit))).map((e) => e.code)).toEqual([0, 0, 0]);
  await finalCheck(s, stops(instances));
}, 60_000);

test("SIGTERM of one of two instances hands its accounts over at once: taken sooner after the release than any expiry allows", async () => {
  const random = seededRandom(2303);
  const s = await scenario("term");
  const instances = await Promise.all([start("A", s), start("B", s)]);
  try {
    await untilSplit(instances, IDS, 2);
    await pause(200 + Math.floor(random() * 600));
    const [victim, survivor] = (random() < 0.5 ? instances : [...instances].reverse()) as [
      Instance,
      Instance,
    ];
    const moved = await heldBy(victim);
    const termAt = Date.now();
    victim.p.signal("SIGTERM");
    expect((await victim.p.exit).code).toBe(0);
    const times: number[] = [];
    for (const account of moved) {
      const released = victim.log().find((l) => l.at >= termAt && LOST(account).test(l.msg));
      expect(released?.msg).toMatch(/coordinator stopped/);
      const acquired = await lineAfter(survivor, termAt, ACQUIRED(account));
      times.push(acquired.at - (released as LogLine).at);
      figures.push(
        `SIGTERM: ${account} released → taken ${acquired.at - (released as LogLine).at} ms (SIGTERM → taken ${acquired.at - termAt} ms)`,
      );
    }
    // Released, not expired: a lease left to expire is taken at least lease − poll after its holder
    // stopped renewing (its last renewal was at most a poll before); this one is taken sooner.
    expect(Math.max(...times)).toBeLessThan(LEASE_MS - POLL_MS);
    await untilComplete(s, instances);
  } finally {
    await stopAll(instances);
  }
  await finalCheck(s, stops(instances));
}, 60_000);

test("without coordination, a second instance of the same config is refused: exit 2, one line naming the file, the destination and the lock's holder, before any request", async () => {
  // A long interval: after its first round the first instance sends nothing, so any request the
  // emulator serves from here is the second instance's.
  // A fixed port, as a deployed config has: the second instance is refused for the destination it
  // would share, not for the port.
  const s = await scenario("single", false, { interval: "1h" }, `127.0.0.1:${await freePort()}`);
  const callsBefore = accounts.emu.calls;
  const first = await start("first", s);
  try {
    // Every account's first round done (its requests are counted when its round ends; at most two
    // accounts walk at a time, so a sum alone can match while an account still waits for its turn),
    // and every request the emulator served counted.
    await waitFor(
      async () => {
        const perAccount = await Promise.all(
          IDS.map((id) => metricSum(first, `clarifai_audit_requests_total\\{account="${id}",[^}]*\\}`)),
        );
        const counted = perAccount.reduce((a, b) => a + b, 0);
        return perAccount.every((n) => n > 0) && counted === accounts.emu.calls - callsBefore;
      },
      { what: "every account's first round done, every request it made counted", intervalMs: 50 },
    );
    expect(accounts.emu.calls).toBeGreaterThan(callsBefore);
    const calls = accounts.emu.calls;
    const second = await spawnCollector(s.config, accounts.env()).exit;
    expect(second.code).toBe(2);
    const lines = second.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^clarifai-audit: error: config file ${s.config.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:\\d+: destinations\\[0\\] \\(lake\\): .*locked by another process \\(pid ${first.p.pid}\\b`,
      ),
    );
    expect(accounts.emu.calls).toBe(calls);
  } finally {
    await stopAll([first]);
  }
  expect((await first.p.exit).code).toBe(0);
}, 60_000);

test("an account whose start fails under coordination gives its lease back, and is walked once it can start", async () => {
  const name = "nostart";
  const url = await server.createDatabase(name);
  const dir = join(tmp.dir, name);
  mkdirSync(dir, { recursive: true });
  for (const id of IDS) accounts.setGrowth(id, undefined);
  const a1 = accounts.accounts.find((a) => a.id === "a1");
  if (a1 === undefined) throw new Error("no account a1");
  // The PAT comes from a command that fails until the marker exists (a secret store that is down).
  const marker = join(dir, "store-up");
  const patFile = join(dir, "a1.pat");
  writeFileSync(patFile, a1.pat, { mode: 0o600 });
  const config = writeCollectorConfig(dir, accounts, {
    accounts: [{ id: "a1", pat_env: undefined, pat_command: `test -f '${marker}' && cat '${patFile}'` }],
    destinations: [{ id: "lake", lake: "./lake" }],
    coordination: { url, lease: `${LEASE_MS}ms`, poll: `${POLL_MS}ms` },
  });
  const instance = await start(name, { config } as Scenario);
  try {
    await waitFor(
      () => instance.log().some((l) => /^account a1: could not start; its lease is released/.test(l.msg)),
      {
        what: "a1's lease released after its failed start",
        timeoutMs: 20_000,
      },
    );
    expect(await heldBy(instance)).toEqual([]);
    writeFileSync(marker, "");
    const expected = new Map([["a1", accounts.expected().get("a1") ?? []]]);
    await untilExactlyOnce(async () => checkLake(join(dir, "lake"), expected), 30_000);
  } finally {
    await stopAll([instance]);
  }
}, 60_000);
