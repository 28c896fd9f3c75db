/**
 * Checks of a state or output file named on the command line (a `tail --checkpoint`, say), made
 * before the first request: a folder that does not exist, a path that is a folder, or a file held
 * by another live process is one line and exit 2 at once, not a failure after a page was printed.
 */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { acquireLock, type HeldLock, LockHeldError } from "../state/lock.js";
import { UsageError } from "./exitCodes.js";

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

/**
 * Refuses `path` unless it can be created or rewritten: its folder exists and is writable, and the
 * path itself is absent or a regular file.
 * @throws UsageError naming `flag`, the path and what is wrong.
 */
export async function checkStatePath(flag: string, path: string): Promise<void> {
  if (path.trim() === "") throw new UsageError(`${flag}: empty path; give a file name`);
  if (/[/\\]$/.test(path)) throw new UsageError(`${flag}: ${path} names a folder; give a file name`);
  const dir = dirname(resolve(path));
  const folder = await stat(dir).catch((error: unknown) => codeOf(error));
  if (typeof folder === "string") {
    throw new UsageError(
      folder === "ENOENT"
        ? `${flag}: the folder ${dir} does not exist; create it first`
        : `${flag}: cannot use the folder ${dir} (${folder})`,
    );
  }
  if (!folder.isDirectory()) throw new UsageError(`${flag}: ${dir} is not a folder`);
  await access(dir, constants.W_OK | constants.X_OK).catch(() => {
    throw new UsageError(`${flag}: the folder ${dir} is not writable`);
  });
  const file = await stat(path).catch((error: unknown) => codeOf(error));
  if (typeof file === "string") {
    if (file === "ENOENT") return;
    throw new UsageError(`${flag}: cannot use ${path} (${file})`);
  }
  if (!file.isFile()) throw new UsageError(`${flag}: ${path} is not a regular file`);
  await access(path, constants.R_OK | constants.W_OK).catch(() => {
    throw new UsageError(`${flag}: ${path} is not readable and writable`);
  });
}

/**
 * Checks `path` ({@link checkStatePath}) and takes its lock (src/state/lock.ts) for the life of the
 * process; a live holder is a UsageError, a lock left by a killed process is taken over.
 */
export async function lockStatePath(flag: string, path: string): Promise<HeldLock> {
  await checkStatePath(flag, path);
  try {
    return await acquireLock(path);
  } catch (error) {
    if (error instanceof LockHeldError) throw new UsageError(`${flag}: ${error.message}`);
    throw new UsageError(`${flag}: cannot lock ${path} (${codeOf(error)})`);
  }
}
