/**
 * The steps of a stream-layout commit and of its recovery, as functions over a {@link Bucket}, so
 * the store (streamStore.ts) only sequences them.
 *
 * A commit: (1) stages the entries not held yet (by entry key) into one gzip JSON-lines object per
 * UTC hour of their timestamps, under names fixed before anything is written; (2) writes the intent
 * object listing those names with what each holds; (3) writes the objects; (4) writes the state
 * object (cursor, keys, totals, seq + 1): the commit point. Every object name is used once (seq),
 * and no object is ever deleted: an object a crash left behind the intent holds entries that no
 * other object holds (they were not held when staged), so the next open ADOPTS it (adds its keys and
 * counts to the state; the resumed walk offers those entries again and they are skipped) instead of
 * deleting it. A reader of the bucket therefore never sees an entry twice, at any instant, and an
 * ingester notified of each new object (S3 event notifications) gets each entry once.
 */

import { lineKey } from "@clarifai-audit/client/internal/domain/entryKey.js";
import { parseTs, tsToNs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import type { ExportEntry } from "@clarifai-audit/client/internal/export/sink.js";
import { decodeKeys, encodeKeys, forgetKeys, type KeyTable, keyPrefix } from "../keyTable.js";
import { SyncUsageError } from "../store.js";
import type { Bucket } from "./bucket.js";
import { md5Hex, type StreamObjectFormat } from "./streamLayout.js";
import type { IntentObject, StreamStateObject } from "./streamState.js";

/** A commit's new entries of one hour, ready to write. */
export interface StagedObject extends IntentObject {
  body: Buffer;
}

/** A commit's objects, and how many new (and late) entries they hold. */
export interface StagedCommit {
  objects: StagedObject[];
  inserted: number;
  late: number;
}

/**
 * Stages `entries` against `keys`, which it updates (new keys added, those before
 * `forgetBeforeNs` forgotten): the new ones by UTC hour, each hour one object named for `seq`.
 */
export async function stageCommit(
  entries: readonly ExportEntry[],
  keys: KeyTable,
  o: {
    format: StreamObjectFormat;
    account?: string;
    stream: string;
    seq: number;
    lateAtOrBeforeNs?: bigint;
    forgetBeforeNs?: bigint;
  },
): Promise<StagedCommit> {
  const hours = new Map<string, { lines: string[]; keys: KeyTable; late: number }>();
  let inserted = 0;
  let late = 0;
  for (const entry of entries) {
    const prefix = keyPrefix(entry.key());
    if (keys.has(prefix)) continue;
    const ns = tsToNs(entry.timestamp);
    keys.set(prefix, ns);
    const { group: folder, line } = o.format.place(entry, ns);
    let hour = hours.get(folder);
    if (hour === undefined) {
      hour = { lines: [], keys: new Map(), late: 0 };
      hours.set(folder, hour);
    }
    hour.lines.push(line);
    hour.keys.set(prefix, ns);
    inserted++;
    if (o.lateAtOrBeforeNs !== undefined && ns <= o.lateAtOrBeforeNs) {
      hour.late++;
      late++;
    }
  }
  if (o.forgetBeforeNs !== undefined) forgetKeys(keys, o.forgetBeforeNs);
  const objects: StagedObject[] = [];
  // Oldest hour first: names sort as the entries do.
  for (const [part, folder] of [...hours.keys()].sort().entries()) {
    const hour = hours.get(folder) as { lines: string[]; keys: KeyTable; late: number };
    const body = await o.format.body(folder, hour.lines);
    objects.push({
      key: o.format.objectKey({
        group: folder,
        ...(o.account !== undefined ? { account: o.account } : {}),
        stream: o.stream,
        seq: o.seq,
        part,
      }),
      bytes: body.length,
      md5: md5Hex(body),
      entries: hour.lines.length,
      late: hour.late,
      keys: encodeKeys(hour.keys),
      body,
    });
  }
  return { objects, inserted, late };
}

/** Whether `key` is in the bucket, and its size and ETag. */
async function stat(bucket: Bucket, key: string): Promise<{ size: number; etag: string } | undefined> {
  for await (const o of bucket.list(key)) if (o.key === key) return o;
  return undefined;
}

/**
 * Adopts what a crashed commit wrote (its intent's objects that are in the bucket): their keys and
 * counts join `state`, which is changed in place; returns how many objects were adopted. An object
 * under a listed name that is not the one the intent describes (another size or MD5) is refused:
 * something else wrote it, and adopting or deleting it could lose or repeat entries.
 */
export async function adoptIntent(
  bucket: Bucket,
  state: StreamStateObject,
  keys: KeyTable,
  objects: readonly IntentObject[],
): Promise<number> {
  let adopted = 0;
  for (const o of objects) {
    const found = await stat(bucket, o.key);
    if (found === undefined) continue;
    if (!(await isObjectOf(bucket, o, found)))
      throw SyncUsageError.store(
        `${bucket.description}/${o.key} is not the object the last commit wrote (${found.size} bytes, expected ${o.bytes} bytes of MD5 ${o.md5}); nothing was changed (move it away, then run again)`,
      );
    for (const [prefix, ns] of decodeKeys(o.keys)) keys.set(prefix, ns);
    state.state.totals.entries += o.entries;
    state.state.totals.late += o.late;
    adopted++;
  }
  return adopted;
}

/**
 * Whether the object found under `o.key` is the one the intent describes: its size, and its MD5 (the
 * ETag when it is the MD5, as for a single-part upload without KMS; else the body, read back).
 */
async function isObjectOf(
  bucket: Bucket,
  o: IntentObject,
  found: { size: number; etag: string },
): Promise<boolean> {
  if (found.size !== o.bytes) return false;
  if (found.etag.replace(/"/g, "") === o.md5) return true;
  // SSE-KMS and other encryptions give ETags that are not the MD5: compare the bytes' own.
  const got = await bucket.get(o.key, { maxBytes: o.bytes });
  return got !== undefined && md5Hex(got.body) === o.md5;
}

/** Largest object read back: the objects this store writes are one commit's group. */
const MAX_READ_BACK_BYTES = 512 * 1024 * 1024;

/**
 * Reads back the keys of the entries this stream holds dated in `[fromNs, beforeNs)` from the
 * folders they are in: a run that reaches further back than the keys kept (a longer reconcile
 * window than the runs before) skips what it already wrote.
 */
export async function readKeysBack(
  bucket: Bucket,
  o: { isOwn: (key: string) => boolean; format: StreamObjectFormat },
  keys: KeyTable,
  fromNs: bigint,
  beforeNs: bigint,
): Promise<void> {
  for (const prefix of o.format.readBackPrefixes(fromNs, beforeNs)) {
    for await (const item of bucket.list(prefix)) {
      if (!o.isOwn(item.key)) continue;
      const got = await bucket.get(item.key, { maxBytes: MAX_READ_BACK_BYTES });
      if (got === undefined) continue;
      for (const raw of await o.format.rawLines(got.body, item.key)) {
        const text = (JSON.parse(raw) as { timestamp?: unknown }).timestamp ?? "1970-01-01T00:00:00Z";
        const ts = parseTs(String(text));
        if (ts === undefined)
          throw new Error(`${bucket.description}/${item.key} holds an entry without a valid timestamp`);
        const ns = tsToNs(ts);
        if (ns >= fromNs && ns < beforeNs) keys.set(keyPrefix(lineKey(raw)), ns);
      }
    }
  }
}
