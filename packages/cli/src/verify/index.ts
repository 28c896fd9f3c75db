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
import { digestsPath } from "@clarifai-audit/client/internal/export/sinks/signedCommits.js";
import { DIGESTS_DIR } from "../sync/lake/manifest.js";
import { checkChain, findHead, type LoadedDigest, loadDigests } from "./chain.js";
import { checkExportData } from "./exportLog.js";
import { fail, NotVerified } from "./problem.js";
import { checkProof, makeProof } from "./proof.js";
import { ChainTree } from "./tree.js";
import type { VerifyOptions, VerifyReport } from "./types.js";

export { PROOF_KIND } from "./proof.js";
export { type ProofReport, verifyProofFile } from "./proofFile.js";
export type {
  InclusionProofDocument,
  ProblemKind,
  VerifyOptions,
  VerifyProblem,
  VerifyReport,
} from "./types.js";

/** Exports of this many entries or more have their tree built in a worker thread (treeWorker.ts). */
const THREADED_ENTRIES = 50_000;

/** Which kind of log `path` is: a folder holding digests is a lake, anything else an export. */
async function kindOf(path: string): Promise<DigestLog> {
  try {
    return (await stat(path)).isDirectory() ? "lake" : "export";
  } catch {
    return "export";
  }
}

async function exists(path: string): Promise<boolean> {
  return await stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * The file an export's data is in: PATH, or PATH.partial while the export is unfinished (running,
 * or interrupted before its final rename: bytes after its newest digest are not committed yet).
 */
async function exportFileOf(path: string): Promise<string> {
  return !(await exists(path)) && (await exists(`${path}.partial`)) ? `${path}.partial` : path;
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
    const shownDir = log === "lake" ? join(path, DIGESTS_DIR) : digestsPath(path);
    if (
      log === "export" &&
      !(await exists(path)) &&
      !(await exists(`${path}.partial`)) &&
      !(await exists(shownDir))
    )
      fail("file-missing", path, `${path} does not exist, nor its digests (${shownDir})`);
    const digests = await loadDigests(shownDir, shownDir, log);
    const newest = digests.at(-1) as LoadedDigest;
    report.digests = digests.length;
    report.head = { seq: newest.seq, hash: newest.hash };
    report.keyIds = [...new Set(digests.flatMap((d) => d.doc.digest.keyIds))];
    if (log === "export") report.complete = newest.doc.digest.complete === true;
    // What the log claims to cover, for the auditor to compare with what was asked for.
    report.identity = newest.doc.digest.identity;
    if (log === "export" && newest.doc.digest.window !== undefined) report.window = newest.doc.digest.window;
    checkChain(digests, options.keys);
    if (options.expectHead !== undefined)
      report.expectedHead = findHead(digests, options.expectHead, shownDir);
    if (options.tsaCerts !== undefined && options.tsaCerts.length > 0)
      // Loaded only when asked: the CMS and ASN.1 libraries are a third of a small verify's start-up.
      report.timestamps = await (await import("./timestamps.js")).checkTimestamps(digests, options.tsaCerts);
    const wantProofs = options.entries !== undefined && options.entries.length > 0;
    const tree = new ChainTree(wantProofs);
    let data: { files: number; bytes: number };
    if (log === "export") {
      // A big export's tree is built on the second core while this thread reads and hashes the file.
      const entries = digests.reduce((n, d) => n + d.doc.digest.entries, 0);
      const threaded =
        !wantProofs && entries >= THREADED_ENTRIES
          ? (await import("./treeWorker.js")).WorkerTree.start(digests)
          : undefined;
      try {
        data = await checkExportData(await exportFileOf(path), digests, threaded ?? tree, options.signal);
        report.entries = (threaded ?? tree).size;
      } finally {
        await threaded?.stop();
      }
    } else {
      data = await (await import("./lakeLog.js")).checkLakeData(path, digests, tree, options.signal);
      report.entries = tree.size;
    }
    report.files = data.files;
    report.bytes = data.bytes;
    if (wantProofs && tree.all !== undefined) {
      report.proofs = [];
      for (const entry of options.entries ?? []) {
        const proof = makeProof(entry, tree.all, newest, path);
        // Checked as an auditor will check it: from the document alone.
        await checkProof(proof, path, options.keys);
        report.proofs.push(proof);
      }
    }
    report.verified = true;
  } catch (error) {
    if (!(error instanceof NotVerified)) throw error;
    report.problem = error.problem;
  }
  return report;
}
