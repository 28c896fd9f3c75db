/**
 * `tail`'s checkpoint: where the next poll starts and the keys of the entries already printed in the
 * overlap it re-reads, written atomically after the entries are out, so a restarted tail prints
 * every entry exactly once.
 */
import { readFile } from "node:fs/promises";
import { formatTs, parseTs, type Ts, tsToNs } from "../domain/timestamps.js";
import { writeFileAtomic } from "../export/manifest.js";
import { UsageError } from "./exitCodes.js";

/** Tail progress. */
export interface TailState {
  /** Where tail started (--from/--since or the first run's now); nothing older is ever read. */
  start: Ts;
  /** Newest timestamp printed, or where the first poll started when nothing was printed yet. */
  position: Ts;
  /** Keys of printed entries with timestamp ≥ position − lookback, with their timestamps. */
  seen: Map<string, bigint>;
}

interface CheckpointFile {
  version: 1;
  kind: "clarifai-audit-tail";
  query: string;
  start: string;
  position: string;
  seen: Array<[string, string]>;
  updatedAt: string;
}

/** Reads a checkpoint; undefined when the file does not exist. */
export async function readCheckpoint(path: string, query: string): Promise<TailState | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  let file: CheckpointFile;
  try {
    file = JSON.parse(text) as CheckpointFile;
  } catch {
    throw new UsageError(`--checkpoint: ${path} is not valid JSON`);
  }
  if (file.kind !== "clarifai-audit-tail" || file.version !== 1) {
    throw new UsageError(`--checkpoint: ${path} is not a clarifai-audit tail checkpoint`);
  }
  if (file.query !== query) {
    throw new UsageError(`--checkpoint: ${path} was written for a different query (${file.query})`);
  }
  const position = parseTs(file.position);
  const start = parseTs(file.start);
  if (position === undefined || start === undefined)
    throw new UsageError(`--checkpoint: ${path} has a bad position`);
  const seen = new Map<string, bigint>();
  for (const [key, iso] of file.seen) {
    const ts = parseTs(iso);
    if (ts === undefined) throw new UsageError(`--checkpoint: ${path} has a bad timestamp ${iso}`);
    seen.set(key, tsToNs(ts));
  }
  return { start, position, seen };
}

function nsIso(ns: bigint): string {
  const s = ns / 1_000_000_000n;
  const n = ns % 1_000_000_000n;
  return formatTs({ seconds: Number(s), nanos: Number(n) });
}

/** Writes the checkpoint atomically. */
export async function writeCheckpoint(path: string, query: string, state: TailState): Promise<void> {
  const file: CheckpointFile = {
    version: 1,
    kind: "clarifai-audit-tail",
    query,
    start: formatTs(state.start),
    position: formatTs(state.position),
    seen: [...state.seen].map(([key, ns]) => [key, nsIso(ns)]),
    updatedAt: new Date().toISOString(),
  };
  await writeFileAtomic(path, `${JSON.stringify(file)}\n`);
}
