/**
 * What the collector's URL-destination tests (runDestinations*.test.ts) share: two accounts whose
 * logs grow with late entries, a real S3-compatible server (s3rver), a real rsyslogd, a Splunk HEC
 * test collector (HTTPS with its own CA, indexer acknowledgement on), and a collector config with an
 * S3 lake, an S3 stream layout of OCSF events, syslog, HEC and a local lake (the reference) holding
 * every account; and one check of them all (S3 exactly once, syslog and HEC at least once with the
 * repeats within a bound).
 */
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, expect } from "@jest/globals";
import { DELIVERY_COMMIT_ENTRIES } from "../../packages/cli/src/sync/delivery/deliveryStore.js";
import { CRASH_POINTS } from "../../packages/client/src/state/crashPoint.js";
import { tempDir } from "../cli/helpers.js";
import { patchS3rverContinuationTokens } from "../destinations/s3StreamHelpers.js";
import { type HecServer, startHecServer } from "../helpers/hecServer.js";
import { type Rsyslog, startRsyslog } from "../helpers/rsyslog.js";
import { type S3Server, startS3Server } from "../helpers/s3.js";
import {
  type AccountsEmulator,
  type BinProcess,
  checkLake,
  crashSteps,
  type DestinationSpec,
  type Discrepancy,
  problems,
  spawnCollector,
  startAccounts,
  writeCollectorConfig,
} from "./harness.js";
import {
  atLeastOnceProblems,
  checkHec,
  checkS3Lake,
  checkS3Stream,
  checkSyslog,
  type Delivered,
} from "./remoteChecks.js";

/** The bucket every setup writes under (a prefix each). */
export const BUCKET = "audit";

/** The variable the configs name as `hec_token_env`. */
export const HEC_TOKEN_VAR = "E2E_HEC_TOKEN";

/** The index the HEC test collector lets the token write (another is refused, HEC code 7). */
export const HEC_INDEX = "main";

/** Growth of an account while a test runs the collector: an entry every 60 ms, late ones among them. */
export const GROWTH = { count: 1, everyMs: 60, lateFraction: 0.3 };

/** Entries per page of the setups (small: many pages, many commits). */
export const PER_PAGE = 40;

/**
 * The documented bound of an at-least-once destination (docs/destinations.md): a SIGKILL repeats at
 * most the entries of one commit per account, fewer than `commitEntries + perPage`.
 */
export const REPEATS_PER_KILL = DELIVERY_COMMIT_ENTRIES + PER_PAGE - 1;

/** The shared servers of one test file. */
export interface RemoteFixture {
  tmp: { dir: string; cleanup: () => void };
  accounts: AccountsEmulator;
  s3: S3Server;
  rsyslog: Rsyslog;
  hec: HecServer;
  /** The environment of a collector: the PATs, the S3 key pair and endpoint, the HEC token. */
  env(extra?: Record<string, string>): Record<string, string>;
  /** Collectors started and not ended yet (SIGKILLed after each test). */
  running: Set<BinProcess>;
  /** Starts `run --config file` (tracked in {@link running}). */
  spawn(file: string, o?: { crashAt?: string; once?: boolean; env?: Record<string, string> }): BinProcess;
}

/** The hooks of a test file: the servers for the file, collectors left running SIGKILLed after each test. */
export function useRemoteFixture(set: (f: RemoteFixture) => void): void {
  let f: RemoteFixture | undefined;
  beforeAll(async () => {
    patchS3rverContinuationTokens();
    const tmp = tempDir();
    const [accounts, s3, rsyslog, hec] = await Promise.all([
      startAccounts([
        // Still until a test calls growRemote(): the logs stay small.
        { id: "prod", count: 120, growth: false },
        { id: "staging", count: 80, growth: false },
      ]),
      startS3Server(),
      startRsyslog(),
      startHecServer({ indexes: [HEC_INDEX] }),
    ]);
    await s3.createBucket(BUCKET);
    const running = new Set<BinProcess>();
    const env = (extra: Record<string, string> = {}) =>
      accounts.env({ ...s3.env, [HEC_TOKEN_VAR]: hec.token, ...extra });
    f = {
      tmp,
      accounts,
      s3,
      rsyslog,
      hec,
      env,
      running,
      spawn(file, o = {}) {
        const p = spawnCollector(file, o.env ?? env(), {
          ...(o.crashAt !== undefined ? { crashAt: o.crashAt } : {}),
          args: o.once ? ["--once"] : [],
        });
        running.add(p);
        void p.exit.finally(() => running.delete(p));
        return p;
      },
    };
    set(f);
  }, 60_000);
  const killRunning = async () => {
    const left = [...(f?.running ?? [])];
    for (const p of left) p.signal("SIGKILL");
    await Promise.all(left.map((p) => p.exit));
  };
  afterEach(killRunning);
  afterAll(async () => {
    await killRunning();
    await Promise.all([f?.accounts.close(), f?.s3.stop(), f?.rsyslog.close(), f?.hec.close()]);
    f?.tmp.cleanup();
  });
}

/** Starts every account's growth (stop it before the final run: the logs are final). */
export function growRemote(f: RemoteFixture): void {
  for (const a of f.accounts.accounts) f.accounts.setGrowth(a.id, GROWTH);
}

/** One collector setup: its folder, config and S3 prefixes. */
export interface RemoteSetup {
  dir: string;
  config: string;
  /** The local lake (the reference). */
  lake: string;
  lakePrefix: string;
  streamPrefix: string;
  start(o?: { crashAt?: string; once?: boolean }): BinProcess;
}

/** The five destinations of a setup named `name` (the S3 prefixes are `<name>-lake`, `<name>-stream`). */
export function remoteDestinations(f: RemoteFixture, name: string): DestinationSpec[] {
  return [
    { id: "local", lake: "./lake" },
    { id: "s3lake", to: `s3://${BUCKET}/${name}-lake` },
    { id: "s3stream", to: `s3://${BUCKET}/${name}-stream?layout=stream`, format: "ocsf" },
    { id: "syslog", to: `syslog://127.0.0.1:${f.rsyslog.port}` },
    {
      id: "hec",
      to: f.hec.url(`index=${HEC_INDEX}&ack=on`),
      ca: f.hec.tls.caPath,
      hecTokenEnv: HEC_TOKEN_VAR,
    },
  ];
}

/** A collector config with {@link remoteDestinations}, fast rounds, every commit at once, small pages. */
export function setupRemote(f: RemoteFixture, name: string): RemoteSetup {
  const dir = join(f.tmp.dir, name);
  const config = writeCollectorConfig(dir, f.accounts, {
    destinations: remoteDestinations(f, name),
    settings: { commit_interval: "0", per_page: PER_PAGE },
  });
  return {
    dir,
    config,
    lake: join(dir, "lake"),
    lakePrefix: `${name}-lake`,
    streamPrefix: `${name}-stream`,
    start: (o = {}) => f.spawn(config, o),
  };
}

/** What {@link checkRemote} found. */
export interface RemoteCheck {
  /** The local lake, the S3 lake and the S3 stream: each must hold each account's entries once. */
  exact: Discrepancy[];
  /** syslog and HEC: each entry at least once, repeats counted. */
  streams: Delivered[];
}

/** Every destination of `setup` against the logs as they are now. */
export async function checkRemote(f: RemoteFixture, setup: RemoteSetup): Promise<RemoteCheck> {
  const expected = f.accounts.expected();
  return {
    exact: [
      ...(await checkLake(setup.lake, expected)),
      ...(await checkS3Lake(f.s3, BUCKET, setup.lakePrefix, expected)),
      ...(await checkS3Stream(f.s3, BUCKET, setup.streamPrefix, expected, "ocsf")),
    ],
    streams: [...checkSyslog(f.rsyslog, expected), ...checkHec(f.hec, expected)],
  };
}

/** A step not killed by its point within this (the point was never reached) is stopped by SIGTERM. */
const WATCHDOG_MS = 15_000;

/**
 * The crash-point test of a setup named `name`: `steps` (`point[:n]`) must name every point of
 * CRASH_POINTS that `kinds` matches (a new point must be added to a test); one run killed at each
 * while the logs grow, then a final `run --once` with the logs final; each step must have died by
 * its point's SIGKILL, and then every destination is checked. Returns the repeats of syslog and HEC.
 */
export async function crashStepsThenCheck(
  f: RemoteFixture,
  name: string,
  steps: readonly string[],
  kinds: RegExp,
): Promise<number> {
  expect([...new Set(steps.map((s) => s.split(":")[0]))].sort()).toEqual(
    CRASH_POINTS.filter((p) => kinds.test(p)).sort(),
  );
  growRemote(f);
  const s = setupRemote(f, name);
  const outcomes = await crashSteps(steps, {
    start: (crashAt) => s.start({ crashAt }),
    final: () => s.start({ once: true }),
    watchdogMs: WATCHDOG_MS,
    afterSteps: () => f.accounts.stopGrowth(),
  });
  // Each step died at its point: a SIGKILL only the point sends (a watchdog's SIGTERM exits 0).
  expect(outcomes.map((o) => [o.crashAt, o.code, o.signal])).toEqual([
    ...steps.map((step) => [step, null, "SIGKILL"]),
    ["", 0, null],
  ]);
  const after = await checkRemote(f, s);
  expect(problems(after.exact)).toEqual([]);
  expect(atLeastOnceProblems(after.streams)).toEqual([]);
  for (const d of after.streams) expect(d.repeats).toBeLessThanOrEqual(steps.length * REPEATS_PER_KILL);
  return after.streams.reduce((n, d) => n + d.repeats, 0);
}
