/**
 * One writer per S3 lake: the lock object `PREFIX/_clarifai_sync.lock` names its owner (host, pid,
 * a random run id) and a heartbeat time, refreshed every quarter of {@link LockTiming.staleMs}.
 * A lock is taken over only when stale: its heartbeat is older than `staleMs`, or its owner ran on
 * this host and its process is gone (a SIGKILLed run resumes at once, as with the local lake's pid
 * lock).
 *
 * With conditional writes the lock is created with If-None-Match: * (a stale one replaced with
 * If-Match on its ETag), so of two writers starting together one loses at the server; the state
 * object is then written with If-Match as well (lakeStorage.ts), which is the real guard. Without
 * them (s3rver; older MinIO/Ceph), the lock is written, read back after {@link LockTiming.settleMs}
 * (the last of two simultaneous writers wins; the other sees it and stops), and read again before
 * every state write: a writer that finds the lock another's stops before writing anything more.
 * What remains unguarded there is documented in docs/destinations.md (`## s3`).
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { SyncUsageError } from "../store.js";
import { type Bucket, PreconditionFailedError } from "./bucket.js";

/** The lock object's name below the prefix. */
export const LOCK_OBJECT = "_clarifai_sync.lock";
/** Largest lock object read. */
const MAX_LOCK_BYTES = 64 * 1024;

/** How long locks live. */
export interface LockTiming {
  /** A lock whose heartbeat is older than this is stale (default 60 s). */
  staleMs: number;
  /** Without conditional writes: the wait before the lock written is read back (default 1 s). */
  settleMs: number;
}

export const DEFAULT_LOCK_TIMING: LockTiming = { staleMs: 60_000, settleMs: 1_000 };

/** The lock object's content. */
interface LockBody {
  kind: "clarifai-audit-s3-lock";
  host: string;
  pid: number;
  run: string;
  /** ISO 8601, the owner's clock. */
  heartbeat: string;
  staleMs: number;
}

function parseLock(body: Buffer): LockBody | undefined {
  try {
    const o = JSON.parse(body.toString("utf8")) as Partial<LockBody>;
    if (
      o.kind === "clarifai-audit-s3-lock" &&
      typeof o.host === "string" &&
      typeof o.pid === "number" &&
      typeof o.run === "string" &&
      typeof o.heartbeat === "string" &&
      typeof o.staleMs === "number"
    )
      return o as LockBody;
  } catch {
    // not a lock of this tool: reported by the caller
  }
  return undefined;
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function describeOwner(l: LockBody): string {
  return `host ${l.host}, pid ${l.pid}, run ${l.run}, heartbeat ${l.heartbeat}`;
}

/** A held lock. */
export class S3WriterLock {
  readonly #bucket: Bucket;
  readonly #timing: LockTiming;
  /** The lock object's key: {@link LOCK_OBJECT}, or one writer's own (an account's stream sharing a prefix). */
  readonly #key: string;
  readonly #me: LockBody;
  #lost: string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> = Promise.resolve();

  private constructor(bucket: Bucket, timing: LockTiming, key: string) {
    this.#bucket = bucket;
    this.#timing = timing;
    this.#key = key;
    this.#me = {
      kind: "clarifai-audit-s3-lock",
      host: hostname(),
      pid: process.pid,
      run: randomBytes(8).toString("hex"),
      heartbeat: new Date().toISOString(),
      staleMs: timing.staleMs,
    };
  }

  /**
   * Takes the lock of `bucket`'s lake or stream (the object `key`, default {@link LOCK_OBJECT}), or
   * throws SyncUsageError (one line) naming its owner.
   */
  static async take(
    bucket: Bucket,
    timing: LockTiming = DEFAULT_LOCK_TIMING,
    key: string = LOCK_OBJECT,
  ): Promise<S3WriterLock> {
    const lock = new S3WriterLock(bucket, timing, key);
    await lock.#acquire();
    lock.#timer = setInterval(
      () => {
        lock.#beating = lock.#beat();
      },
      Math.max(10, timing.staleMs / 4),
    );
    lock.#timer.unref();
    return lock;
  }

  #refuse(held: LockBody | undefined, why: string): SyncUsageError {
    const owner = held === undefined ? "" : ` (${describeOwner(held)})`;
    return SyncUsageError.store(
      `another writer ${why} ${this.#bucket.description}${owner}; a lock is taken over once its heartbeat is ${Math.round(this.#timing.staleMs / 1000)} s old`,
    );
  }

  #stale(held: LockBody): boolean {
    const age = Date.now() - Date.parse(held.heartbeat);
    if (!(age <= Math.max(held.staleMs, this.#timing.staleMs))) return true;
    return held.host === this.#me.host && held.pid !== process.pid && processGone(held.pid);
  }

  async #acquire(): Promise<void> {
    const bucket = this.#bucket;
    const found = await bucket.get(this.#key, { maxBytes: MAX_LOCK_BYTES });
    let held: LockBody | undefined;
    if (found !== undefined) {
      held = parseLock(found.body);
      if (held === undefined)
        throw SyncUsageError.store(
          `${bucket.description}/${this.#key} is not a lock of clarifai-audit; remove it if no other program writes there`,
        );
      if (!this.#stale(held)) throw this.#refuse(held, "is writing to");
    }
    const body = this.#body();
    try {
      const conditions = bucket.conditionalWrites
        ? found === undefined
          ? { ifNoneMatch: true }
          : { ifMatch: found.etag }
        : {};
      await bucket.put(this.#key, body, { ...conditions, contentType: "application/json" });
    } catch (error) {
      if (error instanceof PreconditionFailedError) throw this.#refuse(undefined, "took the lock of");
      throw error;
    }
    if (!bucket.conditionalWrites) {
      // Two writers that found no lock both wrote one: the later write holds, and both see it.
      await sleep(this.#timing.settleMs);
      await this.check();
    }
  }

  #body(): Buffer {
    this.#me.heartbeat = new Date().toISOString();
    return Buffer.from(`${JSON.stringify(this.#me)}\n`);
  }

  /** Refreshes the heartbeat if the lock is still this writer's (else marks it lost). */
  async #beat(): Promise<void> {
    try {
      await this.#beating;
      if (this.#lost !== undefined) return;
      const found = await this.#bucket.get(this.#key, { maxBytes: MAX_LOCK_BYTES });
      const held = found === undefined ? undefined : parseLock(found.body);
      if (held?.run !== this.#me.run) {
        this.#lost = held === undefined ? "removed" : describeOwner(held);
        return;
      }
      const o = this.#bucket.conditionalWrites ? { ifMatch: (found as { etag: string }).etag } : {};
      await this.#bucket.put(this.#key, this.#body(), o);
    } catch (error) {
      if (error instanceof PreconditionFailedError) this.#lost = "replaced";
      // A failed heartbeat is retried at the next beat; check() reads the lock itself.
    }
  }

  /**
   * Before a state write: the lock must still be this writer's. Throws SyncUsageError naming the
   * new owner otherwise (this writer stops; what it wrote since its last state write is unlisted).
   */
  async check(): Promise<void> {
    const found = await this.#bucket.get(this.#key, { maxBytes: MAX_LOCK_BYTES });
    const held = found === undefined ? undefined : parseLock(found.body);
    if (held?.run !== this.#me.run) {
      if (this.#timer !== undefined) clearInterval(this.#timer);
      throw this.#refuse(held, "took the lock of");
    }
  }

  /** Stops the heartbeat and deletes the lock if it is still this writer's. */
  async release(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#beating;
    const found = await this.#bucket.get(this.#key, { maxBytes: MAX_LOCK_BYTES }).catch(() => undefined);
    if (found !== undefined && parseLock(found.body)?.run === this.#me.run)
      await this.#bucket.delete([this.#key]).catch(() => undefined);
  }
}
