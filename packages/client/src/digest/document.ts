/**
 * A digest: the signed record of one commit of a signed log (docs/verifiable-logs.md). Plain JSON
 * an auditor can read: `digest` (what the commit wrote and where the chain stands), the signatures
 * over its canonical bytes, and an optional RFC 3161 timestamp over the same bytes' SHA-256.
 *
 * A digest's hash (its *head hash* when it is the newest) is SHA-256 of {@link digestBytes}: the
 * UTF-8 of `digest` as canonical JSON (keys sorted at every level, no spaces). The next digest
 * carries it, with the signatures, in `previous`: one chain per destination.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../domain/canonicalJson.js";
import { COUNT, TIMESTAMP } from "../state/schemaParts.js";
import { StateFileError, type StateSpec, validateState } from "../state/stateReader.js";

export const DIGEST_KIND = "clarifai-audit-digest";
export const DIGEST_VERSION = 1;

/** Which kind of destination a chain is of. */
export type DigestLog = "export" | "lake";

/** A file (or object) a commit wrote, or the part of it (`offset`) a commit appended. */
export interface DigestFile {
  /** Relative to the log's root, `/`-separated (an export: the output file's name). */
  path: string;
  /** SHA-256 (hex) of the bytes this commit wrote: the whole file, or `bytes` from `offset`. */
  sha256: string;
  bytes: number;
  /** Entries (leaves) in those bytes. */
  entries: number;
  /** Where those bytes start in the (uncompressed) file, for a file that grows by commits. */
  offset?: number;
}

/** One signature over {@link digestBytes}. */
export interface DigestSignature {
  keyId: string;
  algorithm: "Ed25519";
  /** base64 */
  signature: string;
}

/** An RFC 3161 time-stamp token over the digest's hash. */
export interface DigestTimestamp {
  /** The authority asked (its URL without user-info). */
  tsa: string;
  /** The TimeStampToken (CMS SignedData), DER, base64. */
  token: string;
}

/** The signed part of a digest. */
export interface DigestBody {
  kind: typeof DIGEST_KIND;
  version: typeof DIGEST_VERSION;
  log: DigestLog;
  /** 1 for a chain's first digest, then +1 per commit. */
  seq: number;
  createdAt: string;
  /** The account and query the log is of (the export's or sync's identity). */
  identity: Record<string, unknown>;
  /** The pinned window of the walk (or sync run) this commit belongs to. */
  window?: { from: string; to: string };
  /** Where the walk stands after this commit (the cursor or sync state stored with the data). */
  cursor: unknown;
  files: DigestFile[];
  /** Entries this commit added. */
  entries: number;
  /** Merkle root (hex) over this commit's entries. */
  root: string;
  /** The first 8 bytes of each entry's leaf hash, in order, base64 (names an entry that differs). */
  leaves: string;
  /** The tree over every entry of the chain so far, in order. */
  tree: { size: number; root: string; frontier: string[] };
  /** The digest before this one (null for the first). */
  previous: { sha256: string; signatures: DigestSignature[] } | null;
  /** Keys that sign this digest (two at a key change). */
  keyIds: string[];
  /** The log is finished (an export's last commit). */
  complete?: boolean;
}

/** A digest file's content. */
export interface DigestDocument {
  digest: DigestBody;
  signatures: DigestSignature[];
  timestamp?: DigestTimestamp;
}

/** The bytes that are signed, hashed and chained: `body` as canonical JSON, UTF-8. */
export function digestBytes(body: DigestBody): Buffer {
  return Buffer.from(canonicalJson(body), "utf8");
}

/** SHA-256 (hex) of {@link digestBytes}. */
export function digestHash(body: DigestBody): string {
  return createHash("sha256").update(digestBytes(body)).digest("hex");
}

/** The text of a digest file. */
export function serializeDigest(doc: DigestDocument): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Digits of a digest file's sequence number in its name. */
const SEQ_DIGITS = 12;

/** The name of digest `seq`'s file: `000000000001.json`. */
export function digestName(seq: number): string {
  return `${String(seq).padStart(SEQ_DIGITS, "0")}.json`;
}

/** A digest file's name: its sequence number, or undefined for another name. */
export function seqOfDigestName(name: string): number | undefined {
  const m = /^(\d{12})\.json$/.exec(name);
  if (m === null) return undefined;
  const seq = Number(m[1]);
  return seq >= 1 ? seq : undefined;
}

/** Largest digest file read (a commit of 100 000 entries takes about 1.1 MB). */
export const MAX_DIGEST_BYTES = 64 * 1024 * 1024;

const HEX64 = { type: "string", pattern: "^[0-9a-f]{64}$", description: "a SHA-256 in hex" } as const;
const KEY_ID = {
  type: "string",
  pattern: "^[0-9a-f]{32}$",
  description: "a key id (32 hex digits)",
} as const;
const BASE64 = { type: "string", pattern: "^[A-Za-z0-9+/]*={0,2}$", description: "base64" } as const;
const SIGNATURE = {
  type: "object",
  additionalProperties: false,
  required: ["keyId", "algorithm", "signature"],
  properties: { keyId: KEY_ID, algorithm: { const: "Ed25519" }, signature: { ...BASE64, maxLength: 200 } },
} as const;
const SIGNATURES = { type: "array", minItems: 1, maxItems: 8, items: SIGNATURE } as const;

/** The JSON Schema of {@link DigestDocument}. */
export const DIGEST_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["digest", "signatures"],
  properties: {
    digest: {
      type: "object",
      additionalProperties: false,
      required: [
        "kind",
        "version",
        "log",
        "seq",
        "createdAt",
        "identity",
        "cursor",
        "files",
        "entries",
        "root",
        "leaves",
        "tree",
        "previous",
        "keyIds",
      ],
      properties: {
        kind: { const: DIGEST_KIND },
        version: { const: DIGEST_VERSION },
        log: { enum: ["export", "lake"] },
        seq: { ...COUNT, minimum: 1 },
        createdAt: TIMESTAMP,
        identity: { type: "object" },
        window: {
          type: "object",
          additionalProperties: false,
          required: ["from", "to"],
          properties: { from: TIMESTAMP, to: TIMESTAMP },
        },
        cursor: {},
        files: {
          type: "array",
          items: {
            type: "object",
            additionalProperties: false,
            required: ["path", "sha256", "bytes", "entries"],
            properties: {
              path: {
                type: "string",
                minLength: 1,
                maxLength: 1024,
                // Relative, `/`-separated, no `.` or `..` part, no control character.
                pattern: "^(?!/)(?!.*(^|/)\\.{1,2}(/|$))[^\\u0000-\\u001f\\\\]+$",
                description: "a relative path inside the log, without . or .. parts",
              },
              sha256: HEX64,
              bytes: COUNT,
              entries: COUNT,
              offset: COUNT,
            },
          },
        },
        entries: COUNT,
        root: HEX64,
        leaves: BASE64,
        tree: {
          type: "object",
          additionalProperties: false,
          required: ["size", "root", "frontier"],
          properties: { size: COUNT, root: HEX64, frontier: { type: "array", maxItems: 64, items: HEX64 } },
        },
        previous: {
          oneOf: [
            { type: "null" },
            {
              type: "object",
              additionalProperties: false,
              required: ["sha256", "signatures"],
              properties: { sha256: HEX64, signatures: SIGNATURES },
            },
          ],
        },
        keyIds: { type: "array", minItems: 1, maxItems: 8, uniqueItems: true, items: KEY_ID },
        complete: { type: "boolean" },
      },
    },
    signatures: SIGNATURES,
    timestamp: {
      type: "object",
      additionalProperties: false,
      required: ["tsa", "token"],
      properties: { tsa: { type: "string", maxLength: 2048 }, token: { ...BASE64, maxLength: 65536 } },
    },
  },
} as const;

/** What the schema cannot say: [pointer, problem] of the first fault. */
function digestProblem(doc: DigestDocument): [string, string] | undefined {
  const d = doc.digest;
  if ((d.seq === 1) !== (d.previous === null))
    return [
      "/digest/previous",
      d.seq === 1 ? "must be null in a chain's first digest" : "is null after digest 1",
    ];
  const signed = doc.signatures.map((s) => s.keyId);
  if (new Set(signed).size !== signed.length) return ["/signatures", "holds two signatures of one key"];
  if (signed.length !== d.keyIds.length || signed.some((k) => !d.keyIds.includes(k)))
    return ["/signatures", `are by ${signed.join(", ")}; /digest/keyIds names ${d.keyIds.join(", ")}`];
  const fileEntries = d.files.reduce((n, f) => n + f.entries, 0);
  if (fileEntries !== d.entries) return ["/digest/entries", `is ${d.entries}; its files hold ${fileEntries}`];
  if (d.entries > d.tree.size)
    return ["/digest/tree/size", `is ${d.tree.size}, below this commit's ${d.entries} entries`];
  return undefined;
}

const SPEC: StateSpec<DigestDocument> = {
  schema: DIGEST_SCHEMA,
  check: digestProblem,
  maxBytes: MAX_DIGEST_BYTES,
};

/**
 * Checks a digest document already parsed (`source` names it in messages).
 * @throws StateFileError naming the field that is wrong.
 */
export async function validateDigest(value: unknown, source: string): Promise<DigestDocument> {
  // Kind and version live one level down: checked first, so another file is named as such.
  const digest = (value as { digest?: { kind?: unknown; version?: unknown } } | null)?.digest;
  if (digest?.kind !== DIGEST_KIND)
    throw new StateFileError(source, undefined, "is not a clarifai-audit digest");
  if (typeof digest.version === "number" && digest.version > DIGEST_VERSION)
    throw new StateFileError(
      source,
      "/digest/version",
      `is ${digest.version}: a digest of a newer clarifai-audit (this one reads version ${DIGEST_VERSION})`,
    );
  return await validateState(value, SPEC, source);
}

/** Parses and checks the bytes of a digest file. @throws StateFileError */
export async function parseDigest(bytes: Uint8Array, source: string): Promise<DigestDocument> {
  if (bytes.length > MAX_DIGEST_BYTES)
    throw new StateFileError(source, undefined, `is larger than ${MAX_DIGEST_BYTES} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new StateFileError(source, undefined, "is not UTF-8 JSON: not a clarifai-audit digest");
  }
  return await validateDigest(parsed, source);
}
