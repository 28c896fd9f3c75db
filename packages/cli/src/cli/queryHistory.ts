/**
 * The `query` shell's history file: `${XDG_STATE_HOME:-~/.local/state}/clarifai-audit/query_history`,
 * one entry a line, oldest first, at most {@link HISTORY_SIZE} entries (each shell adds its own at the
 * end), mode 0600 in a 0700 folder
 * (typed SQL may name what an auditor looked for). The one file `query` writes; `--no-history` turns it off.
 */
import { constants } from "node:fs";
import { mkdir, open, rename, rm, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import { readRegularFile } from "@clarifai-audit/client/internal/state/regularFile.js";
import type { CliEnv } from "./cliIo.js";

/** The entries kept, in the file and in the shell. */
export const HISTORY_SIZE = 1000;
/**
 * Most bytes of history read: 1000 entries of up to 4 KiB, and then some. A longer file (another
 * program's, or one grown by hand) is refused rather than read whole.
 */
const MAX_HISTORY_BYTES = 8 * 1024 * 1024;

/**
 * The history file's path from the run's environment (XDG_STATE_HOME when absolute, as the XDG spec
 * says, else HOME's `.local/state`); undefined when neither is set.
 */
export function historyPath(env: CliEnv): string | undefined {
  const state = env.XDG_STATE_HOME;
  if (state !== undefined && isAbsolute(state)) return join(state, "clarifai-audit", "query_history");
  const home = env.HOME;
  if (home === undefined || !isAbsolute(home)) return undefined;
  return join(home, ".local", "state", "clarifai-audit", "query_history");
}

/** The entries of the file at `path`, newest first (readline's order); none when it does not exist. */
export async function loadHistory(path: string): Promise<string[]> {
  return (await historyLines(path)).slice(-HISTORY_SIZE).reverse();
}

/** The file's entries, oldest first: a regular file only, bounded, read through one open file. */
async function historyLines(path: string): Promise<string[]> {
  const bytes = await readRegularFile(
    path,
    MAX_HISTORY_BYTES,
    (problem) => new Error(problem),
    "a history file",
  );
  return (bytes?.toString("utf8") ?? "").split("\n").filter((line) => line.trim() !== "");
}

/**
 * Adds `added` (oldest first) to the end of the file at `path`, so that shells open side by side each
 * add theirs rather than the last to write dropping the others'; once the file holds more than
 * {@link HISTORY_SIZE} entries, it is written anew with the newest. The file is mode 0600 after.
 */
export async function appendHistory(path: string, added: readonly string[]): Promise<void> {
  if (added.length === 0) return;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  // O_NOFOLLOW and the check of what was opened: only a regular file is appended to and has its
  // mode changed, never what a symlink planted at the path points to.
  const fh = await open(
    path,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    if (!(await fh.stat()).isFile()) throw new Error("it is not a regular file");
    await fh.chmod(0o600);
    await fh.appendFile(added.map((l) => `${l}\n`).join(""));
  } finally {
    await fh.close();
  }
  const lines = await historyLines(path);
  if (lines.length > HISTORY_SIZE) await rewrite(path, lines.slice(-HISTORY_SIZE));
}

/**
 * Writes `lines` (oldest first) to `path`: a new file of mode 0600 renamed over the old one, so a
 * crash leaves the old file or the new one.
 */
async function rewrite(path: string, lines: readonly string[]): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  // A leftover of a crash keeps its mode through writeFile: start afresh.
  await rm(temporary, { force: true });
  await writeFile(temporary, lines.map((l) => `${l}\n`).join(""), { mode: 0o600 });
  await rename(temporary, path);
}
