/**
 * The stream layout on S3 (`s3://BUCKET/PREFIX?layout=stream`) as a {@link SyncStore}: the log as
 * gzip JSON-lines objects under `PREFIX/YYYY/MM/DD/HH/` for SIEM ingesters (names and bytes:
 * streamLayout.ts), exactly once under SIGKILL at any instant (the commit and its recovery:
 * streamCommit.ts; the state and intent objects: streamState.ts).
 *
 * `open` reads the state object (or creates it, which proves the credentials may write), then
 * adopts what a crashed commit left (the intent's objects present in the bucket) and commits that
 * as a recovery, before the walk offers anything. Each commit writes the intent, the objects, then
 * the state; with `bucket.conditionalWrites` the state is replaced only if it is the one this store
 * read or wrote last (If-Match) and objects are created only if absent (If-None-Match), so a writer
 * the lock did not stop cannot silently interleave.
 */
import { randomBytes } from "node:crypto";
import { canonicalJson } from "@clarifai-audit/client/internal/domain/canonicalJson.js";
import { tsToNs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import { identityMismatch } from "@clarifai-audit/client/internal/export/identity.js";
import type { ExportEntry } from "@clarifai-audit/client/internal/export/sink.js";
import { ocsfEventJson } from "@clarifai-audit/client/internal/ocsf/index.js";
import { crashPoint } from "@clarifai-audit/client/internal/state/crashPoint.js";
import type { DestinationOptions } from "../destinationOptions.js";
import { decodeKeys, encodeKeys, type KeyTable } from "../keyTable.js";
import {
  type SyncCommit,
  type SyncIdentity,
  type SyncState,
  type SyncStore,
  SyncUsageError,
} from "../store.js";
import { mustTs } from "../syncRun.js";
import { type Bucket, openBucket } from "./bucket.js";
import { DEFAULT_LOCK_TIMING, LOCK_OBJECT, type LockTiming, S3WriterLock } from "./lakeLock.js";
import { adoptIntent, readKeysBack, type StagedObject, stageCommit } from "./streamCommit.js";
import {
  hourlyJsonLines,
  intentObjectKey,
  lockObjectKey,
  newStreamId,
  type StreamObjectFormat,
  stateObjectKey,
} from "./streamLayout.js";
import {
  MAX_STREAM_INTENT_BYTES,
  MAX_STREAM_STATE_BYTES,
  parseStreamIntent,
  parseStreamState,
  STREAM_SCHEMA_VERSION,
  type StreamIntentObject,
  type StreamStateObject,
  serialize,
} from "./streamState.js";
import type { S3Target } from "./url.js";

/** The words of the refusal of a stream holding another log (the field names are mapped to flags). */
const MISMATCH = { reader: "this sync", remedy: "use another `dest` prefix, or the same filters" } as const;

/** Objects of one commit written at once. */
const PUTS_AT_ONCE = 4;

/** What {@link createS3StreamStore} takes: the destination's options, and (tests) the lock's timing. */
export type StreamStoreOptions = DestinationOptions & { lock?: LockTiming };

class S3StreamStore implements SyncStore {
  readonly description: string;
  /**
   * Entries per commit: a commit rewrites the state object (with the reconcile window's keys), so
   * fewer, larger commits; an hour's object of 10 000 entries is about 1 MB of gzip.
   */
  readonly commitEntries = 10_000;
  readonly #target: S3Target;
  readonly #env: DestinationOptions["env"];
  #bucket: Bucket | undefined;
  #lock: S3WriterLock | undefined;
  readonly #lockTiming: LockTiming;
  readonly #format: StreamObjectFormat;
  /** The state's `layout`: absent for the stream layout (states written before there were others). */
  readonly #layout: "security-lake" | undefined;
  readonly #account: string | undefined;
  readonly #stateKey: string;
  readonly #intentKey: string;
  #state: StreamStateObject | undefined;
  /** The state object's ETag as this store last read or wrote it (If-Match). */
  #etag: string | undefined;
  #keys: KeyTable = new Map();
  /** A commit failed part-way: the keys in memory are ahead of the bucket; reopen to go on. */
  #broken: Error | undefined;
  /** Set by {@link hold}: `close` keeps the connection (and the lock). */
  #holding = false;

  constructor(target: S3Target, o: StreamStoreOptions, format: StreamObjectFormat) {
    this.#target = target;
    this.#lockTiming = o.lock ?? DEFAULT_LOCK_TIMING;
    this.#env = o.env;
    this.description = target.description;
    this.#format = format;
    this.#layout = target.layout === "security-lake" ? "security-lake" : undefined;
    this.#account = o.account;
    this.#stateKey = stateObjectKey(o.account);
    this.#intentKey = intentObjectKey(o.account);
  }

  /** Whether `key` is one of this account's stream objects. */
  #isOwn = (key: string): boolean => this.#format.isOwn(key, this.#account);

  async open(identity: SyncIdentity): Promise<SyncState | undefined> {
    this.#broken = undefined;
    this.#state = undefined;
    // Held since the last run (hold): the connection is reused.
    this.#bucket ??= await openBucket(this.#target, this.#env);
    const bucket = this.#bucket;
    try {
      // The S3 destinations' one writer lock (lakeLock.ts), kept across runs by hold().
      // One per account when a collector's accounts share the prefix (lockObjectKey), else the prefix's.
      this.#lock ??= await S3WriterLock.take(
        bucket,
        this.#lockTiming,
        this.#account === undefined ? LOCK_OBJECT : lockObjectKey(this.#account),
      );
      return await this.#load(identity, bucket);
    } catch (error) {
      await this.#lock?.release().catch(() => undefined);
      this.#lock = undefined;
      bucket.close();
      this.#bucket = undefined;
      throw error;
    }
  }

  async #load(identity: SyncIdentity, bucket: Bucket): Promise<SyncState | undefined> {
    const got = await bucket.get(this.#stateKey, { maxBytes: MAX_STREAM_STATE_BYTES });
    if (got === undefined) {
      const created: StreamStateObject = {
        kind: "clarifai-audit-s3-stream",
        schemaVersion: STREAM_SCHEMA_VERSION,
        stream: newStreamId(randomBytes(4)),
        format: this.#format.lines,
        ...(this.#layout !== undefined ? { layout: this.#layout } : {}),
        ...(this.#account !== undefined ? { account: this.#account } : {}),
        seq: 0,
        state: {
          version: 1,
          identity,
          totals: { entries: 0, late: 0, runs: 0 },
          updatedAt: new Date().toISOString(),
        },
        keys: "",
      };
      // Created before the walk: a bucket that refuses writes is refused at open, not after a page.
      this.#etag = undefined;
      await this.#putState(bucket, created);
      this.#state = created;
      this.#keys = new Map();
      return undefined;
    }
    const place = `${bucket.description}/${this.#stateKey}`;
    const state = await parseStreamState(got.body, place);
    this.#etag = got.etag;
    if (canonicalJson(state.state.identity) !== canonicalJson(identity))
      throw SyncUsageError.store(
        identityMismatch({ ...MISMATCH, place, held: state.state.identity, wanted: identity }),
      );
    if (state.layout !== this.#layout)
      throw SyncUsageError.store(
        `${place} is the state of the ${state.layout ?? "stream"} layout, not ${this.#layout ?? "stream"}; use another prefix for another layout`,
      );
    if (state.format !== this.#format.lines)
      throw SyncUsageError.store(
        `${place} holds a stream of ${state.format} lines, not ${this.#format.lines}; use another prefix for another \`format\``,
      );
    if (state.account !== this.#account)
      throw SyncUsageError.store(
        `${place} is the stream of account ${JSON.stringify(state.account)}, not ${JSON.stringify(this.#account)}`,
      );
    const keys = decodeKeys(state.keys);
    const intent = await this.#readIntent(bucket);
    if (intent !== undefined && intent.stream === state.stream && intent.seq === state.seq + 1) {
      // A commit died between its intent and its state: keep what it wrote, count it as held.
      await adoptIntent(bucket, state, keys, intent.objects);
      state.seq = intent.seq;
      state.keys = encodeKeys(keys);
      state.state = { ...state.state, updatedAt: new Date().toISOString() };
      await this.#putState(bucket, state);
      crashPoint("stream.recovered");
    }
    this.#state = state;
    this.#keys = keys;
    return state.seq === 0 ? undefined : state.state;
  }

  async #readIntent(bucket: Bucket): Promise<StreamIntentObject | undefined> {
    const got = await bucket.get(this.#intentKey, { maxBytes: MAX_STREAM_INTENT_BYTES });
    if (got === undefined) return undefined;
    return parseStreamIntent(got.body, `${bucket.description}/${this.#intentKey}`, this.#isOwn);
  }

  /** Replaces the state object: only the one this store holds, where the bucket can say so. */
  async #putState(bucket: Bucket, state: StreamStateObject): Promise<void> {
    // Without conditional writes the lock is the only guard: a writer that lost it stops here.
    await this.#lock?.check();
    const conditional = bucket.conditionalWrites;
    const { etag } = await bucket.put(this.#stateKey, serialize(state), {
      contentType: "application/json",
      ...(conditional ? (this.#etag === undefined ? { ifNoneMatch: true } : { ifMatch: this.#etag }) : {}),
    });
    this.#etag = etag;
  }

  /**
   * Makes the keys cover every entry the stream holds dated at or after `from` (see
   * SyncStore.prepare): the keys older than the oldest one kept are read back from the hour folders.
   */
  async prepare(from: string): Promise<void> {
    const { state, bucket } = this.#opened();
    const fromNs = nsOf(from);
    const keysFrom = state.keysFrom === undefined ? undefined : BigInt(state.keysFrom);
    if (keysFrom === undefined || fromNs >= keysFrom) return;
    await readKeysBack(bucket, { isOwn: this.#isOwn, format: this.#format }, this.#keys, fromNs, keysFrom);
    // Saved with the next commit's keys (a crash before it reads them back again).
    state.keysFrom = String(fromNs);
  }

  #opened(): { state: StreamStateObject; bucket: Bucket } {
    if (this.#state === undefined || this.#bucket === undefined)
      throw new Error("the S3 stream store is not open");
    if (this.#broken !== undefined) throw this.#broken;
    return { state: this.#state, bucket: this.#bucket };
  }

  async commit(commit: SyncCommit): Promise<{ inserted: number; late: number }> {
    const { state, bucket } = this.#opened();
    try {
      return await this.#commit(bucket, state, commit);
    } catch (error) {
      // The keys already hold this commit's entries: only a new open (which adopts what was
      // written) may go on from here.
      this.#broken = error as Error;
      throw error;
    }
  }

  async #commit(
    bucket: Bucket,
    state: StreamStateObject,
    commit: SyncCommit,
  ): Promise<{ inserted: number; late: number }> {
    const seq = state.seq + 1;
    const staged = await stageCommit(commit.entries, this.#keys, {
      format: this.#format,
      ...(this.#account !== undefined ? { account: this.#account } : {}),
      stream: state.stream,
      seq,
      ...(commit.lateAtOrBefore !== undefined ? { lateAtOrBeforeNs: nsOf(commit.lateAtOrBefore) } : {}),
      ...(commit.forgetKeysBefore !== undefined ? { forgetBeforeNs: nsOf(commit.forgetKeysBefore) } : {}),
    });
    if (staged.objects.length > 0) {
      const intent: StreamIntentObject = {
        kind: "clarifai-audit-s3-stream-intent",
        schemaVersion: STREAM_SCHEMA_VERSION,
        stream: state.stream,
        seq,
        objects: staged.objects.map(({ body: _body, ...o }) => o),
      };
      // The intent is overwritten whole: only by the lock's holder (see #putState).
      await this.#lock?.check();
      await bucket.put(this.#intentKey, serialize(intent), { contentType: "application/json" });
      crashPoint("stream.intent-written");
      await putObjects(bucket, staged.objects, this.#format.contentType);
    }
    const totals = state.state.totals;
    const next: StreamStateObject = {
      ...state,
      seq,
      state: {
        ...commit.state,
        totals: {
          entries: totals.entries + staged.inserted,
          late: totals.late + staged.late,
          runs: commit.state.totals.runs,
        },
      },
      keys: encodeKeys(this.#keys),
    };
    if (commit.forgetKeysBefore !== undefined) {
      const forgot = nsOf(commit.forgetKeysBefore);
      if (state.keysFrom === undefined || forgot > BigInt(state.keysFrom)) next.keysFrom = String(forgot);
    }
    await this.#putState(bucket, next);
    this.#state = next;
    crashPoint("stream.state-committed");
    return { inserted: staged.inserted, late: staged.late };
  }

  /** What the state counts: the stream's entries (its objects are never rewritten or deleted). */
  async count(): Promise<number> {
    return this.#opened().state.state.totals.entries;
  }

  async close(): Promise<void> {
    this.#state = undefined;
    this.#keys = new Map();
    if (this.#holding) return;
    try {
      await this.#lock?.release();
    } finally {
      this.#format.close();
      this.#lock = undefined;
      this.#bucket?.close();
      this.#bucket = undefined;
    }
  }

  hold(): void {
    this.#holding = true;
  }

  async release(): Promise<void> {
    this.#holding = false;
    await this.close();
  }
}

/** Writes a commit's objects, a few at once. */
async function putObjects(
  bucket: Bucket,
  objects: readonly StagedObject[],
  contentType: string,
): Promise<void> {
  const conditional = bucket.conditionalWrites;
  let next = 0;
  const worker = async () => {
    while (next < objects.length) {
      const o = objects[next++] as StagedObject;
      // Never overwrite: every name is new (seq), so one already there was written by someone else.
      await bucket.put(o.key, o.body, {
        contentType,
        ...(conditional ? { ifNoneMatch: true } : {}),
      });
      crashPoint("stream.object-written");
    }
  };
  await Promise.all(Array.from({ length: Math.min(PUTS_AT_ONCE, objects.length) }, worker));
}

/** A commit's or a run's instant as nanoseconds (the sync's own text: a bad one is a bug, one line). */
function nsOf(text: string): bigint {
  return tsToNs(mustTs(text, "a commit's bound"));
}

/** Each entry's line: its JSON, or (`ocsf`) its OCSF event, whose `metadata.uid` is the entry id. */
function lineEncoder(o: DestinationOptions): (entry: ExportEntry) => string {
  if (o.format === "json") return (entry) => entry.json();
  const account = o.account;
  return (entry) =>
    ocsfEventJson(entry.decode(), entry.json(), {
      ...(account !== undefined ? { account } : {}),
      entryId: entry.key(),
    });
}

/**
 * The stream-layout store of `target` (made by store.ts; the bucket is opened by `open`). Lines are
 * `entry.json()`, or the OCSF event for `o.format === "ocsf"`.
 */
export async function createS3StreamStore(target: S3Target, o: StreamStoreOptions): Promise<SyncStore> {
  return new S3StreamStore(target, o, hourlyJsonLines(o.format, lineEncoder(o)));
}

/**
 * The stream store of `target` with another object `format` (the Security Lake layout): the same
 * commit protocol, state and recovery.
 */
export function createS3ObjectStore(
  target: S3Target,
  o: StreamStoreOptions,
  format: StreamObjectFormat,
): SyncStore {
  return new S3StreamStore(target, o, format);
}
