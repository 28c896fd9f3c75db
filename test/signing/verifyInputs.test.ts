/**
 * verify reads copied files an auditor was given: input like any other. A FIFO where a digest or a
 * proof file should be is refused at once (never waited on), and what is read is bounded.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AuditUsageError } from "@clarifai-audit/client/internal/domain/errors.js";
import { verifyLog } from "../../packages/cli/src/verify/index.js";
import { verifyProofFile } from "../../packages/cli/src/verify/proofFile.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "verify-inputs-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("a FIFO named as a digest is digest-invalid, not waited on", async () => {
  writeFileSync(join(dir, "x.jsonl"), "{}\n");
  mkdirSync(join(dir, "x.jsonl.digests"));
  execFileSync("mkfifo", [join(dir, "x.jsonl.digests", "000000000001.json")]);
  const report = await verifyLog(join(dir, "x.jsonl"), { keys: [] });
  expect(report.verified).toBe(false);
  expect(report.problem).toMatchObject({ kind: "digest-invalid", digest: "000000000001.json" });
  expect(report.problem?.message).toMatch(/000000000001\.json is not a regular file$/);
});

test("a proof file that is a FIFO, or missing, is a usage error naming it", async () => {
  execFileSync("mkfifo", [join(dir, "proof.json")]);
  const fifo = verifyProofFile(join(dir, "proof.json"), { keys: [] });
  await expect(fifo).rejects.toThrow(AuditUsageError);
  await expect(fifo).rejects.toThrow(/proof\.json is a FIFO, not a regular file/);
  await expect(verifyProofFile(join(dir, "none.json"), { keys: [] })).rejects.toThrow(
    /none\.json does not exist/,
  );
});
