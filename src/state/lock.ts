/**
 * An exclusive lock on a state file (an export's output, a tail or watch checkpoint, a sync
 * destination): `PATH.lock`, created with O_EXCL and holding the owner's pid and host. A lock whose
 * owner is gone (killed with SIGKILL, say) is stale and is taken over, so a crash never blocks the
 * next `--resume`; a live owner makes the second process fail at once with {@link LockHeldError}.
 */

import { unlinkSync } from "node:fs";
import { open, readFile, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";

/** Raised when another live process holds the lock. */
export class LockHeldError extends Error {
  constructor(
    readonly path: string,
    readonly owner: { pid: number; host: string; startedAt?: string },
  ) {
    super(
      `${path} is locked by another process (pid ${owner.pid} on ${owner.host}); wait for it to finish or stop it`,
    );
    this.name = "LockHeldError";
  }
}

/** A held lock; `release` is idempotent and also runs on process exit. */
export interface HeldLock {
  readonly path: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Takes the lock `target + ".lock"`. Throws {@link LockHeldError} when a live process (on this
 * host) holds it; a lock from another host is treated as held, since its owner cannot be checked.
 */
export async function acquireLock(target: string): Promise<HeldLock> {
  const path = `${target}.lock`;
  const me = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const fh = await open(path, "wx");
      try {
        await fh.writeFile(`${JSON.stringify(me)}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      let released = false;
      const onExit = () => {
        if (!released) {
          try {
            // Sync on purpose: 'exit' handlers cannot await.
            unlinkSync(path);
          } catch {}
        }
      };
      process.once("exit", onExit);
      return {
        path,
        async release() {
          if (released) return;
          released = true;
          process.removeListener("exit", onExit);
          await unlink(path).catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let owner: { pid: number; host: string; startedAt?: string } | undefined;
    try {
      const parsed = JSON.parse(await readFile(path, "utf8")) as unknown;
      if (
        parsed !== null &&
        typeof parsed === "object" &&
        Number.isInteger((parsed as { pid?: unknown }).pid) &&
        typeof (parsed as { host?: unknown }).host === "string"
      )
        owner = parsed as { pid: number; host: string; startedAt?: string };
    } catch (error) {
      // Vanished between our open and read: try again.
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
      // Unreadable or half-written: its owner may be writing it right now.
    }
    if (owner === undefined) {
      const age = await stat(path).then(
        (s) => Date.now() - s.mtimeMs,
        () => Number.POSITIVE_INFINITY,
      );
      if (age < 5000) throw new LockHeldError(path, { pid: 0, host: "unknown" });
    }
    if (owner !== undefined && (owner.host !== me.host || alive(owner.pid)))
      throw new LockHeldError(path, owner);
    await unlink(path).catch(() => undefined);
  }
  throw new Error(`could not take ${path}: it keeps changing`);
}
