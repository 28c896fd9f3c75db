/**
 * Where the stream layout (`s3://BUCKET/PREFIX?layout=stream`) puts things, and what an object holds:
 * the names and bytes SIEM ingesters read, and the two bookkeeping objects they never see.
 *
 * Objects: `PREFIX/YYYY/MM/DD/HH/clarifai-audit[-ACCOUNT]-STREAM-SEQ-PART.json.gz`, one gzip member
 * of JSON lines (one entry, or one OCSF event, per line), as GitHub's audit-log streaming writes
 * (`YYYY/MM/DD/HH/…json.gz` of JSON lines). The folder is the UTC hour of the entries' own
 * timestamps, not of the upload: an hour's folder holds exactly the entries of that hour (a late
 * arrival joins its hour's folder in a new object), so a query or a lifecycle rule by folder is a
 * query by event time, and re-running a commit writes the same names. STREAM is random per state
 * object (a new state never reuses an older stream's names), SEQ counts commits, PART the hours of
 * one commit.
 *
 * Bookkeeping lives under `PREFIX/_clarifai_audit/`, outside the `YYYY/` folders ingesters read.
 */
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import type { ExportEntry } from "@clarifai-audit/client/internal/export/sink.js";

/** The folder of the stream's bookkeeping objects, under PREFIX. */
export const STREAM_META_DIR = "_clarifai_audit";

/**
 * The objects' Content-Type. No `Content-Encoding: gzip`: the object IS a `.json.gz` file, and with
 * that header browsers, the S3 console and SDKs with transparent decompression (Go's default
 * transport) hand out the inflated text under a `.gz` name, which ingesters that gunzip by
 * extension or magic bytes then fail on. `aws s3 cp` copies the gzip bytes either way.
 */
export const STREAM_CONTENT_TYPE = "application/gzip";

/** An account's part of names: the collector's accounts share a prefix, each with its own stream. */
export function accountPart(account: string | undefined): string {
  if (account === undefined) return "";
  // A character outside a safe set becomes `~` and its UTF-8 bytes in hex: names stay one path
  // segment, and two accounts never share one (`-` too is escaped, so `a` never prefixes `a-b`).
  return `-${account.replace(/[^A-Za-z0-9_.]/g, (c) => `~${Buffer.from(c, "utf8").toString("hex")}`)}`;
}

/** The state object (the commit point) of `account`'s stream, relative to PREFIX (as every key here). */
export function stateObjectKey(account: string | undefined): string {
  return `${STREAM_META_DIR}/stream${accountPart(account)}.state.json`;
}

/**
 * The writer lock of `account`'s stream: each account of a collector has its own, as the accounts of
 * a Security Lake destination share one prefix (their objects, state and intent are named apart).
 */
export function lockObjectKey(account: string): string {
  return `${STREAM_META_DIR}/stream${accountPart(account)}.lock`;
}

/** The intent object (the commit in progress) of `account`'s stream. */
export function intentObjectKey(account: string | undefined): string {
  return `${STREAM_META_DIR}/stream${accountPart(account)}.intent.json`;
}

/** `YYYY/MM/DD/HH` of an instant given as nanoseconds since the epoch (UTC). */
export function hourFolder(ns: bigint): string {
  const ms = Number((ns < 0n ? ns - 999_999n : ns) / 1_000_000n);
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, "0");
  return `${String(d.getUTCFullYear()).padStart(4, "0")}/${two(d.getUTCMonth() + 1)}/${two(d.getUTCDate())}/${two(d.getUTCHours())}`;
}

/** The nanoseconds of the start of the hour {@link hourFolder} names. */
export function hourStartNs(folder: string): bigint {
  const [y, m, d, h] = folder.split("/").map(Number) as [number, number, number, number];
  return BigInt(Date.UTC(y, m - 1, d, h)) * 1_000_000n;
}

/** The name of a commit's object of one hour. */
export function streamObjectKey(o: {
  folder: string;
  account?: string;
  stream: string;
  seq: number;
  part: number;
}): string {
  const name = `clarifai-audit${accountPart(o.account)}-${o.stream}-${String(o.seq).padStart(10, "0")}-${String(o.part).padStart(3, "0")}.json.gz`;
  return `${o.folder}/${name}`;
}

/** Whether `key` is one of the stream objects of `account` (any stream), in an hour's folder. */
export function isStreamObjectOf(key: string, account: string | undefined): boolean {
  if (!/^[0-9]{4}\/[0-9]{2}\/[0-9]{2}\/[0-9]{2}\/[^/]+$/.test(key)) return false;
  const name = key.slice(key.lastIndexOf("/") + 1);
  const head = `clarifai-audit${accountPart(account)}-`;
  return name.startsWith(head) && /^[0-9a-f]{8}-[0-9]{10}-[0-9]{3}\.json\.gz$/.test(name.slice(head.length));
}

/** A new stream's id (8 hex digits): names of a new state never meet an older stream's. */
export function newStreamId(random: Buffer): string {
  return random.subarray(0, 4).toString("hex");
}

/** An object's body: the lines, each ended by a newline, as one gzip member. */
export function gzipLines(lines: readonly string[]): Buffer {
  return gzipSync(Buffer.from(lines.length === 0 ? "" : `${lines.join("\n")}\n`, "utf8"), { level: 6 });
}

/** The hex MD5 of `body`: S3's ETag of a single-part upload without KMS, checked at recovery. */
export function md5Hex(body: Uint8Array): string {
  return createHash("md5").update(body).digest("hex");
}

/**
 * What a layout on top of the stream's commit protocol decides (streamCommit.ts, streamStore.ts):
 * which object an entry goes to, the object's name and bytes, and how its entries are read back.
 * The protocol itself (intent → objects → state, recovery adopting a crashed commit's objects) is
 * the same for every format.
 */
export interface StreamObjectFormat {
  /** What the state object records as the lines' format. */
  readonly lines: "json" | "ocsf";
  readonly contentType: string;
  /** The group (folder) of an entry dated `ns`, and its line. */
  place(entry: ExportEntry, ns: bigint): { group: string; line: string };
  /** The name of a commit's object of one group. */
  objectKey(o: { group: string; account?: string; stream: string; seq: number; part: number }): string;
  /** Whether `key` is one of the objects of `account` (any stream). */
  isOwn(key: string, account: string | undefined): boolean;
  /** An object's bytes: the group's lines. */
  body(group: string, lines: readonly string[]): Promise<Buffer>;
  /** The prefixes to list for the objects holding entries dated in `[fromNs, beforeNs)`. */
  readBackPrefixes(fromNs: bigint, beforeNs: bigint): string[];
  /** The entries' own JSON lines in an object's bytes. */
  rawLines(body: Buffer, key: string): Promise<string[]>;
  close(): void;
}

/** The entry's JSON line an OCSF event carries (`raw_data`). */
export function rawDataOf(line: string, key: string): string {
  const raw = (JSON.parse(line) as { raw_data?: unknown }).raw_data;
  if (typeof raw !== "string") throw new Error(`${key} holds an OCSF event without raw_data`);
  return raw;
}

const HOUR_NS = 3_600_000_000_000n;

/** The stream layout's format: gzip JSON lines (entries or OCSF events) per UTC hour. */
export function hourlyJsonLines(
  lines: "json" | "ocsf",
  encode: (entry: ExportEntry) => string,
): StreamObjectFormat {
  return {
    lines,
    contentType: STREAM_CONTENT_TYPE,
    place: (entry, ns) => ({ group: hourFolder(ns), line: encode(entry) }),
    objectKey: (o) => streamObjectKey({ ...o, folder: o.group }),
    isOwn: isStreamObjectOf,
    body: async (_group, l) => gzipLines(l),
    readBackPrefixes(fromNs, beforeNs) {
      const first = hourStartNs(hourFolder(fromNs));
      // Folder by folder while the range is a month or less; beyond that one listing of the prefix.
      if (beforeNs - first > 31n * 24n * HOUR_NS) return [""];
      const hours: string[] = [];
      for (let h = first; h < beforeNs; h += HOUR_NS) hours.push(`${hourFolder(h)}/`);
      return hours;
    },
    rawLines: async (body, key) =>
      gunzipSync(body)
        .toString("utf8")
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => (lines === "json" ? l : rawDataOf(l, key))),
    close: () => undefined,
  };
}
