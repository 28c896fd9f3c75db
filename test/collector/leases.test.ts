/**
 * Account leases in PostgreSQL (issue 23's failover; docs/design/coordination.md): coordinators in
 * this process (and one child process, SIGSTOPped and SIGKILLed) against one real server, with a 600 ms lease and a
 * 150 ms poll. Times are taken from the coordinators' own events (monotonic clock), and bounds are
 * the model's (a lease plus polls), not the machine's speed.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { build } from "esbuild";
import { LeaseCoordinator } from "../../packages/cli/src/collector/coordination/leases.js";
import { type PostgresServer, startPostgres } from "../helpers/postgres.js";
import { waitFor } from "../helpers/waitFor.js";
import {
  exclusivitySampler,
  LEASE_MS,
  type LeaseEvent,
  type Member,
  member,
  type PgProxy,
  POLL_MS,
  startProxy,
  tokensNotIncreasing,
} from "./leaseHelpers.js";

let server: PostgresServer;
let url: string;
let groups = 0;
const running: Member[] = [];
const ACCOUNTS = ["a1", "a2", "a3", "a4"];
/** What a handover may take after the old holder let go or went silent: the lease and two polls. */
const HANDOVER_MS = LEASE_MS + 2 * POLL_MS;

beforeAll(async () => {
  server = await startPostgres();
  url = server.url();
}, 120_000);
afterEach(async () => {
  await Promise.all(running.splice(0).map((m) => m.c.stop()));
});
afterAll(async () => {
  await server?.stop();
});

async function enlist(group: string, owner: string, accounts: string[], all: LeaseEvent[], via = url) {
  const m = await member(via, group, owner, accounts, all);
  running.push(m);
  return m;
}

/** Two instances of a new group, once they split the four accounts 2/2 (the first through `viaA`). */
async function pair(all: LeaseEvent[], viaA = url): Promise<{ group: string; a: Member; b: Member }> {
  const group = `g${++groups}`;
  const a = await enlist(group, "inst-a", ACCOUNTS, all, viaA);
  const b = await enlist(group, "inst-b", ACCOUNTS, all);
  await waitFor(() => sizes([a, b]) === "2/2", { what: "a 2/2 split" });
  return { group, a, b };
}

const sizes = (ms: Member[]) => ms.map((m) => m.accounts().length).join("/");
const union = (ms: Member[]) => ms.flatMap((m) => m.accounts()).sort();
const acquiredAfter = (m: Member, account: string, t: number) =>
  m.events.find((e) => e.kind === "acquired" && e.account === account && e.at >= t);

it("two instances split four accounts 2/2, a third joining makes it 2/1/1, every account held once", async () => {
  const group = `g${++groups}`;
  const all: LeaseEvent[] = [];
  const sampler = exclusivitySampler(() => running);
  const a = await enlist(group, "inst-a", ACCOUNTS, all);
  const b = await enlist(group, "inst-b", ACCOUNTS, all);
  await waitFor(() => sizes([a, b]) === "2/2", { what: "a 2/2 split" });
  expect(union([a, b])).toEqual(ACCOUNTS);

  const c = await enlist(group, "inst-c", ACCOUNTS, all);
  // The extra account goes to the first owner in order: 2/1/1, never 2/2/0.
  await waitFor(() => sizes([a, b, c]) === "2/1/1", { what: "a 2/1/1 split" });
  expect(union([a, b, c])).toEqual(ACCOUNTS);
  const moved = c.accounts()[0] as string;
  const lostByB = b.events.find((e) => e.kind === "lost" && e.account === moved);
  expect(lostByB?.reason).toMatch(/^rebalancing: 3 live instances, this one's share is 1$/);

  const { violations, checks } = sampler.stop();
  expect(violations).toEqual([]);
  expect(checks).toBeGreaterThan(20);
  expect(tokensNotIncreasing(all)).toEqual([]);
});

it("stop() releases at once: the other instance takes every account within a lease and two polls", async () => {
  const all: LeaseEvent[] = [];
  const { group, a, b } = await pair(all);
  const gone = a.c.held();
  running.splice(running.indexOf(a), 1);
  const t0 = performance.now();
  await a.c.stop();
  await waitFor(() => b.accounts().length === 4, { what: "b holding all four" });

  const lost = a.events.filter((e) => e.kind === "lost" && e.at >= t0);
  expect(lost.map((e) => [e.account, e.reason]).sort()).toEqual(
    [...gone.keys()].sort().map((account) => [account, "coordinator stopped"]),
  );
  for (const [account, token] of gone) {
    const taken = acquiredAfter(b, account, t0);
    const released = lost.find((e) => e.account === account) as LeaseEvent;
    expect(taken?.token).toBeGreaterThan(token);
    expect((taken as LeaseEvent).at - released.at).toBeLessThanOrEqual(HANDOVER_MS);
  }
  // Its instance row is gone (the others' share grows at once, not after a lease).
  const db = await server.client();
  try {
    const r = await db.query("SELECT owner FROM clarifai_audit_instances WHERE grp = $1 ORDER BY owner", [
      group,
    ]);
    expect(r.rows).toEqual([{ owner: "inst-b" }]);
  } finally {
    await db.end();
  }
});

it("a paused instance loses its leases at expiry, knows it locally before polling, and its renewal is refused on resume", async () => {
  const all: LeaseEvent[] = [];
  const sampler = exclusivitySampler(() => running);
  const { a, b } = await pair(all);
  const frozen = a.c.held();
  a.c.pause();
  const pausedAt = performance.now();
  const eventsBefore = a.events.length;
  await waitFor(() => b.accounts().length === 4, { what: "b taking the paused instance's accounts" });
  for (const [account, token] of frozen) {
    // Without a poll, by its monotonic clock alone.
    expect(a.c.isHeld(account, token)).toBe(false);
    const taken = acquiredAfter(b, account, pausedAt) as LeaseEvent;
    expect(taken.token).toBeGreaterThan(token);
    expect(taken.at - pausedAt).toBeLessThanOrEqual(HANDOVER_MS);
  }
  expect(a.c.held().size).toBe(0);
  expect(a.events.length).toBe(eventsBefore); // nothing said while frozen

  a.c.resume();
  const lostSince = () => a.events.slice(eventsBefore).filter((e) => e.kind === "lost");
  await waitFor(() => lostSince().length >= frozen.size, { what: "lost on resume" });
  const lost = lostSince();
  expect(lost.map((e) => e.account).sort()).toEqual([...frozen.keys()].sort());
  for (const e of lost) expect(e.reason).toMatch(/^renewal refused/);
  // Back in the group: the split is even again.
  await waitFor(() => sizes([a, b]) === "2/2", { what: "2/2 again" });

  const { violations } = sampler.stop();
  expect(violations).toEqual([]);
  expect(tokensNotIncreasing(all)).toEqual([]);
});

it("through churn (pauses, stops, joins, account changes) no account is held twice and tokens only go up", async () => {
  const group = `g${++groups}`;
  const all: LeaseEvent[] = [];
  const six = ["a1", "a2", "a3", "a4", "a5", "a6"];
  const sampler = exclusivitySampler(() => running, 2);
  const a = await enlist(group, "inst-a", six, all);
  const b = await enlist(group, "inst-b", six, all);
  const c = await enlist(group, "inst-c", six, all);
  await waitFor(() => sizes([a, b, c]) === "2/2/2", { what: "2/2/2" });
  a.c.pause();
  await waitFor(() => sizes([b, c]) === "3/3", { what: "b and c taking a's" });
  a.c.resume();
  await waitFor(() => sizes([a, b, c]) === "2/2/2", { what: "2/2/2 after the pause" });
  running.splice(running.indexOf(b), 1);
  await b.c.stop();
  await waitFor(() => sizes([a, c]) === "3/3", { what: "a and c after b stopped" });
  const d = await enlist(group, "inst-d", six, all);
  await waitFor(() => sizes([a, c, d]) === "2/2/2", { what: "2/2/2 with d" });
  c.c.pause();
  for (const m of [a, c, d]) m.c.setAccounts([...six, "a7"]);
  await waitFor(() => sizes([a, d]) === "4/3", { what: "a and d with c paused" });
  c.c.resume();
  await waitFor(() => sizes([a, c, d]) === "3/2/2", { what: "3/2/2 with seven accounts" });

  const { violations, checks } = sampler.stop();
  expect(violations).toEqual([]);
  expect(checks).toBeGreaterThan(200);
  const bad = tokensNotIncreasing(all);
  expect(bad).toEqual([]);
  expect(all.filter((e) => e.kind === "acquired").length).toBeGreaterThan(15);
  expect(union([a, c, d])).toEqual([...six, "a7"]);
});

it("setAccounts adds accounts (taken at once) and removes them (lost, then released)", async () => {
  const all: LeaseEvent[] = [];
  const { group, a, b } = await pair(all);
  const six = [...ACCOUNTS, "a5", "a6"];
  a.c.setAccounts(six);
  b.c.setAccounts(six);
  await waitFor(() => sizes([a, b]) === "3/3", { what: "3/3 with six accounts" });
  expect(union([a, b])).toEqual(six);

  const t0 = performance.now();
  a.c.setAccounts(["a1", "a2"]);
  b.c.setAccounts(["a1", "a2"]);
  await waitFor(() => sizes([a, b]) === "1/1", { what: "1/1 with two accounts" });
  expect(union([a, b])).toEqual(["a1", "a2"]);
  const removed = all.filter((e) => e.kind === "lost" && e.at >= t0 && e.reason?.includes("removed"));
  expect(removed.map((e) => e.account).sort()).toEqual(["a3", "a4", "a5", "a6"]);
  // Released in the database, not left to expire.
  const db = await server.client();
  try {
    const r = await db.query(
      "SELECT count(*)::int AS n FROM clarifai_audit_leases WHERE grp = $1 AND account = ANY($2) AND expires_at > now()",
      [group, ["a3", "a4", "a5", "a6"]],
    );
    expect(r.rows[0].n).toBe(0);
  } finally {
    await db.end();
  }
});

it("cut off from PostgreSQL (a partition), an instance loses its leases at its local deadline, before the other takes them", async () => {
  const all: LeaseEvent[] = [];
  const proxy: PgProxy = await startProxy(server.port);
  try {
    const sampler = exclusivitySampler(() => running);
    const { a, b } = await pair(all, server.url().replace(`:${server.port}/`, `:${proxy.port}/`));
    const cutOff = a.c.held();
    proxy.cut();
    const t0 = performance.now();
    await waitFor(() => b.accounts().length === 4, { what: "b taking the cut-off instance's accounts" });
    for (const [account] of cutOff) {
      const lost = a.events.find(
        (e) => e.kind === "lost" && e.account === account && e.at >= t0,
      ) as LeaseEvent;
      expect(lost.reason).toMatch(/^no renewal confirmed by the database before the local deadline/);
      // Its deadline counts from its last confirmed renewal, which was before the cut.
      expect(lost.at - t0).toBeLessThanOrEqual(LEASE_MS + POLL_MS);
      expect((acquiredAfter(b, account, t0) as LeaseEvent).at).toBeGreaterThan(lost.at);
    }
    expect(a.logs.some((l) => l.includes("does not answer"))).toBe(true);
    proxy.restore();
    await waitFor(() => sizes([a, b]) === "2/2", { what: "2/2 after the partition" });
    expect(a.logs.some((l) => l.includes("answers again"))).toBe(true);
    expect(a.logs.join("\n")).not.toContain(server.password);
    expect(sampler.stop().violations).toEqual([]);
    expect(tokensNotIncreasing(all)).toEqual([]);
  } finally {
    await Promise.all(running.splice(0).map((m) => m.c.stop()));
    await proxy.close();
  }
});

it("a process SIGSTOPped past its lease loses it and says so on SIGCONT; SIGKILLed, its accounts move within a lease and two polls", async () => {
  const group = `g${++groups}`;
  const all: LeaseEvent[] = [];
  const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-leases-"));
  // The coordinator as a program of its own (esbuild, as the CLI bundle is built).
  await build({
    entryPoints: [
      new URL("../../packages/cli/src/collector/coordination/leases.ts", import.meta.url).pathname,
    ],
    bundle: true,
    platform: "node",
    format: "cjs",
    external: ["pg-native"],
    tsconfig: new URL("../../tsconfig.json", import.meta.url).pathname,
    outfile: join(dir, "leases.cjs"),
    logLevel: "silent",
  });
  // Each lost event says whether isHeld was still true for it at that moment (it must not be).
  writeFileSync(
    join(dir, "member.cjs"),
    `const { LeaseCoordinator } = require("./leases.cjs");
     const [url, group, accounts] = process.argv.slice(2);
     const tokens = new Map();
     const say = (e) => console.log(JSON.stringify(e));
     LeaseCoordinator.open({ url, group, owner: "child", leaseMs: ${LEASE_MS}, pollMs: ${POLL_MS}, env: {} }).then((c) =>
       c.start(accounts.split(","), {
         acquired: (account, token) => { tokens.set(account, token); say({ kind: "acquired", account, token }); },
         lost: (account, reason) => say({ kind: "lost", account, reason, held: c.isHeld(account, tokens.get(account)) }),
       }));`,
  );
  const child = spawn(process.execPath, [join(dir, "member.cjs"), url, group, ACCOUNTS.join(",")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const said: { kind: string; account: string; token?: number; reason?: string; held?: boolean }[] = [];
  const childHeld = new Map<string, number>();
  createInterface({ input: child.stdout }).on("line", (line) => {
    const e = JSON.parse(line);
    said.push(e);
    if (e.kind === "acquired") childHeld.set(e.account, e.token);
    else childHeld.delete(e.account);
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  try {
    await waitFor(() => childHeld.size === 4, { what: "the child holding all four" });
    const b = await enlist(group, "inst-b", ACCOUNTS, all);
    const split = () => childHeld.size === 2 && b.accounts().length === 2;
    await waitFor(split, { what: "a 2/2 split with the child" });

    const frozen = new Map(childHeld);
    child.kill("SIGSTOP");
    const stoppedAt = performance.now();
    await waitFor(() => b.accounts().length === 4, { what: "b taking the stopped process's accounts" });
    const before = said.length;
    child.kill("SIGCONT");
    await waitFor(() => frozen.size === [...frozen.keys()].filter((a) => !childHeld.has(a)).length, {
      what: "the child reporting its leases lost",
    });
    for (const [account, token] of frozen) {
      const lost = said.slice(before).find((e) => e.kind === "lost" && e.account === account);
      expect(lost?.reason).toMatch(
        /^(renewal refused|no renewal confirmed by the database before the local deadline)/,
      );
      expect(lost?.held).toBe(false);
      const taken = acquiredAfter(b, account, stoppedAt) as LeaseEvent;
      expect(taken.token).toBeGreaterThan(token);
      expect(taken.at - stoppedAt).toBeLessThanOrEqual(HANDOVER_MS);
    }
    await waitFor(split, { what: "2/2 again after SIGCONT" });

    const killed = new Map(childHeld);
    child.kill("SIGKILL");
    const killedAt = performance.now();
    await exited;
    await waitFor(() => b.accounts().length === 4, { what: "b taking the killed process's accounts" });
    for (const [account, token] of killed) {
      const taken = acquiredAfter(b, account, killedAt) as LeaseEvent;
      expect(taken.token).toBeGreaterThan(token);
      expect(taken.at - killedAt).toBeLessThanOrEqual(HANDOVER_MS);
    }
  } finally {
    child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

it("open refuses bad settings and a wrong password in one line, without the password", async () => {
  const base = { group: "g-bad", owner: "x", env: {} };
  await expect(LeaseCoordinator.open({ ...base, url, leaseMs: 500, pollMs: 300 })).rejects.toThrow(
    /^coordination: lease \(500 ms\) must be at least twice poll \(300 ms\)/,
  );
  await expect(
    LeaseCoordinator.open({ ...base, url: "postgres://h:5432/db?bogus=1", leaseMs: 600, pollMs: 150 }),
  ).rejects.toThrow(/unknown URL parameter "bogus"/);
  const wrong = server.url("postgres", server.user, "not-the-password-7c1e");
  const err = (await LeaseCoordinator.open({ ...base, url: wrong, leaseMs: 600, pollMs: 150 }).catch(
    (e) => e,
  )) as Error;
  expect(err.message).toMatch(/refused user "postgres"/);
  expect(err.message).not.toContain("not-the-password-7c1e");
  expect(err.message.split("\n")).toHaveLength(1);
});

// Last: it stops the server.
it("the database stopped: every lease is lost at its local deadline, within a lease of the server's exit", async () => {
  const all: LeaseEvent[] = [];
  const { a, b } = await pair(all);
  const t0 = performance.now();
  await server.stop();
  // Gone for sure from here on (a renewal may still have succeeded while the server shut down).
  const gone = performance.now();
  const lostSince = () => all.filter((e) => e.kind === "lost" && e.at >= t0);
  await waitFor(() => lostSince().length >= 4, { what: "every lease lost" });
  const lost = lostSince();
  expect(lost.map((e) => e.account).sort()).toEqual(ACCOUNTS);
  expect(sizes([a, b])).toBe("0/0");
  for (const e of lost) {
    expect(e.reason).toMatch(/^no renewal confirmed by the database before the local deadline/);
    expect(e.at - gone).toBeLessThanOrEqual(LEASE_MS);
  }
  expect(all.filter((e) => e.kind === "acquired" && e.at >= t0)).toEqual([]);
});
