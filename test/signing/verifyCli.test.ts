/**
 * `clarifai-audit verify` in-process: the one line and exit code (0, 6, 2), --json's counts, the
 * inclusion proofs of --entry (printed and checked), and --proof checked without the log.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runMain } from "../cli/helpers.js";
import { makeKey, type TestKey, tempDir, writeSignedExport, writeSignedLake } from "./fixtures.js";

let tmp: { dir: string; cleanup: () => void };
let k1: TestKey;
let k2: TestKey;

beforeAll(async () => {
  tmp = tempDir();
  k1 = await makeKey(tmp.dir, "k1.pem");
  k2 = await makeKey(tmp.dir, "k2.pem");
});
afterAll(() => tmp.cleanup());

let n = 0;
async function signed() {
  n++;
  return await writeSignedExport(tmp.dir, `cli${n}.jsonl`, { keys: () => [k1.signing] });
}

function lastJson(stderr: string): Record<string, unknown> {
  return JSON.parse(stderr.trim().split("\n").at(-1) as string) as Record<string, unknown>;
}

test("a whole export: exit 0, one line with the counts and the head; --json", async () => {
  const log = await signed();
  const r = await runMain(["verify", log.path, "--key", k1.pubPath]);
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("");
  expect(r.stderr).toBe(
    `verified: ${log.path} (export of user cli-user, 2026-01-01T00:00:00Z to 2026-01-02T00:00:00Z): 5 digests, 1 file, 9 entries, ${readFileSync(log.path).length} bytes; keys ${k1.verifying.keyId}; head 5 ${log.hashes[4]}\n`,
  );
  const j = await runMain(["verify", log.path, "--key", k1.pubPath, "--json"]);
  expect(lastJson(j.stderr)).toMatchObject({
    command: "verify",
    exitCode: 0,
    verified: true,
    log: "export",
    digests: 5,
    files: 1,
    entries: 9,
    head: { seq: 5, hash: log.hashes[4] },
    keyIds: [k1.verifying.keyId],
    complete: true,
    identity: { userId: "cli-user" },
    window: { from: "2026-01-01T00:00:00Z", to: "2026-01-02T00:00:00Z" },
  });
});

test("a lake verifies through the CLI", async () => {
  const lake = await writeSignedLake(join(tmp.dir, "clilake"), { keys: () => [k1.signing] });
  const r = await runMain(["verify", lake.path, "--key", k1.pubPath, "--json"]);
  expect(lastJson(r.stderr)).toMatchObject({ exitCode: 0, log: "lake", digests: 2, files: 3, entries: 9 });
});

test("not verified: exit 6 and one line naming file, line and digest; --json has the problem", async () => {
  const log = await signed();
  const lines = readFileSync(log.path, "utf8").split("\n");
  lines[3] = (lines[3] as string).replace("entry 3", "entry \u001b[31m");
  writeFileSync(log.path, lines.join("\n"));
  const r = await runMain(["verify", log.path, "--key", k1.pubPath]);
  expect(r.code).toBe(6);
  expect(r.stderr).toBe(
    `not verified: ${log.path} line 4: this entry is not the one signed there (it was changed) (digest 000000000003.json)\n`,
  );
  const j = await runMain(["verify", log.path, "--key", k1.pubPath, "--json"]);
  expect(j.code).toBe(6);
  expect(lastJson(j.stderr)).toMatchObject({
    exitCode: 6,
    verified: false,
    problem: { kind: "entry-changed", file: log.path, entry: 4, digest: "000000000003.json" },
  });
  const wrong = await runMain(["verify", log.path, "--key", k2.pubPath]);
  expect(wrong.code).toBe(6);
  expect(wrong.stderr).toMatch(
    /^not verified: .* is signed by key [0-9a-f]{32}, which is none of the keys given/,
  );
});

test("usage: exit 2 for a missing --key, a private key, a bad --expect-head, no PATH", async () => {
  const log = await signed();
  expect((await runMain(["verify", log.path])).code).toBe(2);
  const priv = await runMain(["verify", log.path, "--key", k1.keyPath]);
  expect(priv.code).toBe(2);
  expect(priv.stderr).toContain("--key: ");
  expect(priv.stderr).toContain("is a private key");
  const missing = await runMain(["verify", log.path, "--key", join(tmp.dir, "none.pub")]);
  expect(missing.code).toBe(2);
  expect((await runMain(["verify", log.path, "--key", k1.pubPath, "--expect-head", "xyz"])).code).toBe(2);
  expect((await runMain(["verify", "--key", k1.pubPath])).code).toBe(2);
  expect((await runMain(["verify", log.path, "--key", k1.pubPath, "--endpoint", "x:1"])).code).toBe(2);
});

test("--expect-head: which digest it is; not found once the newest digest is dropped", async () => {
  const log = await signed();
  const r = await runMain([
    "verify",
    log.path,
    "--key",
    k1.pubPath,
    "--expect-head",
    log.hashes[3] as string,
  ]);
  expect(r.code).toBe(0);
  expect(r.stderr).toContain("; the expected head is digest 4\n");
  const { unlinkSync } = await import("node:fs");
  unlinkSync(join(log.digests, "000000000005.json"));
  const gone = await runMain([
    "verify",
    log.path,
    "--key",
    k1.pubPath,
    "--expect-head",
    log.hashes[4] as string,
  ]);
  expect(gone.code).toBe(6);
  expect(gone.stderr).toContain("no digest of the chain has the expected head hash");
});

test("--entry prints each entry's inclusion proof; --proof checks it without the log", async () => {
  const log = await signed();
  const entryFile = join(tmp.dir, `entries${n}.txt`);
  writeFileSync(entryFile, `${log.entries[8]}\r\n\n`);
  const r = await runMain([
    "verify",
    log.path,
    "--key",
    k1.pubPath,
    "--entry",
    log.entries[2] as string,
    "--entry-file",
    entryFile,
    "--json",
  ]);
  expect(r.code).toBe(0);
  const proofs = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(proofs.map((p) => [p.entry, p.leafIndex, p.treeSize, p.digestName])).toEqual([
    [log.entries[2], 2, 9, "000000000005.json"],
    [log.entries[8], 8, 9, "000000000005.json"],
  ]);
  expect(lastJson(r.stderr)).toMatchObject({ proofs: 2 });
  const proofFile = join(tmp.dir, `proof${n}.json`);
  writeFileSync(proofFile, `${JSON.stringify(proofs[0], null, 2)}\n`);
  const ok = await runMain(["verify", "--proof", proofFile, "--key", k1.pubPath]);
  expect(ok.code).toBe(0);
  expect(ok.stderr).toMatch(/^verified: .*: the entry is in the signed log \(leaf 2 of 9, digest 5 /);
  // Both proofs as JSON Lines, as printed.
  writeFileSync(proofFile, r.stdout);
  expect((await runMain(["verify", "--proof", proofFile, "--key", k1.pubPath])).code).toBe(0);
  // A changed entry no longer leads to the signed root.
  writeFileSync(
    proofFile,
    JSON.stringify({ ...proofs[0], entry: String(log.entries[2]).replace("entry", "ENTRY") }),
  );
  const bad = await runMain(["verify", "--proof", proofFile, "--key", k1.pubPath, "--json"]);
  expect(bad.code).toBe(6);
  expect(lastJson(bad.stderr)).toMatchObject({ problem: { kind: "proof-invalid" } });
  // Another key: the digest is not signed by it.
  writeFileSync(proofFile, JSON.stringify(proofs[0]));
  expect((await runMain(["verify", "--proof", proofFile, "--key", k2.pubPath])).code).toBe(6);
  // With PATH: refused.
  expect((await runMain(["verify", log.path, "--proof", proofFile, "--key", k1.pubPath])).code).toBe(2);
});

test("an entry not in the log: exit 6", async () => {
  const log = await signed();
  const r = await runMain(["verify", log.path, "--key", k1.pubPath, "--entry", '{"not":"there"}', "--json"]);
  expect(r.code).toBe(6);
  expect(lastJson(r.stderr)).toMatchObject({ problem: { kind: "entry-not-found" } });
  expect(r.stdout).toBe("");
});

test("--entry: a line copied from a JSON array export (its comma) is the entry; a lake's entries are proved too", async () => {
  n++;
  const log = await writeSignedExport(tmp.dir, `cli${n}.json`, { keys: () => [k1.signing], format: "json" });
  const line = readFileSync(log.path, "utf8").split("\n")[2] as string;
  expect(line.endsWith(",")).toBe(true);
  const r = await runMain(["verify", log.path, "--key", k1.pubPath, "--entry", line]);
  expect(r.code).toBe(0);
  expect(JSON.parse(r.stdout)).toMatchObject({ entry: line.slice(0, -1), leafIndex: 1, treeSize: 9 });
  const lake = await writeSignedLake(join(tmp.dir, "prooflake"), { keys: () => [k1.signing] });
  const p = await runMain(["verify", lake.path, "--key", k1.pubPath, "--entry", lake.entries[6] as string]);
  expect(p.code).toBe(0);
  const proof = JSON.parse(p.stdout) as Record<string, unknown>;
  expect(proof).toMatchObject({ leafIndex: 6, treeSize: 9, digestName: "000000000002.json" });
  const file = join(tmp.dir, "lakeproof.json");
  writeFileSync(file, p.stdout);
  expect(
    (
      await runMain([
        "verify",
        "--proof",
        file,
        "--key",
        k1.pubPath,
        "--expect-head",
        lake.hashes[1] as string,
      ])
    ).code,
  ).toBe(0);
  expect(
    (
      await runMain([
        "verify",
        "--proof",
        file,
        "--key",
        k1.pubPath,
        "--expect-head",
        lake.hashes[0] as string,
      ])
    ).code,
  ).toBe(6);
});
