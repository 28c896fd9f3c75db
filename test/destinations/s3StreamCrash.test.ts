/**
 * The S3 stream layout killed (SIGKILL) or failed (ENOSPC) at every step of a commit and of its
 * recovery (the `stream.*` crash points), then killed at random instants while the log grows with
 * late entries: a `sync` run as a program of its own (s3StreamChild.ts, bundled with esbuild as the
 * CLI's bin is) against the emulator and a real s3rver. After every step no entry is in two objects
 * (what an ingester may have read already never repeats), and the last run leaves every entry of the
 * log in exactly one object, with the state's totals counting them.
 */
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { generateEntries } from "../../packages/emulator/src/index.js";
import { isoToNs, seededRandom, tempDir } from "../cli/helpers.js";
import {
  type AccountsEmulator,
  compareKeys,
  killLoop,
  spawnBin,
  startAccounts,
  untilExactlyOnce,
} from "../collector/harness.js";
import { bundleChild } from "../helpers/bundleChild.js";
import { type S3Server, startS3Server } from "../helpers/s3.js";
import {
  crashEveryStreamStep,
  patchS3rverContinuationTokens,
  readStream,
  streamKeys,
  streamState,
} from "./s3StreamHelpers.js";

const BUCKET = "stream";
let tmp: ReturnType<typeof tempDir>;
let program: string;
let s3: S3Server;
let accounts: AccountsEmulator;

beforeAll(async () => {
  patchS3rverContinuationTokens();
  tmp = tempDir();
  [s3, accounts] = await Promise.all([
    startS3Server().then(async (server) => {
      await server.createBucket(BUCKET);
      return server;
    }),
    startAccounts([
      { id: "steps", count: 80, growth: false },
      { id: "random", count: 150 },
    ]),
    bundleChild("test/destinations/s3StreamChild.ts", tmp.dir).then((p) => {
      program = p;
    }),
  ]);
}, 60_000);

afterAll(async () => {
  await accounts?.close();
  await s3?.stop();
  tmp?.cleanup();
});

/**
 * A sync run of `account` into `s3://stream/PREFIX?layout=stream`, a commit every 20 entries; "steps"
 * re-reads its whole log (its late entries are hours old), "random" the last 10 minutes.
 */
function start(account: string, prefix: string, crashAt?: string) {
  const a = accounts.account(account);
  const args = [
    accounts.endpoint,
    a.pat,
    a.userId,
    `s3://${BUCKET}/${prefix}?layout=stream`,
    "20",
    account === "steps" ? String(3650 * 86_400_000) : "600000",
    "20",
  ];
  return spawnBin(
    args,
    { ...accounts.env(), ...s3.env },
    { script: program, ...(crashAt !== undefined ? { crashAt } : {}) },
  );
}

/** 30 entries for the "steps" log: 10 inside its span (late arrivals), 20 after its newest. */
function generateLate(round: number): AuditLogEntry[] {
  const times = accounts
    .lines("steps")
    .map((l) => isoToNs((JSON.parse(l) as { timestamp: string }).timestamp));
  const first = times[0] as bigint;
  const last = times[times.length - 1] as bigint;
  return generateEntries(30, 500 + round).map((e, i) => {
    const ns =
      i < 10
        ? first + ((last - first) * BigInt(i + 1)) / 11n + BigInt(round)
        : last + BigInt(i) * 60_000_000_000n;
    return { ...e, timestamp: { seconds: Number(ns / 1_000_000_000n), nanos: Number(ns % 1_000_000_000n) } };
  });
}

/** The stream's keys, checked: no entry in two objects; the state counts at most what is there. */
async function noRepeats(prefix: string): Promise<string[]> {
  const keys = streamKeys(await readStream(s3, BUCKET, prefix));
  const repeated = compareKeys(prefix, "-", keys, keys).duplicated;
  expect(repeated).toEqual([]);
  expect((await streamState(s3, BUCKET, prefix))?.state.totals.entries ?? 0).toBeLessThanOrEqual(keys.length);
  return keys;
}

it("killed or failed at every step of a commit and of its recovery, the next run goes on: each entry once, at every step", async () => {
  let added = 0;
  await crashEveryStreamStep({
    grow: () => accounts.emu.append(generateLate(++added), accounts.account("steps").userId),
    start: (crashAt) => start("steps", "steps", crashAt),
    between: () => noRepeats("steps"),
  });
  const held = await noRepeats("steps");
  expect(compareKeys("steps", "steps", accounts.keys("steps"), held)).toMatchObject({
    missing: [],
    duplicated: [],
    unexpected: [],
  });
  expect((await streamState(s3, BUCKET, "steps"))?.state.totals.entries).toBe(held.length);
}, 120_000);

it("killed at random instants while the log grows with late entries: each entry once at every step, the whole log at the end", async () => {
  const result = await killLoop({
    rounds: 5,
    random: seededRandom(24),
    start: () => start("random", "random"),
    minMs: 50,
    maxMs: 700,
  });
  expect(result.killed).toBeGreaterThan(0);
  await noRepeats("random");
  accounts.stopGrowth();
  await untilExactlyOnce(async () => {
    const r = await start("random", "random").exit;
    expect(r.code).toBe(0);
    return [compareKeys("random", "random", accounts.keys("random"), await noRepeats("random"))];
  }, 60_000);
}, 120_000);

it("an object under a crashed commit's name that is not the one it wrote is refused in one line, nothing changed; moved away, the next run goes on", async () => {
  const killed = await start("steps", "tampered", "stream.object-written:1").exit;
  expect(killed.signal).toBe("SIGKILL");
  const [written] = (await s3.listKeys(BUCKET, "tampered/")).filter((k) => k.endsWith(".json.gz"));
  expect(written).toBeDefined();
  await s3.writeObject(BUCKET, written as string, "not what the commit wrote");
  const before = await streamState(s3, BUCKET, "tampered");
  const refused = await start("steps", "tampered").exit;
  expect(refused.code).toBe(2);
  expect(refused.stderr).toContain(
    `s3://${BUCKET}/tampered/${(written as string).slice("tampered/".length)} is not the object the last commit wrote`,
  );
  expect(await streamState(s3, BUCKET, "tampered")).toEqual(before);
  await s3.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: written as string }));
  expect((await start("steps", "tampered").exit).code).toBe(0);
  const held = await noRepeats("tampered");
  expect(compareKeys("tampered", "steps", accounts.keys("steps"), held)).toMatchObject({
    missing: [],
    duplicated: [],
    unexpected: [],
  });
}, 60_000);
