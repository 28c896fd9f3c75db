/**
 * `clarifai-audit verify PATH --key KEY.pub`: the offline verifier (packages/cli/src/verify/) on an
 * export file or a lake folder, one line for the result (exit 0, or 6 with `not verified: …`), the
 * inclusion proofs of `--entry` on stdout; `verify --proof FILE` checks saved proofs without the log.
 */
import { readVerifyingKey, type VerifyingKey } from "@clarifai-audit/client/internal/digest/keys.js";
import { terminalSafe, terminalSafeJson } from "@clarifai-audit/client/internal/domain/terminalText.js";
import { pathExists } from "@clarifai-audit/client/internal/state/durableFile.js";
import { readRegularFile } from "@clarifai-audit/client/internal/state/regularFile.js";
import { type VerifyProblem, type VerifyReport, verifyLog, verifyProofFile } from "../verify/index.js";
import { EXIT, UsageError } from "./exitCodes.js";
import type { CommandContext, CommandResult } from "./runner.js";

/** The flags of `verify`. */
export interface VerifyFlags {
  key: string[];
  expectHead?: string;
  tsaCert?: string[];
  entry?: string[];
  entryFile?: string;
  proof?: string;
  json?: boolean;
}

/** Largest file of entries or certificates read. */
const MAX_INPUT_BYTES = 256 * 1024 * 1024;

async function readInput(flag: string, path: string): Promise<string> {
  const fail = (problem: string) => new UsageError(`${flag}: ${path} ${problem}`);
  const bytes = await readRegularFile(path, MAX_INPUT_BYTES, fail, "a file");
  if (bytes === undefined) throw fail("does not exist");
  return bytes.toString("utf8");
}

/**
 * An entry's line as a leaf holds it: without a line end, and without the comma that follows an
 * element of a JSON array export (a line copied from one carries it; an entry never ends in one).
 */
function asStored(line: string): string {
  return line.replace(/\r$/, "").replace(/,$/, "");
}

function notVerified(problem: VerifyProblem): string {
  return `not verified: ${terminalSafe(problem.message)}`;
}

/** Runs `verify`. */
export async function runVerify(
  ctx: CommandContext,
  path: string | undefined,
  flags: VerifyFlags,
): Promise<CommandResult> {
  if (flags.expectHead !== undefined && !/^[0-9a-fA-F]{64}$/.test(flags.expectHead.trim()))
    throw new UsageError(`--expect-head: "${flags.expectHead}" is not a digest hash (64 hex digits)`);
  const keys: VerifyingKey[] = [];
  for (const k of flags.key) keys.push(await readVerifyingKey(k, "key"));
  if (flags.proof !== undefined) {
    if (path !== undefined)
      throw new UsageError("--proof: checks a saved proof without the log; give no PATH with it");
    if (flags.entry !== undefined || flags.entryFile !== undefined || flags.tsaCert !== undefined)
      throw new UsageError(
        "--proof: checks a saved proof alone; not with --entry, --entry-file or --tsa-cert",
      );
    await readInput("--proof", flags.proof);
    const r = await verifyProofFile(flags.proof, {
      keys,
      ...(flags.expectHead !== undefined ? { expectHead: flags.expectHead } : {}),
    });
    const figures = { verified: r.verified, proofs: r.proofs, ...(r.problem ? { problem: r.problem } : {}) };
    if (r.problem !== undefined)
      return { summary: notVerified(r.problem), figures, exitCode: EXIT.notVerified };
    const shown = r.proofs.map(
      (p) => `leaf ${p.leafIndex} of ${p.treeSize}, digest ${p.digest.seq} (${p.digest.hash})`,
    );
    return {
      summary: `verified: ${terminalSafe(flags.proof)}: ${r.proofs.length === 1 ? "the entry is" : `${r.proofs.length} entries are`} in the signed log (${shown.join("; ")})`,
      figures,
    };
  }
  if (path === undefined)
    throw new UsageError("verify: name the export file or lake folder to verify (PATH)");
  // verify is offline: a URL (an s3:// lake) is read from a local copy, not fetched.
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(path) && !(await pathExists(path)))
    throw new UsageError(
      `verify: ${terminalSafe(path)} is a URL; verify reads a local copy, offline: copy it to a folder first${path.startsWith("s3://") ? ` (e.g. aws s3 sync ${terminalSafe(path)} DIR)` : ""} and verify that`,
    );
  const entries = (flags.entry ?? []).map(asStored);
  if (flags.entryFile !== undefined)
    for (const line of (await readInput("--entry-file", flags.entryFile)).split("\n"))
      if (line.trim() !== "") entries.push(asStored(line));
  const tsaCerts: string[] = [];
  for (const file of flags.tsaCert ?? []) tsaCerts.push(await readInput("--tsa-cert", file));
  const report = await verifyLog(path, {
    keys,
    signal: ctx.signal,
    ...(flags.expectHead !== undefined ? { expectHead: flags.expectHead } : {}),
    ...(tsaCerts.length > 0 ? { tsaCerts } : {}),
    ...(entries.length > 0 ? { entries } : {}),
  });
  for (const proof of report.proofs ?? [])
    ctx.io.stdout.write(`${terminalSafeJson(JSON.stringify(proof))}\n`);
  const figures = figuresOf(report);
  if (report.problem !== undefined)
    return { summary: notVerified(report.problem), figures, exitCode: EXIT.notVerified };
  return { summary: summaryOf(report), figures };
}

function figuresOf(r: VerifyReport): Record<string, unknown> {
  const { proofs, ...rest } = r;
  return { ...rest, ...(proofs !== undefined ? { proofs: proofs.length } : {}) };
}

function summaryOf(r: VerifyReport): string {
  const what = r.log === "export" ? `export${r.complete ? "" : " (unfinished)"}` : "lake";
  const parts = [
    `${r.digests} digests`,
    `${r.files} ${r.files === 1 ? "file" : "files"}`,
    `${r.entries} entries`,
    `${r.bytes} bytes`,
  ];
  const user = r.identity?.userId;
  const of = typeof user === "string" ? ` of user ${terminalSafe(user)}` : "";
  const window = r.window === undefined ? "" : `, ${r.window.from} to ${r.window.to}`;
  const head = r.head === undefined ? "" : `; head ${r.head.seq} ${r.head.hash}`;
  const expected =
    r.expectedHead === undefined
      ? ""
      : `; the expected head is digest ${r.expectedHead.seq}${r.expectedHead.newest ? " (the newest)" : ""}`;
  const stamps =
    r.timestamps.checked > 0
      ? `; ${r.timestamps.checked} time-stamps, ${r.timestamps.first} to ${r.timestamps.last}`
      : "";
  const proofs = r.proofs !== undefined ? `; ${r.proofs.length} inclusion proofs checked` : "";
  return `verified: ${terminalSafe(r.path)} (${what}${of}${terminalSafe(window)}): ${parts.join(", ")}; keys ${r.keyIds.join(", ")}${head}${expected}${stamps}${proofs}`;
}
