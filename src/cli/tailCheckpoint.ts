import { formatTs, nsToTs, parseTs, type Ts, tsToNs } from "../domain/timestamps.js";
import { readStateFile, writeFileAtomic } from "../state/durableFile.js";
import { UsageError } from "./exitCodes.js";

/** Tail progress. */
export interface TailState {
  /** Where tail started (--from/--since or the first run's now); nothing older is ever read. */
  start: Ts;
  /** Newest timestamp printed, or where the first poll started when nothing was printed yet. */
  position: Ts;
  /** Keys of printed entries with timestamp ≥ position − lookback, with their timestamps. */
  seen: Map<string, bigint>;
  /**
   * Printed entries now behind the lookback (timestamp in [start, position − lookback)); undefined
   * when the checkpoint predates the count, so the next poll measures it instead.
   */
  printedBehind: number | undefined;
  /** Entries found behind the lookback that were never printed: they landed too late. */
  lateSkipped: number;
}

interface CheckpointFile {
  version: 1;
  kind: "clarifai-audit-tail";
  query: string;
  start: string;
  position: string;
  seen: Array<[string, string]>;
  printedBehind?: number;
  lateSkipped?: number;
  updatedAt: string;
}

const WHAT_TO_DO = "delete it to start afresh, or pass another --checkpoint";

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/** Why `file` is not a checkpoint, or undefined when it has the schema's shape. */
function shapeProblem(file: unknown): string | undefined {
  if (file === null || typeof file !== "object" || Array.isArray(file)) {
    return `holds ${file === null ? "null" : Array.isArray(file) ? "an array" : `a ${typeof file}`}, not a checkpoint object`;
  }
  const f = file as Record<string, unknown>;
  if (f.kind !== "clarifai-audit-tail") return "is not a clarifai-audit tail checkpoint (kind)";
  if (f.version !== 1) return `has version ${JSON.stringify(f.version)}; this clarifai-audit reads version 1`;
  for (const field of ["query", "start", "position"] as const) {
    if (typeof f[field] !== "string") return `has no string "${field}"`;
  }
  if (!Array.isArray(f.seen)) return 'has no "seen" array';
  for (const [i, pair] of f.seen.entries()) {
    if (
      !Array.isArray(pair) ||
      pair.length !== 2 ||
      typeof pair[0] !== "string" ||
      typeof pair[1] !== "string"
    )
      return `has a bad "seen[${i}]" (expected ["key", "timestamp"])`;
  }
  if (f.printedBehind !== undefined && !isCount(f.printedBehind))
    return 'has a bad "printedBehind" (expected a count)';
  if (f.lateSkipped !== undefined && !isCount(f.lateSkipped))
    return 'has a bad "lateSkipped" (expected a count)';
  return undefined;
}

/**
 * Reads a checkpoint; undefined when the file does not exist.
 * @throws UsageError (one line: the file, what is wrong, what to do) for anything but a valid
 * checkpoint of this query.
 */
export async function readCheckpoint(path: string, query: string): Promise<TailState | undefined> {
  const bad = (what: string) => new UsageError(`--checkpoint: ${path} ${what}; ${WHAT_TO_DO}`);
  const text = await readStateFile(
    path,
    (code) => new UsageError(`--checkpoint: cannot read ${path} (${code})`),
  );
  if (text === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad("is not valid JSON");
  }
  const problem = shapeProblem(parsed);
  if (problem !== undefined) throw bad(problem);
  const file = parsed as CheckpointFile;
  if (file.query !== query) {
    throw new UsageError(
      `--checkpoint: ${path} was written for a different query (${file.query}); use the same flags, or another --checkpoint`,
    );
  }
  const position = parseTs(file.position);
  const start = parseTs(file.start);
  if (position === undefined) throw bad(`has a bad "position" ${JSON.stringify(file.position)}`);
  if (start === undefined) throw bad(`has a bad "start" ${JSON.stringify(file.start)}`);
  const seen = new Map<string, bigint>();
  for (const [key, iso] of file.seen) {
    const ts = parseTs(iso);
    if (ts === undefined) throw bad(`has a bad timestamp ${JSON.stringify(iso)} in "seen"`);
    seen.set(key, tsToNs(ts));
  }
  return { start, position, seen, printedBehind: file.printedBehind, lateSkipped: file.lateSkipped ?? 0 };
}

function nsIso(ns: bigint): string {
  return formatTs(nsToTs(ns));
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
    ...(state.printedBehind !== undefined ? { printedBehind: state.printedBehind } : {}),
    lateSkipped: state.lateSkipped,
    updatedAt: new Date().toISOString(),
  };
  await writeFileAtomic(path, `${JSON.stringify(file)}\n`);
}
