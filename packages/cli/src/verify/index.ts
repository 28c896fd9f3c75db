/**
 * The offline verifier of signed logs (docs/verifiable-logs.md): an export file (digests in
 * PATH.digests/) or a lake folder (digests in PATH/_clarifai_digests/), read from disk alone. The
 * chain of digests is checked first (names, documents, signatures, links, keys, identity, the
 * expected head, time-stamps), then the data against it, in commit order; the first problem is
 * reported, in one line naming the file, the entry and the digest.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import type { DigestLog } from "@clarifai-audit/client/internal/digest/document.js";
import { checkChain, findHead, type LoadedDigest, loadDigests } from "./chain.js";
import { checkExportData } from "./exportLog.js";
import { NotVerified } from "./problem.js";
import { makeProof } from "./proof.js";
import { checkTimestamps } from "./timestamps.js";
import { ChainTree } from "./tree.js";
import type { VerifyOptions, VerifyReport } from "./types.js";

export { checkProof, PROOF_KIND } from "./proof.js";
export type {
  InclusionProofDocument,
  ProblemKind,
  VerifyOptions,
  VerifyProblem,
  VerifyReport,
} from "./types.js";

/** The folder of a lake's digests, inside the lake. */
export const LAKE_DIGESTS = "_clarifai_digests";

/** Which kind of log `path` is: a folder holding digests is a lake, anything else an export. */
async function kindOf(path: string): Promise<DigestLog> {
  try {
    return (await stat(path)).isDirectory() ? "lake" : "export";
  } catch {
    return "export";
  }
}

/** Verifies the signed export file or lake folder at `path`, offline. */
export async function verifyLog(path: string, options: VerifyOptions): Promise<VerifyReport> {
  const log = await kindOf(path);
  const report: VerifyReport = {
    log,
    path,
    verified: false,
    digests: 0,
    files: 0,
    entries: 0,
    bytes: 0,
    keyIds: [],
    timestamps: { checked: 0 },
  };
  try {
    const shownDir = log === "lake" ? join(path, LAKE_DIGESTS) : `${path}.digests`;
    const digests = await loadDigests(shownDir, shownDir, log);
    const newest = digests.at(-1) as LoadedDigest;
    report.digests = digests.length;
    report.head = { seq: newest.seq, hash: newest.hash };
    report.keyIds = [...new Set(digests.flatMap((d) => d.doc.digest.keyIds))];
    if (log === "export") report.complete = newest.doc.digest.complete === true;
    checkChain(digests, options.keys);
    if (options.expectHead !== undefined)
      report.expectedHead = findHead(digests, options.expectHead, shownDir);
    if (options.tsaCerts !== undefined && options.tsaCerts.length > 0)
      report.timestamps = await checkTimestamps(digests, options.tsaCerts);
    const wantProofs = options.entries !== undefined && options.entries.length > 0;
    const tree = new ChainTree(wantProofs);
    const data =
      log === "export"
        ? await checkExportData(path, digests, tree, options.signal)
        : await (await import("./lakeLog.js")).checkLakeData(path, digests, tree, options.signal);
    report.files = data.files;
    report.bytes = data.bytes;
    report.entries = tree.size;
    if (wantProofs && tree.all !== undefined) {
      report.proofs = [];
      for (const entry of options.entries ?? []) report.proofs.push(makeProof(entry, tree.all, newest, path));
    }
    report.verified = true;
  } catch (error) {
    if (!(error instanceof NotVerified)) throw error;
    report.problem = error.problem;
  }
  return report;
}
