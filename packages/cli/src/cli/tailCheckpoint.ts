import {
  formatTs,
  nsToTs,
  parseTs,
  type Ts,
  tsToNs,
} from "@clarifai-audit/client/internal/domain/timestamps.js";
import { writeFileAtomic } from "@clarifai-audit/client/internal/state/durableFile.js";
import {
  COUNT,
  repeatedSeenKey,
  SEEN_KEYS,
  TIMESTAMP,
} from "@clarifai-audit/client/internal/state/schemaParts.js";
import {
  escapeControls,
  readValidatedState,
  StateFileError,
} from "@clarifai-audit/client/internal/state/stateReader.js";
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

/** The JSON Schema of {@link CheckpointFile}. */
export const TAIL_CHECKPOINT_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["version", "kind", "query", "start", "position", "seen", "updatedAt"],
  properties: {
    version: { const: 1 },
    kind: { const: "clarifai-audit-tail" },
    query: { type: "string", maxLength: 100_000 },
    start: TIMESTAMP,
    position: TIMESTAMP,
    seen: SEEN_KEYS,
    printedBehind: COUNT,
    lateSkipped: COUNT,
    updatedAt: TIMESTAMP,
  },
} as const;

/**
 * Reads a checkpoint; undefined when the file does not exist.
 * @throws UsageError (one line: the file, the field, what is wrong, what to do) for anything but
 * a valid checkpoint of this query.
 */
export async function readCheckpoint(path: string, query: string): Promise<TailState | undefined> {
  let file: CheckpointFile | undefined;
  try {
    file = await readValidatedState<CheckpointFile>(path, {
      schema: TAIL_CHECKPOINT_SCHEMA,
      kind: { field: "kind", value: "clarifai-audit-tail" },
      version: { field: "version", reads: 1, what: "a clarifai-audit tail checkpoint" },
      check: (file: CheckpointFile) => repeatedSeenKey(file.seen),
    });
  } catch (error) {
    if (error instanceof StateFileError)
      throw new UsageError(`--checkpoint: ${error.message}; ${WHAT_TO_DO}`);
    throw error;
  }
  if (file === undefined) return undefined;
  if (file.query !== query) {
    throw new UsageError(
      `--checkpoint: ${path} was written for a different query (${escapeControls(file.query)}); use the same flags, or another --checkpoint`,
    );
  }
  const seen = new Map<string, bigint>();
  for (const [key, iso] of file.seen) seen.set(key, tsToNs(parseTs(iso) as Ts));
  return {
    start: parseTs(file.start) as Ts,
    position: parseTs(file.position) as Ts,
    seen,
    printedBehind: file.printedBehind,
    lateSkipped: file.lateSkipped ?? 0,
  };
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
