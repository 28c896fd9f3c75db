/**
 * The S3 lake exactly once under SIGKILL: a sync run as a process of its own (s3LakeChild.ts,
 * bundled with esbuild) into a real s3rver, killed at every s3.* crash point of a commit and of the
 * recovery, then at random instants, while the account's log grows with late entries; after each
 * kill what a reader's `*.parquet` glob sees holds no entry twice, and a final run leaves every entry
 * of the log exactly once (in the files the state object lists and in the glob), with no hidden
 * object left.
 */
import { spawn } from "node:child_process";
import { CRASH_POINTS } from "../../packages/client/src/state/crashPoint.js";
import { seededRandom, tempDir } from "../cli/helpers.js";
import {
  type AccountsEmulator,
  type BinProcess,
  crashChain,
  type Exit,
  killLoop,
  startAccounts,
} from "../collector/harness.js";
import { bundleChild } from "../helpers/bundleChild.js";
import { type S3Server, startS3Server } from "../helpers/s3.js";
import { compareOnce, readS3Lake } from "./s3LakeFixtures.js";

let s3: S3Server;
let accounts: AccountsEmulator;
let tmp: ReturnType<typeof tempDir>;
let program: string;

beforeAll(async () => {
  tmp = tempDir();
  [s3, accounts] = await Promise.all([
    startS3Server(),
    startAccounts([{ id: "points", count: 200, growth: false }]),
    bundleChild("test/destinations/s3LakeChild.ts", tmp.dir).then((p) => {
      program = p;
    }),
  ]);
  await s3.createBucket("crash");
}, 60_000);

afterAll(async () => {
  await accounts?.close();
  await s3?.stop();
  tmp?.cleanup();
});

/** One sync run into `url` (a fresh and then a resumed window when it resumes one). */
function runChild(url: string, crashAt?: string): BinProcess {
  const a = accounts.account("points");
  const cfg = {
    endpoint: accounts.endpoint,
    pat: a.pat,
    userId: a.userId,
    url,
    perPage: 20,
    commitEntries: 40,
    settleMs: 20,
  };
  const child = spawn(process.execPath, [program, JSON.stringify(cfg)], {
    env: {
      PATH: process.env.PATH ?? "",
      ...s3.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
      ...(crashAt !== undefined ? { CLARIFAI_AUDIT_CRASH_AT: crashAt } : {}),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let exited = false;
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  const exit = new Promise<Exit>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      exited = true;
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    child,
    pid: child.pid as number,
    lines: [],
    get exited() {
      return exited;
    },
    exit,
    signal: (sig) => {
      if (!exited) child.kill(sig);
    },
    waitForLine: () => Promise.reject(new Error("s3LakeChild prints no progress lines")),
  };
}

/** What readers see of the lake below `prefix` never holds an entry twice, nor one not in the log. */
async function expectNoDuplicateSeen(prefix: string): Promise<void> {
  const lake = await readS3Lake(s3, "crash", prefix).catch(() => undefined);
  if (lake === undefined) return; // no state object yet: killed before the first commit point
  const log = accounts.lines("points");
  expect(compareOnce(lake.globbed, log)).toMatchObject({ extra: 0, repeated: 0 });
  expect(compareOnce(lake.listed, log)).toMatchObject({ extra: 0, repeated: 0 });
}

/** After a final run: every entry of the log exactly once, listed and globbed; nothing hidden left. */
async function expectExactlyOnce(prefix: string): Promise<void> {
  const lake = await readS3Lake(s3, "crash", prefix);
  const log = accounts.lines("points");
  expect(compareOnce(lake.listed, log)).toEqual({ missing: 0, extra: 0, repeated: 0 });
  expect(compareOnce(lake.globbed, log)).toEqual({ missing: 0, extra: 0, repeated: 0 });
  expect(lake.totals).toBe(log.length);
  expect(lake.running).toBe(false);
  expect(
    lake.keys.filter((k) => !/\/(_clarifai_sync\.json|audit_log\/date=[^/]+\/part-[^/]+\.parquet)$/.test(k)),
  ).toEqual([]);
}

/** A slower growth than the harness's default (100 entries/s): runs stay short, the log still grows with late entries. */
const GROWTH = { count: 2, everyMs: 100, lateFraction: 0.3 };

/**
 * One run killed at each point, in an order that reaches each: a kill between the state object and
 * the copies leaves a commit for the next open to finish (s3.recovered, s3.copied on its way).
 */
const STEPS = [
  "s3.file-uploaded",
  "s3.state-written",
  "s3.copied",
  "s3.state-written:2",
  "s3.recovered",
  "s3.published:2",
  "s3.hidden-deleted:3",
  "s3.file-uploaded:4",
  "s3.copied:3",
];

test("killed at every s3.* crash point while the log grows with late entries, then a final run: exactly once", async () => {
  // Every s3.* point the code lists is a step (a signed lake's, s3.digest-staged:
  // test/signing/lakeCrash.test.ts).
  expect([...new Set(STEPS.map((s) => s.split(":")[0]))].sort()).toEqual(
    CRASH_POINTS.filter((p) => p.startsWith("s3.") && p !== "s3.digest-staged").sort(),
  );
  accounts.setGrowth("points", GROWTH);
  const outcomes = await crashChain(
    STEPS,
    (crashAt) => {
      if (crashAt === undefined) accounts.stopGrowth();
      return runChild("s3://crash/points", crashAt);
    },
    () => expectNoDuplicateSeen("points"),
  );
  expect(
    outcomes.map((o) => [o.crashAt, o.code, o.signal, o.code === 0 ? "" : o.stderr.slice(-300)]),
  ).toEqual([...STEPS.map((step) => [step, null, "SIGKILL", ""]), ["", 0, null, ""]]);
  await expectExactlyOnce("points");
}, 120_000);

test("killed at random instants while the log grows with late entries, then a final run: exactly once", async () => {
  accounts.setGrowth("points", GROWTH);
  const result = await killLoop({
    rounds: 6,
    random: seededRandom(20261207),
    start: () => runChild("s3://crash/random"),
    minMs: 150,
    maxMs: 1_200,
  });
  // A run that ended before its kill ended well.
  expect(result.ended.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
  expect(result.killed).toBeGreaterThan(0);
  await expectNoDuplicateSeen("random");
  accounts.stopGrowth();
  const last = await runChild("s3://crash/random").exit;
  expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });
  await expectExactlyOnce("random");
}, 120_000);
