/**
 * A saved file of inclusion proofs (one proof document, or one a line as verify prints them),
 * checked offline without the log: each proof's path leads to its digest's signed tree root.
 */

import type { VerifyingKey } from "@clarifai-audit/client/internal/digest/keys.js";
import { AuditUsageError } from "@clarifai-audit/client/internal/domain/errors.js";
import { readRegularFile } from "@clarifai-audit/client/internal/state/regularFile.js";
import { fail, NotVerified } from "./problem.js";
import { checkProof } from "./proof.js";
import type { VerifyProblem } from "./types.js";

/** What {@link verifyProofFile} found. */
export interface ProofReport {
  path: string;
  verified: boolean;
  problem?: VerifyProblem;
  /** The proofs checked, in the file's order. */
  proofs: { leafIndex: number; treeSize: number; digest: { seq: number; hash: string } }[];
}

/** The documents of a proof file: one JSON document, or JSON Lines. */
function documentsOf(text: string, path: string): unknown[] {
  try {
    return [JSON.parse(text)];
  } catch {
    // JSON Lines: one proof a line.
  }
  const out: unknown[] = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    try {
      out.push(JSON.parse(line));
    } catch {
      fail("proof-invalid", path, `${path} line ${i + 1} is not JSON: not an inclusion proof`, {
        entry: i + 1,
      });
    }
  }
  if (out.length === 0) fail("proof-invalid", path, `${path} holds no inclusion proof`);
  return out;
}

/** Largest proof file read (a proof holds one signed digest: at most 64 MiB each). */
const MAX_PROOF_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Checks every proof of the file at `path` against `keys` (and `expectHead`, the hash their
 * digest must have, when given).
 */
export async function verifyProofFile(
  path: string,
  options: { keys: readonly VerifyingKey[]; expectHead?: string },
): Promise<ProofReport> {
  const report: ProofReport = { path, verified: false, proofs: [] };
  try {
    const refuse = (problem: string) =>
      new AuditUsageError({ input: "proof", problem: `${path} ${problem}` });
    const bytes = await readRegularFile(path, MAX_PROOF_FILE_BYTES, refuse, "a proof file");
    if (bytes === undefined) throw refuse("does not exist");
    const docs = documentsOf(bytes.toString("utf8"), path);
    for (const [i, doc] of docs.entries())
      report.proofs.push(
        await checkProof(
          doc,
          docs.length > 1 ? `${path} line ${i + 1}` : path,
          options.keys,
          options.expectHead,
        ),
      );
    report.verified = true;
  } catch (error) {
    if (!(error instanceof NotVerified)) throw error;
    report.problem = error.problem;
  }
  return report;
}
