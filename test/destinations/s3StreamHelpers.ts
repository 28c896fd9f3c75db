/**
 * What the stream-layout tests read back: every object under `PREFIX/YYYY/MM/DD/HH/`, gunzipped as
 * an ingester would (after `aws s3 cp`, which copies the stored bytes), each line checked to be in
 * its hour's folder; and the state object's totals.
 */
import { createRequire } from "node:module";
import { gunzipSync } from "node:zlib";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { expect } from "@jest/globals";
import { hourFolder } from "../../packages/cli/src/sync/s3/streamLayout.js";
import { lineKey } from "../../packages/client/src/domain/entryKey.js";
import { parseTs, tsToNs } from "../../packages/client/src/domain/timestamps.js";
import { CRASH_POINTS } from "../../packages/client/src/state/crashPoint.js";
import { type BinProcess, crashChain } from "../collector/harness.js";
import type { S3Server } from "../helpers/s3.js";

/** One object of the stream, as read. */
export interface StreamObject {
  key: string;
  contentType: string | undefined;
  contentEncoding: string | undefined;
  lines: string[];
}

/**
 * The stream's objects under `prefix` (everything but `_clarifai_audit/`), gunzipped. Checks that
 * each is a gzip file under `PREFIX/YYYY/MM/DD/HH/` and that each line's timestamp (the entry's, or
 * with `ocsf` the raw entry's) is in that hour.
 */
export async function readStream(
  server: S3Server,
  bucket: string,
  prefix: string,
  format: "json" | "ocsf" = "json",
): Promise<StreamObject[]> {
  const s3 = server.client;
  const base = prefix === "" ? "" : `${prefix}/`;
  const out: StreamObject[] = [];
  for (const key of await server.listKeys(bucket, base)) {
    const relative = key.slice(base.length);
    // Bookkeeping (the state and intent objects, the writer lock) is outside the hour folders.
    if (relative.startsWith("_clarifai_audit/") || relative === "_clarifai_sync.lock") continue;
    expect(relative).toMatch(/^[0-9]{4}\/[0-9]{2}\/[0-9]{2}\/[0-9]{2}\/clarifai-audit-[^/]+\.json\.gz$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = Buffer.from(
      await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
    );
    // gzip's magic: the stored bytes are the .json.gz file.
    expect([body[0], body[1]]).toEqual([0x1f, 0x8b]);
    const text = gunzipSync(body).toString("utf8");
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.slice(0, -1).split("\n");
    const folder = relative.slice(0, 13);
    for (const line of lines) {
      const raw = format === "json" ? line : (JSON.parse(line) as { raw_data: string }).raw_data;
      const ts = parseTs((JSON.parse(raw) as { timestamp: string }).timestamp);
      expect(ts).toBeDefined();
      expect(hourFolder(tsToNs(ts as NonNullable<typeof ts>))).toBe(folder);
    }
    out.push({ key, contentType: got.ContentType, contentEncoding: got.ContentEncoding, lines });
  }
  return out;
}

/** The entry keys the stream holds (with repeats, if any), from its lines. */
export function streamKeys(objects: readonly StreamObject[], format: "json" | "ocsf" = "json"): string[] {
  return objects.flatMap((o) =>
    o.lines.map((l) => lineKey(format === "json" ? l : (JSON.parse(l) as { raw_data: string }).raw_data)),
  );
}

/** The state object's content (undefined when none yet). */
export async function streamState(
  server: S3Server,
  bucket: string,
  prefix: string,
  account?: string,
): Promise<{ seq: number; state: { run?: unknown; totals: { entries: number; late: number } } } | undefined> {
  const base = prefix === "" ? "" : `${prefix}/`;
  const body = await server.readObject(
    bucket,
    `${base}_clarifai_audit/stream${account === undefined ? "" : `-${account}`}.state.json`,
  );
  return body === undefined ? undefined : JSON.parse(body.toString("utf8"));
}

/**
 * s3rver 3.7.1 encrypts its ListObjectsV2 continuation tokens with single DES, which OpenSSL 3
 * (Node 18+) no longer provides: every truncated listing (MaxKeys below the matches, or over 1000
 * keys) fails with HTTP 500. Triple DES with the key thrice IS single DES and is still provided, so
 * s3rver's calls are mapped to it (in this process only; s3rver reads `crypto.createCipheriv` at
 * call time). Call before the first listing.
 */
export function patchS3rverContinuationTokens(): void {
  const crypto = createRequire(import.meta.url)("node:crypto") as typeof import("node:crypto") & {
    __s3rverPatched?: boolean;
  };
  if (crypto.__s3rverPatched) return;
  crypto.__s3rverPatched = true;
  const thrice = (key: Buffer) => Buffer.concat([key, key, key]);
  const cipher = crypto.createCipheriv;
  const decipher = crypto.createDecipheriv;
  Object.assign(crypto, {
    createCipheriv: (algorithm: string, key: Buffer, iv: Buffer, options?: unknown) =>
      algorithm === "des"
        ? cipher("des-ede3-cbc", thrice(key), iv)
        : (cipher as (...a: unknown[]) => unknown)(algorithm, key, iv, options),
    createDecipheriv: (algorithm: string, key: Buffer, iv: Buffer, options?: unknown) =>
      algorithm === "des"
        ? decipher("des-ede3-cbc", thrice(key), iv)
        : (decipher as (...a: unknown[]) => unknown)(algorithm, key, iv, options),
  });
}

/**
 * The steps of a stream store's crash chain: a SIGKILL or ENOSPC at every `stream.*` point of a
 * commit and of its recovery, then the run's end (the sync's own points are killed at elsewhere).
 */
export const STREAM_CRASH_STEPS = [
  "stream.intent-written:2",
  // Some of a commit's objects written: the next open adopts them...
  "stream.object-written:3",
  // ...and is killed once that is committed, before walking.
  "stream.recovered",
  "stream.object-written:1",
  "stream.intent-written:2:ENOSPC",
  "stream.recovered",
  "stream.state-committed:2",
  "stream.object-written:2:ENOSPC",
  "sync.run-ended",
] as const;

/**
 * Runs {@link STREAM_CRASH_STEPS} (each run after `grow`, but a recovery's, has entries to commit:
 * after the head and late ones inside the log), with `between` after each, and checks every step
 * covered a `stream.*` point the code lists and ended as its spec says.
 */
export async function crashEveryStreamStep(o: {
  grow: () => void;
  start: (crashAt: string | undefined) => BinProcess;
  between: () => Promise<unknown>;
}): Promise<void> {
  // Every stream point the code lists is a step (a new one must be added there).
  expect(
    [
      ...new Set(STREAM_CRASH_STEPS.filter((p) => p.startsWith("stream.")).map((p) => p.split(":")[0])),
    ].sort(),
  ).toEqual(CRASH_POINTS.filter((p) => p.startsWith("stream.")).sort());
  const outcomes = await crashChain(
    STREAM_CRASH_STEPS,
    (crashAt) => {
      if (crashAt !== undefined && !crashAt.startsWith("stream.recovered")) o.grow();
      return o.start(crashAt);
    },
    async () => {
      await o.between();
    },
  );
  for (const outcome of outcomes) {
    if (outcome.crashAt === "") expect(outcome).toEqual({ ...outcome, code: 0, signal: null });
    else if (outcome.crashAt.endsWith(":ENOSPC"))
      expect(outcome).toEqual({
        ...outcome,
        code: 1,
        signal: null,
        stderr: expect.stringContaining("no space left on device"),
      });
    else expect(outcome).toEqual({ ...outcome, code: null, signal: "SIGKILL" });
  }
}
