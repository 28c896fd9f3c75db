/**
 * The `query` shell's history file: `${XDG_STATE_HOME:-~/.local/state}/clarifai-audit/query_history`,
 * one entry a line, oldest first, at most {@link HISTORY_SIZE} entries, mode 0600 in a 0700 folder
 * (typed SQL may name what an auditor looked for). The one file `query` writes; `--no-history` turns it off.
 */
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join } from "node:path";
import type { CliEnv } from "./cliIo.js";

/** The entries kept, in the file and in the shell. */
export const HISTORY_SIZE = 1000;

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
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .slice(-HISTORY_SIZE)
    .reverse();
}

/**
 * Writes `entries` (newest first) to `path`: a new file of mode 0600 renamed over the old one, so a
 * crash leaves the old file or the new one, and a file that was readable by others no longer is.
 */
export async function saveHistory(path: string, entries: readonly string[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  // A leftover of a crash keeps its mode through writeFile: start afresh.
  await rm(temporary, { force: true });
  const lines = entries.slice(0, HISTORY_SIZE).reverse();
  await writeFile(temporary, lines.map((l) => `${l}\n`).join(""), { mode: 0o600 });
  await rename(temporary, path);
}
