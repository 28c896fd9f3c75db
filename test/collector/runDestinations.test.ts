/**
 * The real `clarifai-audit run --config` process with the URL destinations (docs/destinations.md):
 * two accounts whose logs grow with late entries, an S3 lake, an S3 stream layout of OCSF events
 * (s3rver), syslog (a real rsyslogd), Splunk HEC over HTTPS with a private CA and indexer
 * acknowledgement (the HEC test collector), and a local lake for reference. SIGKILLed at random
 * instants, then a final `run --once`: every S3 destination holds each account's entries exactly
 * once under `PREFIX/account=<id>/`, syslog and HEC each entry at least once (ids and accounts from
 * the structured data / the event's fields), repeats within the documented bound.
 * Refusals are in ./runDestinationsRefusals.test.ts, crash points in ./runDestinationsCrash.test.ts.
 */
import { expect, test } from "@jest/globals";
import { seededRandom } from "../cli/helpers.js";
import { killLoop, problems } from "./harness.js";
import { atLeastOnceProblems, checkHec, checkSyslog } from "./remoteChecks.js";
import {
  BUCKET,
  checkRemote,
  growRemote,
  REPEATS_PER_KILL,
  type RemoteFixture,
  setupRemote,
  useRemoteFixture,
} from "./remoteFixture.js";

let f: RemoteFixture;
useRemoteFixture((x) => {
  f = x;
});

test("SIGKILLed at random while two accounts' logs grow, then a final run: S3 lake and stream exactly once, syslog and HEC at least once within the bound", async () => {
  growRemote(f);
  const s = setupRemote(f, "kills");
  const sizes = f.accounts.accounts.map((a) => f.accounts.emu.size(a.userId));
  // Odd rounds die after a round stored something (mid-walk, mid-commit, mid-delivery or waiting),
  // even ones at any point from their start (start-up, opens, recoveries, the first commits).
  const loop = await killLoop({
    rounds: 5,
    random: seededRandom(2424),
    minMs: 50,
    maxMs: 700,
    armed: (p, round) => (round % 2 === 1 ? p.waitForLine(/: stored /) : undefined),
    start: () => s.start(),
  });
  expect(loop).toEqual({ killed: 5, ended: [] });
  // The killed runs delivered to every destination of every account (the final run is not doing
  // all the work): each S3 prefix has its state object, syslog and HEC hold entries of each.
  const ids = f.accounts.accounts.map((a) => a.id);
  const states = ids.flatMap((id) => [
    `${s.lakePrefix}/account=${id}/_clarifai_sync.json`,
    `${s.streamPrefix}/account=${id}/_clarifai_audit/stream-${id}.state.json`,
  ]);
  const held = await f.s3.listKeys(BUCKET);
  expect(states.filter((k) => !held.includes(k))).toEqual([]);
  const expected = f.accounts.expected();
  const streams = [...checkSyslog(f.rsyslog, expected), ...checkHec(f.hec, expected)];
  expect(streams.filter((d) => d.held === 0).map((d) => d.where)).toEqual([]);
  f.accounts.stopGrowth();
  // Every log grew while the runs were killed.
  expect(f.accounts.accounts.map((a, i) => f.accounts.emu.size(a.userId) > (sizes[i] as number))).toEqual([
    true,
    true,
  ]);
  const final = await s.start({ once: true }).exit;
  expect({ code: final.code, stderr: final.code === 0 ? "" : final.stderr }).toEqual({ code: 0, stderr: "" });
  const after = await checkRemote(f, s);
  expect(problems(after.exact)).toEqual([]);
  expect(atLeastOnceProblems(after.streams)).toEqual([]);
  // Per destination and account: at most one commit repeated per kill.
  for (const d of after.streams) expect(d.repeats).toBeLessThanOrEqual(loop.killed * REPEATS_PER_KILL);
  // Both accounts, both stream destinations, nothing else.
  expect(after.streams.map((d) => d.where).sort()).toEqual([
    "hec account=prod",
    "hec account=staging",
    "syslog account=prod",
    "syslog account=staging",
  ]);
}, 60_000);
