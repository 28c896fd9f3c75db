/**
 * `export --sign` (docs/verifiable-logs.md, export layout), in-process against the emulator on
 * loopback: a digest per commit in FILE.digests/ whose chain, signatures, byte ranges, Merkle roots
 * and tree check out for jsonl, json, ocsf and gzip; the summary reports the head; and the refusals
 * (csv, stdout, --tsa without --sign, a private key others can read, an existing digests folder
 * without --force) are one line, exit 2, with nothing written.
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import type { LeafFormat } from "../../packages/client/src/digest/leaves.js";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import { connection, PAT, runMain, snapshot, tempDir, USER } from "../cli/helpers.js";
import { checkExportDigests, exportBytes, type TestKey, verified, writeKey } from "./exportDigests.js";

const TOTAL = 2_400;
let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let key: TestKey;

beforeAll(async () => {
  tmp = tempDir();
  key = writeKey(join(tmp.dir, "a.key"));
  emu = await startEmulator({ pats: { [PAT]: USER }, generate: { count: TOTAL, seed: 41 }, restPort: false });
});
afterAll(async () => {
  await emu.close();
  tmp.cleanup();
});

const env = { CLARIFAI_PAT: PAT, CLARIFAI_USER_ID: USER };
const args = (out: string, extra: string[] = []) => [
  "export",
  ...connection(emu.grpcAddress),
  "--out",
  out,
  "--per-page",
  "300",
  "--commit-interval",
  "0",
  "--settle",
  "0",
  ...extra,
];

/** A fresh folder for one test's files. */
function folder(name: string): string {
  const dir = join(tmp.dir, name);
  mkdirSync(dir);
  return dir;
}

describe("a signed export", () => {
  it.each<[string, LeafFormat]>([
    ["out.jsonl", "jsonl"],
    ["out.json", "json"],
    ["out.ocsf.jsonl", "ocsf"],
    ["out.jsonl.gz", "jsonl"],
    ["out.json.gz", "json"],
  ])("%s: a digest per commit; chain, signatures, ranges, roots and tree check out", async (name, format) => {
    const out = join(folder(name.replace(/\./g, "-")), name);
    const r = await runMain(args(out, ["--sign", key.path, "--quiet", "--json"]), env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
    const summary = JSON.parse(r.stderr) as { entries: number; digest: { seq: number; hash: string } };
    expect(summary.entries).toBe(TOTAL);
    const checked = await checkExportDigests(out, format, exportBytes(out), [key.verifying]);
    expect(checked.entries).toBe(TOTAL);
    expect(summary.digest).toEqual(checked.head);
    const report = await verified(out, [key.verifying]);
    expect(report).toMatchObject({
      entries: TOTAL,
      digests: checked.digests.length,
      head: checked.head,
      complete: true,
    });
    // The start commit, one per page at --commit-interval 0, the final one with the footer.
    expect(checked.digests.length).toBeGreaterThanOrEqual(TOTAL / 300 + 2);
    expect(checked.digests.map((d) => d.digest.complete ?? false).filter(Boolean)).toHaveLength(1);
    expect(checked.digests.at(-1)?.digest.complete).toBe(true);
    for (const d of checked.digests) {
      expect(d.digest.keyIds).toEqual([key.verifying.keyId]);
      expect(d.digest.window).toEqual({ from: expect.any(String), to: expect.any(String) });
      expect(d.digest.identity).toMatchObject({ format, userId: USER, gzip: name.endsWith(".gz") });
    }
    expect(existsSync(`${out}.manifest.json`)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it("the human summary names the head digest", async () => {
    const out = join(folder("human"), "h.jsonl");
    const r = await runMain(args(out, ["--sign", key.path]), env);
    expect(r.code).toBe(0);
    const checked = await checkExportDigests(out, "jsonl", exportBytes(out), [key.verifying]);
    expect(r.stderr).toContain(`signed: digest ${checked.head.seq}, head ${checked.head.hash}`);
  });

  it("an unsigned export writes no digests folder and its summary names none", async () => {
    const out = join(folder("unsigned"), "u.jsonl");
    const r = await runMain(args(out, ["--quiet", "--json"]), env);
    expect(r.code).toBe(0);
    expect(existsSync(`${out}.digests`)).toBe(false);
    expect(JSON.parse(r.stderr)).not.toHaveProperty("digest");
  });
});

describe("refusals: one line, exit 2, nothing written", () => {
  async function refused(dir: string, argv: string[], message: RegExp): Promise<void> {
    const before = snapshot(dir);
    const r = await runMain(argv, env);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: expect.stringMatching(message) });
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(snapshot(dir)).toBe(before);
  }

  it("--sign with csv", async () => {
    const dir = folder("csv");
    await refused(
      dir,
      args(join(dir, "x.csv"), ["--sign", key.path]),
      /^clarifai-audit: error: --sign: a csv export cannot be signed .*; export jsonl, json or ocsf\n$/,
    );
  });

  it("--sign with --out -", async () => {
    const dir = folder("stdout");
    await refused(
      dir,
      args("-", ["--sign", key.path]),
      /^clarifai-audit: error: --sign: --out - writes to stdout/,
    );
  });

  it("--tsa without --sign", async () => {
    const dir = folder("tsa");
    await refused(
      dir,
      args(join(dir, "x.jsonl"), ["--tsa", "http://127.0.0.1:9/tsa"]),
      /^clarifai-audit: error: --tsa: needs --sign/,
    );
  });

  it("a private key others can read (mode 0644), a missing key, a public key", async () => {
    const dir = folder("modes");
    const open = writeKey(join(dir, "open.key"), 0o644);
    chmodSync(open.path, 0o644);
    await refused(
      dir,
      args(join(dir, "x.jsonl"), ["--sign", open.path]),
      /^clarifai-audit: error: --sign: \S+open\.key is readable by its group \(mode 0644\): a private key must be mode 0600/,
    );
    await refused(
      dir,
      args(join(dir, "x.jsonl"), ["--sign", join(dir, "none.key")]),
      /^clarifai-audit: error: --sign: \S+none\.key does not exist/,
    );
    const pub = join(dir, "a.key.pub");
    writeFileSync(pub, key.verifying.publicKey.export({ type: "spki", format: "pem" }) as string, {
      mode: 0o600,
    });
    await refused(
      dir,
      args(join(dir, "x.jsonl"), ["--sign", pub]),
      /^clarifai-audit: error: --sign: \S+a\.key\.pub is not a private key in PEM/,
    );
  });

  it("an existing digests folder without --force; --force empties it of digest files only", async () => {
    const dir = folder("existing");
    const out = join(dir, "x.jsonl");
    expect((await runMain(args(out, ["--sign", key.path, "--quiet"]), env)).code).toBe(0);
    const other = join(`${out}.digests`, "notes.txt");
    writeFileSync(other, "kept\n");
    // The file moved away, its digests left behind: a new export would sit beside digests of another.
    renameSync(out, join(dir, "moved.jsonl"));
    await refused(
      dir,
      args(out, ["--sign", key.path]),
      /^clarifai-audit: error: \S+x\.jsonl\.digests already holds the digests of an export of \S+; pass --force to discard them and start over\n$/,
    );
    // An unsigned export would leave them describing a file that is not there either.
    await refused(dir, args(out), /already holds the digests/);
    const r = await runMain(args(out, ["--sign", key.path, "--force", "--quiet"]), env);
    expect(r.code).toBe(0);
    expect(readdirSync(`${out}.digests`)).toContain("notes.txt");
    const checked = await checkExportDigests(out, "jsonl", exportBytes(out), [key.verifying]);
    expect(checked.entries).toBe(TOTAL);
  });

  it("a digests path that is a file or a symbolic link, even with --force", async () => {
    const dir = folder("notfolder");
    const out = join(dir, "x.jsonl");
    writeFileSync(`${out}.digests`, "not a folder\n");
    await refused(
      dir,
      args(out, ["--sign", key.path, "--force"]),
      /^clarifai-audit: error: \S+x\.jsonl\.digests is not a folder; the digests of an export live in a folder of that name \(move it away\)\n$/,
    );
    const linked = join(dir, "y.jsonl");
    mkdirSync(join(dir, "elsewhere"));
    writeFileSync(join(dir, "elsewhere", "000000000001.json"), "{}\n");
    symlinkSync(join(dir, "elsewhere"), `${linked}.digests`);
    await refused(dir, args(linked, ["--sign", key.path, "--force"]), /y\.jsonl\.digests is a symbolic link/);
  });
});
