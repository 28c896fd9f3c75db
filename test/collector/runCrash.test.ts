/**
 * The real `clarifai-audit run --config` process, three accounts whose logs grow with late entries,
 * a lake, a PostgreSQL table and an alerts destination: SIGKILLed at random instants, then a final
 * run; SIGTERMed while it works (a drain: exit 0), then a final run. Each destination ends with
 * every entry of each account exactly once and every alert delivered once (a repeat only in the
 * alert store's documented window, bounded by the kills).
 */
import { expect, test } from "@jest/globals";
import { seededRandom } from "../cli/helpers.js";
import { waitFor } from "../helpers/waitFor.js";
import { checkLake, checkPostgres, killLoop, problems, untilExactlyOnce } from "./harness.js";
import {
  alertDiscrepancy,
  checkAll,
  deadLettered,
  grow,
  type RunFixture,
  setupCollector,
  useRunFixture,
} from "./runFixture.js";

let f: RunFixture;
useRunFixture((x) => {
  f = x;
});

/** Entries the lake and the table hold now, per account. */
async function held(setup: Awaited<ReturnType<typeof setupCollector>>): Promise<number[]> {
  const expected = f.accounts.expected();
  return [
    ...(await checkLake(setup.lake, expected)).map((d) => d.held),
    ...(await checkPostgres(setup.db, expected)).map((d) => d.held),
  ];
}

test("SIGKILLed at random while three accounts' logs grow, then a final run: lake, PostgreSQL and alerts exactly once", async () => {
  grow(f);
  const s = await setupCollector(f, "kills");
  const sizes = f.accounts.accounts.map((a) => f.accounts.emu.size(a.userId));
  // Odd rounds die after a round stored something (mid-walk, mid-commit, mid-delivery or waiting),
  // even ones at any point from their start (start-up, opens, recoveries, the first commits).
  const loop = await killLoop({
    rounds: 6,
    random: seededRandom(2323),
    minMs: 50,
    maxMs: 700,
    armed: (p, round) => (round % 2 === 1 ? p.waitForLine(/: stored /) : undefined),
    start: () => s.start(),
  });
  // The collector never ends by itself: every run was killed.
  expect(loop).toEqual({ killed: 6, ended: [] });
  // The killed runs committed to every destination (the final run is not doing all the work).
  expect((await held(s)).every((n) => n > 0)).toBe(true);
  expect(f.receiver.deliveries(s.alertsId).length).toBeGreaterThan(0);
  f.accounts.stopGrowth();
  // Every log grew while the runs were killed.
  expect(f.accounts.accounts.map((a, i) => f.accounts.emu.size(a.userId) > (sizes[i] as number))).toEqual([
    true,
    true,
    true,
  ]);
  const final = s.start();
  const accounts = f.accounts.accounts.length;
  await untilExactlyOnce(() => checkAll(f, s, loop.killed * accounts));
  final.signal("SIGTERM");
  expect((await final.exit).code).toBe(0);
  const alerts = alertDiscrepancy(f, s, loop.killed * accounts);
  expect(alerts.repeats).toBeLessThanOrEqual(loop.killed * accounts);
  expect(alerts.deadLettered).toBe(0);
  expect(alerts.expected).toBeGreaterThan(5);
}, 60_000);

test("SIGTERM drains (exit 0): alerts in flight stay in the outbox, not dead-lettered; a final run leaves every destination exactly once, no alert repeated", async () => {
  grow(f);
  const s = await setupCollector(f, "drain");
  let hung = 0;
  try {
    for (let i = 0; i < 2; i++) {
      const p = s.start();
      // A round stored something and the next ones are under way with the logs growing.
      await p.waitForLine(/: stored /);
      // Every account's alert store (one delivery in flight each) waits on a receiver that does not
      // answer: the SIGTERM meets three deliveries in flight, and no 2xx the journal has not seen.
      hung = 0;
      f.receiver.receiver.behave = () => {
        hung++;
        return "hang";
      };
      await waitFor(() => hung >= f.accounts.accounts.length, { what: "a delivery in flight per account" });
      p.signal("SIGTERM");
      const r = await p.exit;
      f.receiver.receiver.behave = () => 200;
      expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
      expect(r.stderr).toMatch(/^run: \d+ round\(s\) over 3 account\(s\)/m);
      // What the drain left: nothing twice, nothing foreign (the logs grow on: some may be missing),
      // and nothing dead-lettered: the alerts it did not deliver wait in their outbox.
      const now = await checkAll(f, s);
      expect(now.map((d) => [d.where, d.duplicated, d.unexpected])).toEqual(
        now.map((d) => [d.where, [], []]),
      );
      expect(deadLettered(s)).toEqual([]);
    }
  } finally {
    f.receiver.receiver.behave = () => 200;
  }
  f.accounts.stopGrowth();
  const final = await s.start({ once: true }).exit;
  expect(final.code).toBe(0);
  // No kill: no alert may come twice; every one delivered, none dead-lettered.
  expect(problems(await checkAll(f, s, 0))).toEqual([]);
  expect(deadLettered(s)).toEqual([]);
}, 60_000);
