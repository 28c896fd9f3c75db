/**
 * verifyLog on signed exports (test/signing/fixtures.ts writes them as export --sign does): a whole
 * export verifies, and each way of tampering with it is found and named (kind, file, line, digest).
 */
import { readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import {
  type DigestDocument,
  digestBytes,
  digestHash,
  serializeDigest,
} from "@clarifai-audit/client/internal/digest/document.js";
import { signDigest } from "@clarifai-audit/client/internal/digest/keys.js";
import { type VerifyReport, verifyLog } from "../../packages/cli/src/verify/index.js";
import { makeKey, type SignedLog, type TestKey, tempDir, writeSignedExport } from "./fixtures.js";

let tmp: { dir: string; cleanup: () => void };
let k1: TestKey;
let k2: TestKey;
let n = 0;

beforeAll(async () => {
  tmp = tempDir();
  k1 = await makeKey(tmp.dir, "k1.pem");
  k2 = await makeKey(tmp.dir, "k2.pem");
});
afterAll(() => tmp.cleanup());

async function exportOf(options: Partial<Parameters<typeof writeSignedExport>[2]> = {}): Promise<SignedLog> {
  n++;
  return await writeSignedExport(tmp.dir, `out${n}.jsonl`, { keys: () => [k1.signing], ...options });
}

function lines(path: string): string[] {
  return readFileSync(path, "utf8").split("\n");
}

function problemOf(r: VerifyReport): unknown {
  return r.problem === undefined
    ? "verified"
    : { kind: r.problem.kind, entry: r.problem.entry, digest: r.problem.digest, file: r.problem.file };
}

const digestN = (s: number) => `${String(s).padStart(12, "0")}.json`;

function readDigest(log: SignedLog, seq: number): DigestDocument {
  return JSON.parse(readFileSync(join(log.digests, digestN(seq)), "utf8")) as DigestDocument;
}

test("a whole export verifies, with its counts, head and keys", async () => {
  const log = await exportOf();
  const r = await verifyLog(log.path, { keys: [k1.verifying] });
  expect(r.problem).toBeUndefined();
  expect(r).toMatchObject({
    log: "export",
    verified: true,
    digests: 5,
    files: 1,
    entries: 9,
    bytes: readFileSync(log.path).length,
    head: { seq: 5, hash: log.hashes[4] },
    keyIds: [k1.verifying.keyId],
    complete: true,
  });
});

test("a JSON array export and a gzipped one verify", async () => {
  const json = await exportOf({ format: "json", batches: [2, 1, 3] });
  expect((await verifyLog(json.path, { keys: [k1.verifying] })).problem).toBeUndefined();
  const gz = await exportOf({ gzip: true });
  const r = await verifyLog(gz.path, { keys: [k1.verifying] });
  expect(r.problem).toBeUndefined();
  expect(r.bytes).toBe(gunzipSync(readFileSync(gz.path)).length);
});

describe("a changed file is found and its entry named", () => {
  // Batches [3, 4, 2]: digest 2 holds lines 1-3, digest 3 lines 4-7, digest 4 lines 8-9.
  test.each([
    [
      "changed",
      (l: string[]) => l.splice(4, 1, (l[4] as string).replace("entry 4", "entry X")),
      "entry-changed",
      5,
      3,
    ],
    [
      "inserted",
      (l: string[]) => l.splice(5, 0, (l[0] as string).replace("req-0", "req-new")),
      "entry-inserted",
      6,
      3,
    ],
    ["deleted", (l: string[]) => l.splice(4, 1), "entry-deleted", 5, 3],
    ["reordered", (l: string[]) => l.splice(4, 2, l[5] as string, l[4] as string), "entry-reordered", 5, 3],
    ["changed in the last batch", (l: string[]) => l.splice(8, 1, "{}"), "entry-changed", 9, 4],
  ])("entry %s", async (_, edit, kind, line, seq) => {
    const log = await exportOf();
    const l = lines(log.path);
    edit(l);
    writeFileSync(log.path, l.join("\n"));
    const r = await verifyLog(log.path, { keys: [k1.verifying] });
    expect(problemOf(r)).toEqual({ kind, entry: line, digest: digestN(seq), file: log.path });
    expect(r.problem?.message).toContain(`${log.path} line ${line}:`);
    expect(r.verified).toBe(false);
  });

  test("an entry changed inside a JSON array and inside a gzipped export", async () => {
    const json = await exportOf({ format: "json", batches: [2, 2] });
    writeFileSync(json.path, readFileSync(json.path, "utf8").replace("entry 2", "entry 9"));
    expect(problemOf(await verifyLog(json.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "entry-changed",
      entry: 4,
      digest: digestN(3),
    });
    const gz = await exportOf({ gzip: true });
    const text = gunzipSync(readFileSync(gz.path)).toString("utf8").replace("entry 7", "entry 0");
    writeFileSync(gz.path, gzipSync(text));
    expect(problemOf(await verifyLog(gz.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "entry-changed",
      entry: 8,
      digest: digestN(4),
    });
  });

  test("truncated: the file ends before its last commit's bytes", async () => {
    const log = await exportOf();
    const l = lines(log.path);
    writeFileSync(log.path, `${l.slice(0, 7).join("\n")}\n`);
    const r = await verifyLog(log.path, { keys: [k1.verifying] });
    expect(problemOf(r)).toEqual({ kind: "file-truncated", entry: 8, digest: digestN(4), file: log.path });
    // Cut inside a line: that line is the first one missing.
    writeFileSync(log.path, `${l.slice(0, 7).join("\n")}\n${(l[7] as string).slice(0, 20)}`);
    expect(problemOf(await verifyLog(log.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "file-truncated",
      entry: 8,
    });
    // A gzip stream cut short.
    const gz = await exportOf({ gzip: true });
    const bytes = readFileSync(gz.path);
    writeFileSync(gz.path, bytes.subarray(0, bytes.length - 30));
    expect(problemOf(await verifyLog(gz.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "file-truncated",
    });
  });

  test("extended: bytes after the last commit", async () => {
    const log = await exportOf();
    writeFileSync(log.path, `${readFileSync(log.path, "utf8")}{"appended":true}\n`);
    const r = await verifyLog(log.path, { keys: [k1.verifying] });
    expect(problemOf(r)).toEqual({ kind: "file-extended", entry: 10, digest: digestN(5), file: log.path });
  });

  test("missing: the file is gone", async () => {
    const log = await exportOf();
    unlinkSync(log.path);
    expect(problemOf(await verifyLog(log.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "file-missing",
      file: log.path,
    });
  });

  test("replaced: other bytes with the same entries (a blank line between two)", async () => {
    const log = await exportOf();
    const l = lines(log.path);
    l.splice(4, 0, "");
    writeFileSync(log.path, l.join("\n"));
    expect(problemOf(await verifyLog(log.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "file-replaced",
      digest: digestN(3),
    });
  });
});

describe("the digests", () => {
  test.each([
    ["one", [3], "000000000003.json"],
    ["two in a row", [2, 3], "000000000002.json and 000000000003.json"],
    ["the first", [1], "000000000001.json"],
  ])("a digest missing (%s) is named", async (_, seqs, named) => {
    const log = await exportOf();
    for (const s of seqs) unlinkSync(join(log.digests, digestN(s)));
    const r = await verifyLog(log.path, { keys: [k1.verifying] });
    expect(r.problem?.kind).toBe("digest-missing");
    expect(r.problem?.digest).toBe(digestN(seqs[0] as number));
    expect(r.problem?.message).toContain(`${named} ${seqs.length === 1 ? "is" : "are"} missing`);
  });

  test("no digests: not signed", async () => {
    const log = await exportOf();
    rmSync(log.digests, { recursive: true });
    expect((await verifyLog(log.path, { keys: [k1.verifying] })).problem?.kind).toBe("not-signed");
  });

  test("a file of another name in the digests folder", async () => {
    const log = await exportOf();
    writeFileSync(join(log.digests, "notes.txt"), "x");
    expect(problemOf(await verifyLog(log.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "digest-invalid",
      digest: "notes.txt",
    });
  });

  test("an edited digest: its signature no longer matches", async () => {
    const log = await exportOf();
    const doc = readDigest(log, 3);
    doc.digest.cursor = { committed: 99 };
    writeFileSync(join(log.digests, digestN(3)), serializeDigest(doc));
    expect(problemOf(await verifyLog(log.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "signature-invalid",
      digest: digestN(3),
    });
  });

  test("a digest that is not a digest document", async () => {
    const log = await exportOf();
    writeFileSync(join(log.digests, digestN(2)), "{}");
    expect(problemOf(await verifyLog(log.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "digest-invalid",
      digest: digestN(2),
    });
  });

  test("a broken chain: a digest re-signed with another previous hash", async () => {
    const log = await exportOf();
    const doc = readDigest(log, 4);
    doc.digest.previous = { sha256: "0".repeat(64), signatures: doc.digest.previous?.signatures ?? [] };
    doc.signatures = signDigest(doc.digest, [k1.signing]);
    writeFileSync(join(log.digests, digestN(4)), serializeDigest(doc));
    expect(problemOf(await verifyLog(log.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "chain-broken",
      digest: digestN(4),
    });
  });

  test("a digest swapped for one of another export: chain broken", async () => {
    const a = await exportOf();
    const b = await exportOf();
    renameSync(join(b.digests, digestN(3)), join(a.digests, digestN(3)));
    expect(problemOf(await verifyLog(a.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "chain-broken",
    });
  });

  test("an unknown key, and a wrong one", async () => {
    const log = await exportOf();
    const r = await verifyLog(log.path, { keys: [k2.verifying] });
    expect(problemOf(r)).toMatchObject({ kind: "key-unknown", digest: digestN(1) });
    expect(r.problem?.message).toContain(k1.verifying.keyId);
    // A signature under the right key id made by another key.
    const doc = readDigest(log, 2);
    const forged = signDigest(doc.digest, [k2.signing])[0];
    doc.signatures = [{ ...(forged as (typeof doc.signatures)[0]), keyId: k1.verifying.keyId }];
    writeFileSync(join(log.digests, digestN(2)), serializeDigest(doc));
    expect(problemOf(await verifyLog(log.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "signature-invalid",
      digest: digestN(2),
    });
  });

  test("key rotation: a digest signed by both keys carries the chain over", async () => {
    const rotated = (c: number) => (c < 2 ? [k1.signing] : c === 2 ? [k1.signing, k2.signing] : [k2.signing]);
    const log = await exportOf({ keys: rotated });
    const r = await verifyLog(log.path, { keys: [k1.verifying, k2.verifying] });
    expect(r.problem).toBeUndefined();
    expect(r.keyIds).toEqual([k1.verifying.keyId, k2.verifying.keyId]);
    // Only the new key: the digests before the change are signed by a key not given.
    expect(problemOf(await verifyLog(log.path, { keys: [k2.verifying] }))).toMatchObject({
      kind: "key-unknown",
      digest: digestN(1),
    });
    const abrupt = await exportOf({ keys: (c) => (c < 2 ? [k1.signing] : [k2.signing]) });
    expect(problemOf(await verifyLog(abrupt.path, { keys: [k1.verifying, k2.verifying] }))).toMatchObject({
      kind: "key-change-unsigned",
      digest: digestN(3),
    });
  });

  test("the identity may not change along the chain", async () => {
    const log = await exportOf({ identity: (c) => ({ userId: c < 3 ? "a" : "b" }) });
    expect(problemOf(await verifyLog(log.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "identity-changed",
      digest: digestN(4),
    });
  });

  test("--expect-head: found (and which digest), not found once the newest digest is dropped", async () => {
    const log = await exportOf();
    const older = await verifyLog(log.path, { keys: [k1.verifying], expectHead: log.hashes[2] as string });
    expect(older.expectedHead).toEqual({ seq: 3, hash: log.hashes[2], newest: false });
    expect(older.verified).toBe(true);
    const newest = log.hashes[4] as string;
    expect(
      (await verifyLog(log.path, { keys: [k1.verifying], expectHead: newest.toUpperCase() })).expectedHead,
    ).toEqual({
      seq: 5,
      hash: newest,
      newest: true,
    });
    unlinkSync(join(log.digests, digestN(5)));
    const r = await verifyLog(log.path, { keys: [k1.verifying], expectHead: newest });
    expect(problemOf(r)).toMatchObject({ kind: "head-not-found" });
    // Without it, dropping the newest (empty) digest of a JSON Lines export goes unseen: that is
    // what --expect-head is for.
    expect((await verifyLog(log.path, { keys: [k1.verifying] })).verified).toBe(true);
  });

  test("the newest digest dropped from a JSON array export: its footer is past the signed bytes", async () => {
    const log = await exportOf({ format: "json" });
    unlinkSync(join(log.digests, digestN(5)));
    expect(problemOf(await verifyLog(log.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "file-extended",
      digest: digestN(4),
    });
  });

  test("a digest whose root does not match its entries (re-signed) is invalid", async () => {
    const log = await exportOf();
    const doc = readDigest(log, 2);
    doc.digest.root = "1".repeat(64);
    doc.signatures = signDigest(doc.digest, [k1.signing]);
    writeFileSync(join(log.digests, digestN(2)), serializeDigest(doc));
    // The next digest's link now names the old hash: the chain breaks there first.
    const r = await verifyLog(log.path, { keys: [k1.verifying] });
    expect(problemOf(r)).toMatchObject({ kind: "chain-broken", digest: digestN(3) });
    expect(digestHash(doc.digest)).not.toBe(log.hashes[1]);
    expect(digestBytes(doc.digest).length).toBeGreaterThan(0);
  });
});

describe("unfinished exports and time-stamps", () => {
  test("an interrupted export: PATH.partial is read, bytes after its newest digest are not committed yet", async () => {
    const log = await exportOf({ unfinished: true });
    renameSync(log.path, `${log.path}.partial`);
    writeFileSync(`${log.path}.partial`, `${readFileSync(`${log.path}.partial`, "utf8")}{"uncommitted":1}\n`);
    const r = await verifyLog(log.path, { keys: [k1.verifying] });
    expect(r.problem).toBeUndefined();
    expect(r).toMatchObject({ verified: true, complete: false, digests: 4, entries: 9 });
    // Its committed bytes are checked all the same.
    writeFileSync(
      `${log.path}.partial`,
      readFileSync(`${log.path}.partial`, "utf8").replace("entry 1 ", "entry 2 "),
    );
    expect(problemOf(await verifyLog(log.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "entry-changed",
      entry: 2,
      file: `${log.path}.partial`,
    });
  });

  test("TSA certificates given: a digest without a time-stamp is refused", async () => {
    const log = await exportOf();
    const r = await verifyLog(log.path, {
      keys: [k1.verifying],
      tsaCerts: ["-----BEGIN CERTIFICATE-----\n"],
    });
    expect(problemOf(r)).toMatchObject({ kind: "timestamp-missing", digest: digestN(1) });
  });
});

test("neither the file nor its digests: file-missing", async () => {
  const r = await verifyLog(join(tmp.dir, "nothing.jsonl"), { keys: [k1.verifying] });
  expect(problemOf(r)).toMatchObject({ kind: "file-missing" });
});

test("a file of several megabytes (read in chunks, gzipped too): the changed entry's line", async () => {
  const log = await exportOf({ batches: [4000, 5000, 3000] });
  expect(readFileSync(log.path).length).toBeGreaterThan(2 * 1024 * 1024);
  expect((await verifyLog(log.path, { keys: [k1.verifying] })).entries).toBe(12000);
  const text = readFileSync(log.path, "utf8").replace('"req-7777"', '"req-7778"');
  writeFileSync(log.path, text);
  expect(problemOf(await verifyLog(log.path, { keys: [k1.verifying] }))).toMatchObject({
    kind: "entry-changed",
    entry: 7778,
    digest: digestN(3),
  });
  writeFileSync(log.path, gzipSync(text));
  expect(problemOf(await verifyLog(log.path, { keys: [k1.verifying] }))).toMatchObject({
    kind: "entry-changed",
    entry: 7778,
  });
});
