/**
 * The Security Lake layout killed (SIGKILL) at every step of a commit and of its recovery (the
 * `stream.*` crash points: the layout commits through the stream layout's protocol), while the log
 * gains late entries: a `sync` run as a program of its own (s3StreamChild.ts, bundled as the CLI's
 * bin is) against the emulator and a real s3rver. After every step no entry is in two Parquet files,
 * and the last run leaves every entry of the log in exactly one.
 */
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { generateEntries } from "../../packages/emulator/src/index.js";
import { isoToNs, tempDir } from "../cli/helpers.js";
import { type AccountsEmulator, compareKeys, spawnBin, startAccounts } from "../collector/harness.js";
import { bundleChild } from "../helpers/bundleChild.js";
import { type S3Server, startS3Server } from "../helpers/s3.js";
import { lakeKeys, readSecurityLake } from "./s3SecurityLakeHelpers.js";
import { crashEveryStreamStep, patchS3rverContinuationTokens, streamState } from "./s3StreamHelpers.js";

const BUCKET = "seclake";
const LAKE = { source: "acme", region: "us-east-1", accountId: "210987654321" } as const;
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
    startAccounts([{ id: "steps", count: 80, growth: false }]),
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

/** A sync run of the log into the layout, a commit every 20 entries over the whole log. */
function start(crashAt?: string) {
  const a = accounts.account("steps");
  const dest = `s3://${BUCKET}/sl?layout=security-lake&account_id=${LAKE.accountId}&region=${LAKE.region}&source=${LAKE.source}`;
  const args = [accounts.endpoint, a.pat, a.userId, dest, "20", String(3650 * 86_400_000), "20"];
  return spawnBin(
    args,
    { ...accounts.env(), ...s3.env },
    { script: program, ...(crashAt !== undefined ? { crashAt } : {}) },
  );
}

/** 30 entries: 10 inside the log's span (late arrivals), 20 after its newest. */
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

async function noRepeats(): Promise<string[]> {
  const keys = lakeKeys(await readSecurityLake(s3, BUCKET, "sl", LAKE));
  expect(compareKeys("sl", "-", keys, keys).duplicated).toEqual([]);
  expect((await streamState(s3, BUCKET, "sl"))?.state.totals.entries ?? 0).toBeLessThanOrEqual(keys.length);
  return keys;
}

it("killed at every step of a commit and of its recovery, the next run goes on: each entry in one Parquet file, at every step", async () => {
  let added = 0;
  await crashEveryStreamStep({
    grow: () => accounts.emu.append(generateLate(++added), accounts.account("steps").userId),
    start: (crashAt) => start(crashAt),
    between: () => noRepeats(),
  });
  const held = await noRepeats();
  expect(compareKeys("sl", "steps", accounts.keys("steps"), held)).toMatchObject({
    missing: [],
    duplicated: [],
    unexpected: [],
  });
  expect((await streamState(s3, BUCKET, "sl"))?.state.totals.entries).toBe(held.length);
}, 120_000);
