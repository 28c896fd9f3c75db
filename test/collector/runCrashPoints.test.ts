/**
 * The real `clarifai-audit run --config` process killed at every crash point a collector run passes
 * (packages/client/src/state/crashPoint.ts: the walk's sync.*, the lake's commit, recovery and
 * compaction, PostgreSQL's commit, the alert store's outbox and deliveries), one run each while
 * three accounts' logs grow, then a final run: lake, PostgreSQL and alerts exactly once. Each step
 * must have died by its point's SIGKILL (nothing else kills it), and the steps must name every point
 * the code lists, so neither a renamed point nor a new one leaves the test passing without testing.
 */
import { expect, test } from "@jest/globals";
import { CRASH_POINTS } from "../../packages/client/src/state/crashPoint.js";
import { crashSteps, problems } from "./harness.js";
import { checkAll, grow, type RunFixture, setupCollector, useRunFixture } from "./runFixture.js";

let f: RunFixture;
useRunFixture((x) => {
  f = x;
});

/**
 * One run killed at each point (`:n`: the n-th arrival), in an order that reaches each: a lake's
 * recovery follows a kill between its state file and its renames (once after a commit, once after a
 * compaction); compaction comes once a partition holds 8 small files, which the growing logs give
 * after a few rounds of every-commit-at-once.
 */
const STEPS = [
  "sync.window-pinned",
  "lake.staged",
  "lake.file-written",
  "lake.file-synced",
  "pg.rows-inserted",
  "pg.before-commit",
  "pg.after-commit:2",
  "alerts.outbox-written",
  "alerts.delivered-one:2",
  "lake.state-written:2",
  "lake.recovered",
  "lake.renamed",
  "lake.published:3",
  "sync.window-walked",
  "sync.run-ended:2",
  "sync.closed:3",
  "lake.compact-file-synced",
  "lake.compact-state-written",
  "lake.recovered",
  "lake.compact-published",
  "lake.obsolete-deleted",
];

/** A step not killed by its point within this (the point was never reached) is stopped by SIGTERM. */
const WATCHDOG_MS = 25_000;

test("killed at every crash point of the walk, the lake, PostgreSQL and the alert store, then a final run: exactly once everywhere", async () => {
  // Every point the code lists is a step (a new point must be added here, or said unreachable).
  // The URL destinations' points (s3.*, stream.*, delivery.*, hec.*) are killed at inside the
  // collector by ./runDestinationsCrash.test.ts and ./runDestinationsStreamCrash.test.ts; a signed
  // lake's (lake.digest-staged) by test/signing/lakeCrash.test.ts, and a signed export's (export.*,
  // not a collector's) by test/signing/exportCrash.test.ts.
  const points = CRASH_POINTS.filter(
    (p) => !/^(s3|stream|delivery|hec|export)\./.test(p) && p !== "lake.digest-staged",
  );
  expect([...new Set(STEPS.map((s) => s.split(":")[0]))].sort()).toEqual([...points].sort());
  grow(f);
  const s = await setupCollector(f, "points");
  const outcomes = await crashSteps(STEPS, {
    start: (crashAt) => s.start({ crashAt }),
    // The final run: the logs are final, one round (more if a destination resumes a pinned window).
    final: () => s.start({ once: true }),
    watchdogMs: WATCHDOG_MS,
    afterSteps: () => f.accounts.stopGrowth(),
  });
  // Each step died at its point: a SIGKILL only the point sends (a watchdog's SIGTERM exits 0).
  expect(outcomes.map((o) => [o.crashAt, o.code, o.signal])).toEqual([
    ...STEPS.map((step) => [step, null, "SIGKILL"]),
    ["", 0, null],
  ]);
  const bound = STEPS.length * f.accounts.accounts.length;
  expect(problems(await checkAll(f, s, bound))).toEqual([]);
}, 240_000);
