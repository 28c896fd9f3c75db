/**
 * The offline verifier of signed logs (PLACEHOLDER: the verify slice replaces the bodies; the
 * signatures are the contract).
 */
import type { VerifyingKey } from "@clarifai-audit/client/internal/digest/keys.js";

/** What is wrong, by kind (docs/verifiable-logs.md lists each). */
export type ProblemKind =
  | "entry-changed"
  | "entry-inserted"
  | "entry-deleted"
  | "entry-reordered"
  | "file-truncated"
  | "file-extended"
  | "file-replaced"
  | "file-missing"
  | "file-unlisted"
  | "digest-missing"
  | "digest-invalid"
  | "chain-broken"
  | "key-unknown"
  | "signature-invalid"
  | "key-change-unsigned"
  | "identity-changed"
  | "head-not-found"
  | "timestamp-missing"
  | "timestamp-invalid"
  | "not-signed";

/** The first problem found. */
export interface VerifyProblem {
  kind: ProblemKind;
  /** The file (or digest file) it is in, as given (PATH-relative for a lake). */
  file: string;
  /** The entry: 1-based line of an export file, 1-based row of a lake file. */
  entry?: number;
  /** The digest that describes it (its file name). */
  digest?: string;
  /** One line naming file, entry and what is wrong. */
  message: string;
}

/** Options of {@link verifyLog}. */
export interface VerifyOptions {
  keys: readonly VerifyingKey[];
  /** A head hash given earlier: it must be one of the chain's digests. */
  expectHead?: string;
  /** TSA certificates (PEM texts): when given, every digest must carry a valid time-stamp. */
  tsaCerts?: readonly string[];
  signal?: AbortSignal;
}

/** What {@link verifyLog} found. */
export interface VerifyReport {
  log: "export" | "lake";
  path: string;
  verified: boolean;
  problem?: VerifyProblem;
  digests: number;
  files: number;
  entries: number;
  bytes: number;
  head?: { seq: number; hash: string };
  keyIds: string[];
  timestamps: { checked: number; first?: string; last?: string };
  /** An export: its last digest marks it finished. */
  complete?: boolean;
}

/** Verifies the signed export file or lake folder at `path`, offline. */
export async function verifyLog(path: string, options: VerifyOptions): Promise<VerifyReport> {
  void path;
  void options;
  throw new Error("not implemented yet (verify slice)");
}
