/**
 * The real `clarifai-audit run --config` process with the URL destinations, killed at each crash
 * point of the destinations that stream entries (packages/client/src/state/crashPoint.ts: the S3
 * stream layout's stream.*, the delivery core's delivery.*, HEC's hec.*), one run each while two
 * accounts' logs grow, then a final `run --once`: each account's stream under its prefix
 * (`PREFIX/account=<id>/`, its intent adopted after a kill) and each account's state file
 * (`STATE_DIR/streams/<destination>/<account>.json`) resume where they were; the S3 stream and lake
 * hold every entry exactly once, syslog and HEC at least once with the repeats within the bound (and
 * some: a kill between a confirmed delivery and its state file repeats that commit). The S3 lake's
 * points are in ./runDestinationsCrash.test.ts.
 */
import { test } from "@jest/globals";
import { crashStepsThenCheck, type RemoteFixture, useRemoteFixture } from "./remoteFixture.js";

let f: RemoteFixture;
useRemoteFixture((x) => {
  f = x;
});

/**
 * The stream's recovery follows a kill between its intent and its state object. `:n` is the n-th
 * arrival (any account; syslog or HEC for delivery.*), so some kills land in a later commit.
 */
const STEPS = [
  "stream.intent-written",
  "stream.object-written:2",
  "stream.recovered",
  "stream.state-committed:3",
  "hec.batch-sent:2",
  "hec.batch-acked",
  "delivery.sent:3",
  "delivery.state-written:2",
];

test("killed at each crash point of the S3 stream layout, the delivery core and HEC inside the collector, then a final run: S3 exactly once, syslog and HEC at least once within the bound", async () => {
  const repeats = await crashStepsThenCheck(f, "streampoints", STEPS, /^(stream|delivery|hec)\./);
  // delivery.sent and hec.batch-acked die after a confirmed delivery, before its state file: the
  // next run sends that commit again (the bound is not vacuous here).
  if (repeats === 0) throw new Error("no repeat after kills between delivery and state file");
}, 120_000);
