/**
 * `sync --dest splunk+https://…` (the built CLI) killed (SIGKILL) at every step of a delivery (the
 * crash points of packages/client/src/state/crashPoint.ts) and at random instants while the log grows
 * with late entries, then run to the end, against a growing emulator (test/collector/harness.ts) and
 * the test collector with indexer acknowledgement. At least once: the collector ends with every entry
 * of the log (distinct entry ids = the log's), and the duplicates stay within the stated bound: one
 * commit's entries per kill (what was sent and not yet recorded in the state file: at most
 * commitEntries + perPage − 1). A refused token is one line, exit 2, nothing sent, the checkpoint as
 * it was. Needs `npm run build`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { seededRandom, tempDir } from "../cli/helpers.js";
import {
  type AccountsEmulator,
  type BinProcess,
  killLoop,
  spawnBin,
  startAccounts,
} from "../collector/harness.js";
import { type HecServer, startHecServer } from "../helpers/hecServer.js";
import { waitFor } from "../helpers/waitFor.js";

const COMMIT_ENTRIES = 30;
const PER_PAGE = 20;
/** The delivery store's bound: what one kill can make the next run send again (a commit, whole pages). */
const PER_KILL = COMMIT_ENTRIES + PER_PAGE - 1;

let tmp: ReturnType<typeof tempDir>;
let accounts: AccountsEmulator;
let hec: HecServer;

beforeAll(async () => {
  tmp = tempDir();
  [accounts, hec] = await Promise.all([
    startAccounts([
      { id: "points", count: 150, growth: false },
      { id: "random", count: 200, growth: { count: 4, everyMs: 40, lateFraction: 0.3 } },
      { id: "refused", count: 20, growth: false },
    ]),
    startHecServer({ ackDelayMs: 20 }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([accounts?.close(), hec?.close()]);
  tmp?.cleanup();
});

const checkpoint = (account: string) => join(tmp.dir, `${account}.json`);

/** `sync` of `account`'s log to the collector (PAT and token in the environment only). */
function start(account: string, crashAt?: string, token = hec.token): BinProcess {
  const a = accounts.account(account);
  return spawnBin(
    [
      "sync",
      "--endpoint",
      accounts.endpoint,
      "--insecure",
      "--dest",
      hec.url("batch_events=10"),
      "--checkpoint",
      checkpoint(account),
      "--ca",
      hec.tls.caPath,
      "--settle",
      "0s",
      "--reconcile",
      "3650d",
      "--per-page",
      String(PER_PAGE),
      "--commit-entries",
      String(COMMIT_ENTRIES),
      "--commit-interval",
      "0",
      "-q",
    ],
    {
      PATH: process.env.PATH ?? "",
      CLARIFAI_PAT: a.pat,
      CLARIFAI_USER_ID: a.userId,
      CLARIFAI_AUDIT_HEC_TOKEN: token,
    },
    crashAt !== undefined ? { crashAt } : {},
  );
}

/** An account's entries at the collector (by their keys): missing, extra copies, foreign ids. */
function heldOf(account: string): { missing: string[]; extra: number; unexpected: number } {
  const keys = accounts.keys(account);
  const want = new Set(keys);
  const counts = new Map<string, number>();
  // `sync` has no account: events are told apart by the log their keys belong to.
  const others = new Set(
    accounts.accounts.filter((a) => a.id !== account).flatMap((a) => accounts.keys(a.id)),
  );
  for (const e of hec.events) if (!others.has(e.id)) counts.set(e.id, (counts.get(e.id) ?? 0) + 1);
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
  expect(result.killed).toBeGreaterThan(0);
  for (const r of result.ended) expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  // Twice: the first may only finish a killed run's window; the second walks what the log gained since.
  for (const last of [await start("random").exit, await start("random").exit])
    expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });
  const h = heldOf("random");
  expect(h.missing).toEqual([]);
  expect(h.unexpected).toBe(0);
  expect(h.extra).toBeLessThanOrEqual(result.killed * PER_KILL);
}, 120_000);

it("an invalid token: one line, exit 2, nothing sent, the checkpoint as it was", async () => {
  const first = await start("refused").exit;
  expect({ code: first.code, stderr: first.stderr }).toEqual({ code: 0, stderr: "" });
  const before = readFileSync(checkpoint("refused"));
  const events = hec.events.length;
  const token = "0badc0de-0000-4000-8000-123456789abc";
  const r = await start("refused", undefined, token).exit;
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(
    /^clarifai-audit: error: .*splunk\+https:\/\/127\.0\.0\.1:\d+: the HEC token was refused \(HTTP 403, code 4 "Invalid token"\); check CLARIFAI_AUDIT_HEC_TOKEN\n$/,
  );
  expect(r.stderr).not.toContain(token);
  expect(hec.events.length).toBe(events);
  expect(existsSync(checkpoint("refused")) && readFileSync(checkpoint("refused")).equals(before)).toBe(true);
}, 60_000);
