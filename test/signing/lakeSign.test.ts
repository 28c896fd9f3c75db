/**
 * `sync --sign` on a lake folder and an s3:// lake (in process, against the emulator and s3rver):
 * every commit writes one digest listing exactly its new Parquet files (hash, bytes, rows), its
 * leaves the rows' `entry` lines in the order DuckDB reads them back, chained and signed; the tree
 * spans every commit; query still reads the lake; the summary reports the head. Refusals (one line,
 * exit 2, nothing changed) and key changes across runs.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DIGESTS_DIR } from "../../packages/cli/src/sync/lake/manifest.js";
import { digestName } from "../../packages/client/src/digest/document.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { cliEnv, connection, PAT, runMain, snapshot, tempDir, USER } from "../cli/helpers.js";
import { type S3Server, startS3Server } from "../helpers/s3.js";
import { linesOf } from "../sync/syncHelpers.js";
import { checkLakeChain, copyS3Lake, makeKey, type TestKey } from "./lakeChain.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let s3: S3Server;
let conn: string[];
let keyA: TestKey;
let keyB: TestKey;

// Across a midnight (UTC): a commit there writes a file per date.
const ENTRIES = generateEntries(700, 77, { startSeconds: 1_735_689_600 - 5_000 });

beforeAll(async () => {
  tmp = tempDir();
  [emu, s3] = await Promise.all([
    startEmulator({ pats: { [PAT]: USER }, entries: ENTRIES, restPort: false }),
    startS3Server(),
  ]);
  await s3.createBucket("signed");
  conn = connection(emu.grpcAddress);
  keyA = makeKey(join(tmp.dir, "keys"), "a.key");
  keyB = makeKey(join(tmp.dir, "keys"), "b.key");
}, 60_000);
afterAll(async () => {
  await emu?.close();
  await s3?.stop();
  tmp?.cleanup();
});

/** Small commits: several digests, files of several dates each. */
const FLAGS = [
  "--settle",
  "0s",
  "--reconcile",
  "3650d",
  "--per-page",
  "50",
  "--commit-entries",
  "120",
  "--commit-interval",
  "0",
];

function env(): NodeJS.ProcessEnv {
  return { ...cliEnv(), ...s3.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };
}

function sync(dest: string, ...extra: string[]) {
  return runMain(["sync", ...conn, "--dest", dest, ...FLAGS, ...extra], env());
}

function jsonSummary(stderr: string): Record<string, unknown> {
  const last = stderr.trim().split("\n").pop() as string;
  return JSON.parse(last) as Record<string, unknown>;
}

const expected = () => new Set(linesOf(ENTRIES));

describe.each([
  ["a lake folder", false],
  ["an s3:// lake", true],
])("%s signed", (_what, onS3) => {
  it("writes one digest per commit: its files, hashes, rows and leaves in DuckDB's row order, chained and signed; query reads it", async () => {
    const name = onS3 ? "s3-basic" : "basic";
    const dest = onS3 ? `s3://signed/${name}` : join(tmp.dir, name);
    const r = await sync(dest, "--sign", keyA.path, "--json");
    expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
    const dir = onS3 ? join(tmp.dir, `${name}-copy`) : dest;
    if (onS3) await copyS3Lake(s3, "signed", name, dir);
    const chain = await checkLakeChain(dir, [keyA.pub]);
    // Several commits, each with its files; every entry once.
    expect(chain.digests.length).toBeGreaterThan(3);
    expect(chain.digests.some((d) => d.digest.files.length > 1)).toBe(true);
    expect(chain.entries.length).toBe(ENTRIES.length);
    expect(new Set(chain.entries)).toEqual(expected());
    for (const d of chain.digests) {
      expect(d.digest.keyIds).toEqual([keyA.keyId]);
      expect(d.digest.identity).toMatchObject({ userId: USER });
    }
    // A digest of a commit inside the run carries the pinned window.
    expect(chain.digests[0]?.digest.window).toBeDefined();
    // The summary reports the head, in words and in --json.
    expect(r.stderr).toContain(`signed, digest head ${chain.head.seq} sha256 ${chain.head.hash}`);
    expect(jsonSummary(r.stderr).digest).toEqual(chain.head);
    if (!onS3) {
      const q = await runMain([
        "query",
        "--lake",
        dest,
        "SELECT count(*) AS n FROM audit_log",
        "--format",
        "json",
      ]);
      expect(q.code).toBe(0);
      expect(JSON.parse(q.stdout)).toEqual([{ n: ENTRIES.length }]);
    }
    // A second run (nothing new: it re-reads the reconcile window) adds digests of no entries, chained to the head.
    const again = await sync(dest, "--sign", keyA.path, "-q");
    expect(again.code).toBe(0);
    if (onS3) await copyS3Lake(s3, "signed", name, dir);
    const next = await checkLakeChain(dir, [keyA.pub]);
    expect(next.head.seq).toBeGreaterThan(chain.head.seq);
    expect(next.digests.slice(chain.head.seq).map((d) => d.digest.entries)).toEqual(
      new Array(next.head.seq - chain.head.seq).fill(0),
    );
    expect(next.digests[chain.head.seq - 1]?.digest).toEqual(chain.digests.at(-1)?.digest);
  }, 60_000);

  it("an open deletes a hidden digest the state does not list and a final one beyond the head", async () => {
    const name = onS3 ? "s3-stray" : "stray";
    const dest = onS3 ? `s3://signed/${name}` : join(tmp.dir, name);
    const dir = onS3 ? join(tmp.dir, `${name}-copy`) : dest;
    expect((await sync(dest, "--sign", keyA.path, "-q")).code).toBe(0);
    if (onS3) await copyS3Lake(s3, "signed", name, dir);
    const before = await checkLakeChain(dir, [keyA.pub]);
    // What a crashed commit could leave: its digest staged, and (never in this protocol, but an
    // open cleans it all the same) one published beyond the head.
    const stray = [
      `.${digestName(before.head.seq + 1)}.tmp`,
      digestName(before.head.seq + 2),
      `.${digestName(1)}.tmp`,
    ];
    for (const n of stray)
      if (onS3) await s3.writeObject("signed", `${name}/${DIGESTS_DIR}/${n}`, "{}");
      else writeFileSync(join(dest, DIGESTS_DIR, n), "{}");
    expect((await sync(dest, "--sign", keyA.path, "-q")).code).toBe(0);
    if (onS3) {
      rmSync(dir, { recursive: true, force: true });
      await copyS3Lake(s3, "signed", name, dir);
    }
    const after = await checkLakeChain(dir, [keyA.pub]);
    expect(after.head.seq).toBeGreaterThan(before.head.seq);
    expect(after.digests[before.head.seq - 1]?.digest).toEqual(before.digests.at(-1)?.digest);
  }, 60_000);

  it("changes keys across runs: A, then A and B, then B; B alone on an A-only head is refused", async () => {
    const name = onS3 ? "s3-rotate" : "rotate";
    const dest = onS3 ? `s3://signed/${name}` : join(tmp.dir, name);
    const dir = onS3 ? join(tmp.dir, `${name}-copy`) : dest;
    expect((await sync(dest, "--sign", keyA.path, "-q")).code).toBe(0);
    const refused = await sync(dest, "--sign", keyB.path, "-q");
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(
      new RegExp(
        `^clarifai-audit: error: --sign: the chain's newest digest \\(\\d{12}\\.json\\) is signed by key ${keyA.keyId}, not by ${keyB.keyId}; to change keys, sign one run with both the old and the new key\\n$`,
      ),
    );
    expect((await sync(dest, "--sign", keyA.path, "--sign", keyB.path, "-q")).code).toBe(0);
    expect((await sync(dest, "--sign", keyB.path, "-q")).code).toBe(0);
    if (onS3) await copyS3Lake(s3, "signed", name, dir);
    const chain = await checkLakeChain(dir, [keyA.pub, keyB.pub]);
    expect(
      chain.digests.map((d) => d.digest.keyIds.join("+")).filter((k, i, a) => a.indexOf(k) === i),
    ).toEqual([keyA.keyId, `${keyA.keyId}+${keyB.keyId}`, keyB.keyId]);
    expect(new Set(chain.entries)).toEqual(expected());
  }, 60_000);
});

describe("refusals: one line, exit 2, nothing changed", () => {
  let unsigned: string;
  let signed: string;
  beforeAll(async () => {
    unsigned = join(tmp.dir, "unsigned");
    signed = join(tmp.dir, "signed");
    expect((await sync(unsigned, "-q")).code).toBe(0);
    expect((await sync(signed, "--sign", keyA.path, "-q")).code).toBe(0);
  }, 60_000);

  async function refused(args: string[], line: string | RegExp, dir?: string): Promise<void> {
    const before = dir === undefined ? "" : snapshot(dir);
    const calls = emu.calls;
    const r = await runMain(args, env());
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
    if (typeof line === "string") expect(r.stderr).toBe(`clarifai-audit: error: ${line}\n`);
    else expect(r.stderr).toMatch(line);
    if (dir !== undefined) expect(snapshot(dir)).toBe(before);
    // Before any request.
    expect(emu.calls).toBe(calls);
  }

  it("--sign on a lake holding unsigned commits", async () => {
    await refused(
      ["sync", ...conn, "--dest", unsigned, ...FLAGS, "--sign", keyA.path],
      `--sign: ${unsigned} holds unsigned commits; a signed lake starts empty (sign a new folder or prefix); nothing was changed`,
      unsigned,
    );
  });
  it("a signed lake synced without --sign", async () => {
    await refused(
      ["sync", ...conn, "--dest", signed, ...FLAGS],
      /^clarifai-audit: error: --sign: .* is a signed lake \(its newest digest is _clarifai_digests\/\d{12}\.json\): every commit to it is signed; name its key with --sign\n$/,
      signed,
    );
  });
  it("a key that did not sign the head", async () => {
    await refused(
      ["sync", ...conn, "--dest", signed, ...FLAGS, "--sign", keyB.path],
      /^clarifai-audit: error: --sign: the chain's newest digest .* is signed by key /,
      signed,
    );
  });
  it("--sign with PostgreSQL, an S3 stream, syslog or Splunk HEC", async () => {
    for (const dest of [
      "postgres://u@127.0.0.1:1/db",
      "s3://signed/stream?layout=stream",
      "syslog://127.0.0.1:1",
      "splunk+https://127.0.0.1:1",
    ])
      await refused(
        [
          "sync",
          ...conn,
          "--dest",
          dest,
          ...FLAGS,
          "--sign",
          keyA.path,
          ...(dest.startsWith("s") && !dest.startsWith("s3")
            ? ["--checkpoint", join(tmp.dir, "cp.json")]
            : []),
        ],
        "--sign: signed commits are for a lake (a folder, or s3://… with the lake layout); PostgreSQL, an S3 stream, syslog and Splunk HEC are not signed",
      );
  });
  it("--tsa without --sign", async () => {
    await refused(
      ["sync", ...conn, "--dest", join(tmp.dir, "no-tsa"), ...FLAGS, "--tsa", "http://127.0.0.1:1/tsr"],
      "--tsa: time-stamps go on digests: give --sign KEY too",
    );
    expect(readdirSync(tmp.dir)).not.toContain("no-tsa");
  });
  it("a private key others can read", async () => {
    const loose = makeKey(join(tmp.dir, "keys"), "loose.key");
    const { chmodSync } = await import("node:fs");
    chmodSync(loose.path, 0o644);
    await refused(
      ["sync", ...conn, "--dest", join(tmp.dir, "loose"), ...FLAGS, "--sign", loose.path],
      /^clarifai-audit: error: --sign: .*loose\.key is readable by its group \(mode 0644\)/,
    );
    void readFileSync;
  });
});
