/**
 * Checks of a state or output file named on the command line (a `tail --checkpoint`, say), made
 * before the first request: a folder that does not exist, a path that is a folder, or a file held
 * by another live process is one line and exit 2 at once, not a failure after a page was printed.
 */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { pathExists } from "@clarifai-audit/client/internal/state/durableFile.js";
import { acquireLock, type HeldLock, LockHeldError } from "@clarifai-audit/client/internal/state/lock.js";
import { checkOutputPath } from "@clarifai-audit/client/internal/state/outputPath.js";
import { UsageError } from "./exitCodes.js";

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

/**
 * Refuses `path` unless it can be created or rewritten: the output-path check every command shares
 * (packages/client/src/state/outputPath.ts: its folder exists and is writable, the path is absent or a regular file),
 * and an existing file must be readable and writable.
 * @throws OutputPathError naming `flag`, the path and what is wrong.
 */
export async function checkStatePath(flag: string, path: string): Promise<void> {
  await checkOutputPath(flag, path);
  if (!(await pathExists(path))) return;
  await access(path, constants.R_OK | constants.W_OK).catch(() => {
    throw new UsageError(`${flag}: ${path} is not readable and writable`);
  });
}

/**
 * Checks `path` ({@link checkStatePath}) and takes its lock (packages/client/src/state/lock.ts) for the life of the
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

/**
 * Refuses `path` unless it is a readable regular file (a `--ca` bundle, say), in one line naming
 * `flag`, before anything is opened.
 */
export async function checkReadableFile(flag: string, path: string): Promise<void> {
  const info = await stat(path).catch((error: unknown) => {
    throw new UsageError(`${flag}: cannot read ${path} (${codeOf(error)})`);
  });
  if (!info.isFile()) throw new UsageError(`${flag}: ${path} is not a regular file`);
  await access(path, constants.R_OK).catch(() => {
    throw new UsageError(`${flag}: ${path} is not readable`);
  });
}
