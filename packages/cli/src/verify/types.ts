/**
 * The verifier's vocabulary: what it is asked, what it reports and the kinds of problem it names
 * (docs/verifiable-logs.md lists each). Kept apart from index.ts so that the modules of the layer
 * share the types without importing the layer's entry point back.
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
  | "not-signed"
  /** An entry asked for (`entries`) is not in the log. */
  | "entry-not-found"
  /** A saved inclusion proof does not lead to its digest's signed tree root. */
  | "proof-invalid";

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

/** Options of verifyLog. */
export interface VerifyOptions {
  keys: readonly VerifyingKey[];
  /** A head hash given earlier: it must be one of the chain's digests. */
  expectHead?: string;
  /** TSA certificates (PEM texts): when given, every digest must carry a valid time-stamp. */
  tsaCerts?: readonly string[];
  signal?: AbortSignal;
  /**
   * Entries (their lines exactly as stored) to prove: each one's inclusion proof against the newest
   * digest's tree is made, checked and returned in {@link VerifyReport.proofs}.
   */
  entries?: readonly string[];
}

/** An inclusion proof of one entry: all an auditor needs to check it without the log. */
export interface InclusionProofDocument {
  kind: "clarifai-audit-inclusion-proof";
  version: 1;
  /** The entry's line, exactly as stored (the leaf). */
  entry: string;
  /** 0-based index of its leaf in the chain's tree. */
  leafIndex: number;
  /** Leaves of the tree the proof leads to: the digest's `tree.size`. */
  treeSize: number;
  /** SHA-256(0x00 || entry), hex. */
  leafHash: string;
  /** The sibling hashes from the leaf up (RFC 6962 §2.1.1), hex. */
  auditPath: string[];
  /** The digest's file name and hash. */
  digestName: string;
  digestHash: string;
  /** The signed digest whose `tree.root` the proof leads to. */
  digest: import("@clarifai-audit/client/internal/digest/document.js").DigestDocument;
}

/** What verifyLog found. */
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
  /** What the log says it is of: the newest digest's identity (account, endpoint, filters). */
  identity?: Record<string, unknown>;
  /** An export: the time window it was pinned to (the newest digest's). */
  window?: { from: string; to: string };
  /** The digest `expectHead` named (when given and found). */
  expectedHead?: { seq: number; hash: string; newest: boolean };
  /** The proofs of `entries`, in the order asked (those found). */
  proofs?: InclusionProofDocument[];
}
