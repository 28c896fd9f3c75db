/**
 * `sync --sign` (the built bin) killed with SIGKILL at each step of a signed commit and of its
 * recovery (every lake.* and s3.* crash point, `*.digest-staged` included), then at random instants
 * while the log grows with late entries (two commits in flight), on a lake folder and an s3:// lake
 * (s3rver). After each kill the chain is consistent (digests 1..head, the head published or pending
 * under its hidden name, none beyond it); after a final run every entry of the log is in the lake
 * exactly once AND the chain is whole: no gap, no digest beyond the head, no hidden digest left,
 * every file hashed and every root right.
 */
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { DIGESTS_DIR, STATE_FILE } from "../../packages/cli/src/sync/lake/manifest.js";
import { digestName } from "../../packages/client/src/digest/document.js";
import { CRASH_POINTS } from "../../packages/client/src/state/crashPoint.js";
import { seededRandom, tempDir } from "../cli/helpers.js";
import {
  type AccountsEmulator,
  type BinProcess,
  crashChain,
  killLoop,
  spawnBin,
  startAccounts,
} from "../collector/harness.js";
import { type S3Server, startS3Server } from "../helpers/s3.js";
import { checkLakeChain, copyS3Lake, makeKey, type TestKey } from "./lakeChain.js";

let s3: S3Server;
let accounts: AccountsEmulator;
let tmp: ReturnType<typeof tempDir>;
let key: TestKey;

beforeAll(async () => {
  tmp = tempDir();
  [s3, accounts] = await Promise.all([
    startS3Server(),
    startAccounts([
      { id: "local", count: 240, growth: false },
      { id: "remote", count: 240, growth: false },
    ]),
  ]);
  await s3.createBucket("crash");
  key = makeKey(join(tmp.dir, "keys"), "lake.key");
}, 60_000);

afterAll(async () => {
  await accounts?.close();
  await s3?.stop();
  tmp?.cleanup();
});

const FLAGS = [
  "--settle",
  "0s",
  "--reconcile",
  "3650d",
  "--per-page",
  "20",
  "--commit-entries",
  "40",
  "--commit-interval",
  "0",
  "-q",
];

/** One `sync --sign` of `account` into `dest`. */
function sync(account: string, dest: string, crashAt?: string, extra: string[] = []): BinProcess {
  const a = accounts.account(account);
  return spawnBin(
    [
      "sync",
      "--endpoint",
      accounts.endpoint,
      "--insecure",
      "--dest",
      dest,
      "--sign",
      key.path,
      ...FLAGS,
      ...extra,
    ],
    {
      PATH: process.env.PATH ?? "",
      CLARIFAI_PAT: a.pat,
      CLARIFAI_USER_ID: a.userId,
      ...s3.env,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
    crashAt === undefined ? {} : { crashAt },
  );
}

/** The folder an auditor reads: the lake itself, or a fresh copy of the S3 prefix. */
async function folderOf(dest: string): Promise<string> {
  if (!dest.startsWith("s3://")) return dest;
  const prefix = dest.slice("s3://crash/".length);
  const dir = join(tmp.dir, `copy-${prefix}`);
  rmSync(dir, { recursive: true, force: true });
  await copyS3Lake(s3, "crash", prefix, dir);
  return dir;
}

/**
 * After a kill: digests 1..head-1 published, the head published (or, while the state names it
 * pending, under its hidden name), no final digest beyond it; at most the next one staged hidden.
 */
async function expectConsistent(dest: string): Promise<void> {
  const dir = await folderOf(dest);
  if (!existsSync(join(dir, STATE_FILE))) return; // killed before the first commit point
  const state = JSON.parse(readFileSync(join(dir, STATE_FILE), "utf8")) as {
    digest?: { seq: number };
    pendingDigest?: string;
  };
  const head = state.digest?.seq ?? 0;
  expect(head).toBeGreaterThan(0);
  const names = existsSync(join(dir, DIGESTS_DIR)) ? readdirSync(join(dir, DIGESTS_DIR)).sort() : [];
  const finals = names.filter((n) => !n.startsWith("."));
  const hidden = names.filter((n) => n.startsWith("."));
  const headName = digestName(head);
  const headHidden = `.${headName}.tmp`;
  const headPublished = finals.includes(headName);
  expect({
    head,
    published: headPublished || (state.pendingDigest !== undefined && hidden.includes(headHidden)),
  }).toEqual({ head, published: true });
  expect(finals).toEqual(
    Array.from({ length: headPublished ? head : head - 1 }, (_, i) => digestName(i + 1)),
  );
  expect(hidden.filter((n) => n !== headHidden && n !== `.${digestName(head + 1)}.tmp`)).toEqual([]);
}

/** After a final run: the chain whole and every entry of `account`'s log exactly once. */
async function expectWhole(account: string, dest: string): Promise<void> {
  const chain = await checkLakeChain(await folderOf(dest), [key.pub]);
  const log = accounts.lines(account);
  expect(chain.entries.length).toBe(log.length);
  expect(new Set(chain.entries).size).toBe(log.length);
  const want = new Set(log);
  expect(chain.entries.filter((e) => !want.has(e))).toEqual([]);
}

/** A slow growth with late entries: runs stay short, the log still changes under them. */
const GROWTH = { count: 2, everyMs: 100, lateFraction: 0.3 };

describe.each([
  [
    "a lake folder",
    "local",
    "lake.",
    // A kill between the state file and the renames leaves a commit for the next open to finish.
    [
      "lake.staged",
      "lake.file-written",
      "lake.file-synced",
      "lake.digest-staged",
      "lake.state-written",
      "lake.recovered",
      "lake.renamed",
      "lake.published:2",
      "lake.digest-staged:3",
      "lake.state-written:4",
      "lake.renamed:2",
    ],
    // A signed lake is never compacted: those points are never reached.
    [
      "lake.compact-file-synced",
      "lake.compact-state-written",
      "lake.compact-published",
      "lake.obsolete-deleted",
    ],
  ],
  [
    "an s3:// lake",
    "remote",
    "s3.",
    [
      "s3.file-uploaded",
      "s3.digest-staged",
      "s3.state-written",
      "s3.copied",
      "s3.state-written:2",
      "s3.recovered",
      "s3.published:2",
      "s3.hidden-deleted:3",
      "s3.digest-staged:3",
      "s3.copied:3",
    ],
    [],
  ],
])("%s signed", (_what, account, family, steps, unreached) => {
  it("killed at every crash point of a signed commit and its recovery while the log grows, then a final run: exactly once, the chain whole", async () => {
    expect([...new Set([...steps.map((s) => s.split(":")[0]), ...unreached])].sort()).toEqual(
      CRASH_POINTS.filter((p) => p.startsWith(family)).sort(),
    );
    const dest = account === "local" ? join(tmp.dir, "points") : "s3://crash/points";
    accounts.setGrowth(account, GROWTH);
    const outcomes = await crashChain(
      steps,
      (crashAt) => {
        if (crashAt === undefined) accounts.stopGrowth();
        return sync(account, dest, crashAt);
      },
      () => expectConsistent(dest),
    );
    expect(
      outcomes.map((o) => [o.crashAt, o.code, o.signal, o.code === 0 ? "" : o.stderr.slice(-300)]),
    ).toEqual([...steps.map((step) => [step, null, "SIGKILL", ""]), ["", 0, null, ""]]);
    await expectWhole(account, dest);
  }, 150_000);

  it("killed at random instants (two commits in flight) while the log grows, then a final run: exactly once, the chain whole", async () => {
    const dest = account === "local" ? join(tmp.dir, "random") : "s3://crash/random";
    accounts.setGrowth(account, GROWTH);
    const result = await killLoop({
      rounds: 6,
      random: seededRandom(account === "local" ? 20261207 : 20261208),
      start: () => sync(account, dest, undefined, ["--memory", "fast"]),
      minMs: 300,
      maxMs: 1_800,
    });
    expect(result.ended.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    expect(result.killed).toBeGreaterThan(0);
    await expectConsistent(dest);
    accounts.stopGrowth();
    const last = await sync(account, dest, undefined, ["--memory", "fast"]).exit;
    expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });
    await expectWhole(account, dest);
  }, 150_000);
});
