/**
 * An exclusive lock on a state file (an export's output, a tail or watch checkpoint, a sync
 * destination): `PATH.lock`, holding the owner's pid and host. A lock whose owner is gone (killed
 * with SIGKILL, say) is stale and is taken over, so a crash never blocks the next `--resume`; a
 * live owner makes the second process fail at once with {@link LockHeldError}.
 *
 * The lock file is written whole beside it first and published with link(2), which fails if the
 * lock exists: a lock is never seen empty or half-written, so a process killed while taking it
 * leaves either no lock or a complete one (and at worst a private temporary file, removed by the
 * next taker once its pid is gone). A stale lock is removed only by the one taker that holds its
 * claim, `PATH.lock.claim-ID` (ID: the stale file's inode and change time), published the same way;
 * so of many takers that judged one lock stale, one removes it, and never a fresh lock that took its
 * place. (Moving the stale lock aside and putting back what turned out fresh, as this did before,
 * left an instant with no lock in which a third taker got in: two holders at once.) A claim whose
 * taker died is itself removed under a claim of its own.
 */

import { statSync, unlinkSync } from "node:fs";
import { link, open, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { ClarifaiAuditError } from "../domain/errors.js";
import { processAlive, sweepDeadWriters } from "./durableFile.js";
import { readRegularFile } from "./regularFile.js";

/** Who holds a lock, as its file says. */
export interface LockOwner {
  pid: number;
  host: string;
  startedAt?: string;
}

/** Raised when another live process holds the lock. */
export class LockHeldError extends ClarifaiAuditError {
  constructor(
    readonly path: string,
    readonly owner: LockOwner,
  ) {
    super(
      `${path} is locked by another process (pid ${owner.pid} on ${owner.host}); wait for it to finish or stop it`,
    );
    this.name = "LockHeldError";
  }
}

/** A lock path holding what no lock is (not a regular file, or too large): refused, never waited on. */
export class LockFileError extends ClarifaiAuditError {
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
    this.name = "LockFileError";
  }
}

/** A held lock; `release` is idempotent and also runs on process exit. */
export interface HeldLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Age under which an unparsable lock (not written by this module) is treated as held, in ms. */
const UNPARSABLE_GRACE_MS = 5000;
const TAKE_ATTEMPTS = 5;

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException).code;
}

/** Largest lock file read: an owner record is about 100 bytes. */
const MAX_LOCK_BYTES = 64 * 1024;

/**
 * The text of a lock (or claim) file, read as every state file is: a regular file only, bounded
 * (a FIFO put in its place hung the taker for good); undefined when there is none.
 * @throws LockFileError naming the file: not a regular file, too large, unreadable.
 */
async function readLock(path: string): Promise<string | undefined> {
  const fail = (problem: string) => new LockFileError(path, problem);
  return (await readRegularFile(path, MAX_LOCK_BYTES, fail, "a lock file"))?.toString("utf8");
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const parsed = JSON.parse(text) as Partial<LockOwner> | null;
    if (
      parsed !== null &&
      typeof parsed === "object" &&
      Number.isInteger(parsed.pid) &&
      typeof parsed.host === "string"
    )
      return parsed as LockOwner;
  } catch {}
  return undefined;
}

/** Private names of not-yet-published lock files: `.NAME.lock.PID.tmp` beside the lock. */
function tempName(path: string, pid: number, tag: string): string {
  return join(dirname(path), `.${basename(path)}.${pid}.${tag}`);
}

/** Writes the owner record to a private file and links it to `path`; false when `path` exists. */
async function publish(path: string, me: LockOwner): Promise<{ ino: number } | false> {
  const tmp = tempName(path, me.pid, `tmp-${Math.random().toString(36).slice(2, 10)}`);
  const fh = await open(tmp, "wx");
  try {
    let ino: number;
    try {
      await fh.writeFile(`${JSON.stringify(me)}\n`);
      await fh.sync();
      // The link is this inode: read it here, since another taker may have `path` moved aside
      // for an instant (see removeIfSame) right after the link.
      ino = (await fh.stat()).ino;
    } finally {
      await fh.close();
    }
    await link(tmp, path);
    return { ino };
  } catch (error) {
    if (code(error) === "EEXIST") return false;
    throw error;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

/** A file's identity: its inode and change time (an inode number alone may be reused). */
async function identity(path: string): Promise<string | undefined> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.ino}-${s.ctimeNs}`;
  } catch (error) {
    if (code(error) === "ENOENT") return undefined;
    throw error;
  }
}

/** Deepest chain of claims of claims followed (each link a taker that died mid-takeover). */
const MAX_CLAIM_DEPTH = 4;

/**
 * Removes `file` (the lock `lockPath`, or a claim of it) if it is still the file `id` judged stale,
 * under the exclusive claim `FILE.claim-ID`. A claim held by a live process means it is taking the
 * lock over: {@link LockHeldError}. A claim whose taker is gone is removed the same way first.
 */
async function removeStale(
  lockPath: string,
  file: string,
  id: string,
  me: LockOwner,
  depth = 0,
): Promise<void> {
  if (depth > MAX_CLAIM_DEPTH) throw new Error(`could not take ${lockPath}: its takeovers keep dying`);
  const claim = `${file}.claim-${id}`;
  for (let attempt = 0; ; attempt++) {
    if ((await publish(claim, me)) !== false) break;
    if (attempt >= TAKE_ATTEMPTS) throw new Error(`could not take ${lockPath}: it keeps changing`);
    const claimId = await identity(claim);
    const owner = parseOwner((await readLock(claim).catch(() => undefined)) ?? "");
    // Gone meanwhile (its taker finished): claim again.
    if (claimId === undefined) continue;
    // A claim is published whole (link), so one that does not parse was not written here: held.
    if (owner === undefined || owner.host !== me.host || processAlive(owner.pid))
      throw new LockHeldError(lockPath, owner ?? { pid: 0, host: "unknown" });
    await removeStale(lockPath, claim, claimId, me, depth + 1);
  }
  try {
    // Only this claim's holder removes the file `id`, and its owner is gone: it is still there, or
    // gone, but never replaced between this check and the unlink.
    if ((await identity(file)) === id) await unlink(file);
  } finally {
    await unlink(claim).catch(() => undefined);
  }
}

/**
 * Takes the lock `target + ".lock"`. Throws {@link LockHeldError} when a live process (on this
 * host) holds it; a lock from another host is treated as held, since its owner cannot be checked.
 */
export async function acquireLock(target: string): Promise<HeldLock> {
  const path = `${target}.lock`;
  const me: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  await sweepDeadWriters(path, /^(?:tmp|stale)-[0-9a-z]+$/);
  for (let attempt = 0; attempt < TAKE_ATTEMPTS; attempt++) {
    const published = await publish(path, me);
    if (published !== false) return held(path, published.ino);
    let text: string | undefined;
    let id: string | undefined;
    try {
      id = await identity(path);
      text = await readLock(path);
    } catch (error) {
      // Released between our link and our read: try again.
      if (code(error) === "ENOENT") continue;
      throw error;
    }
    if (id === undefined || text === undefined) continue;
    const owner = parseOwner(text);
    if (owner === undefined) {
      // Not written by this module (link publishing never shows a partial file): held while fresh.
      const age = await stat(path).then(
        (s) => Date.now() - s.mtimeMs,
        () => Number.POSITIVE_INFINITY,
      );
      if (age < UNPARSABLE_GRACE_MS) throw new LockHeldError(path, { pid: 0, host: "unknown" });
    } else if (owner.host !== me.host || processAlive(owner.pid)) {
      throw new LockHeldError(path, owner);
    }
    await removeStale(path, path, id, me);
  }
  throw new Error(`could not take ${path}: it keeps changing`);
}

function held(path: string, ino: number): HeldLock {
  let released = false;
  const mine = async (): Promise<boolean> => (await stat(path).catch(() => undefined))?.ino === ino;
  const onExit = () => {
    if (released) return;
    try {
      // Sync on purpose: 'exit' handlers cannot await. Only our own file is removed.
      if (statSync(path).ino === ino) unlinkSync(path);
    } catch {}
  };
  process.once("exit", onExit);
  return {
    path,
    async release() {
      if (released) return;
      released = true;
      process.removeListener("exit", onExit);
      if (await mine()) await unlink(path).catch(() => undefined);
    },
  };
}
