/**
 * The real `clarifai-audit run --config` process with the URL destinations, killed at each crash
 * point of the S3 lake's commits (packages/client/src/state/crashPoint.ts: s3.*; the stream layout's
 * stream.*, delivery.* and hec.* are in ./runDestinationsStreamCrash.test.ts),
 * one run each while two accounts' logs grow, then a final `run --once`. What the destinations' own crash tests
 * (test/destinations/*Crash.test.ts) do not reach: the collector's per-account prefixes
 * (`PREFIX/account=<id>/`, each with its own state and lock objects) and per-account state files
 * (`STATE_DIR/streams/<destination>/<account>.json`), a crash in one account's store while the
 * other account's and the other destinations' commits are in flight, and recovery of each at the
 * next start. S3 ends exactly once, syslog and HEC at least once within the bound.
 */
import { test } from "@jest/globals";
import { crashStepsThenCheck, type RemoteFixture, useRemoteFixture } from "./remoteFixture.js";

let f: RemoteFixture;
useRemoteFixture((x) => {
  f = x;
});

/**
 * One run killed at each point of the S3 lake, in an order that reaches each: its recovery follows
 * a kill between the commit point and the commit's end (the state object listing files still
 * hidden). `:n` is the n-th arrival (any account), so some kills land in a later commit.
 */
const STEPS = [
  "s3.file-uploaded",
  "s3.state-written",
  "s3.recovered",
  "s3.copied:2",
  "s3.published",
  "s3.hidden-deleted:2",
];

test("killed at each crash point of the S3 lake inside the collector, then a final run: S3 exactly once, syslog and HEC at least once", async () => {
  // s3.digest-staged is a signed lake's: test/signing/lakeCrash.test.ts.
  await crashStepsThenCheck(f, "s3points", STEPS, /^s3\.(?!digest-staged$)/);
}, 120_000);
