import type { Ts } from "@clarifai-audit/client/internal/domain/timestamps.js";
import { identityTextMismatch } from "@clarifai-audit/client/internal/export/identity.js";
import {
  type PollCheckpointFile,
  pollCheckpointSchema,
  readPollCheckpoint,
  writePollCheckpoint,
} from "@clarifai-audit/client/internal/state/pollCheckpoint.js";
import { COUNT } from "@clarifai-audit/client/internal/state/schemaParts.js";
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

interface CheckpointFile extends PollCheckpointFile {
  kind: "clarifai-audit-tail";
  printedBehind?: number;
  lateSkipped?: number;
}

const KIND = "clarifai-audit-tail";
const WHAT_TO_DO = "delete it to start afresh, or pass another --checkpoint";

/** The JSON Schema of {@link CheckpointFile}. */
export const TAIL_CHECKPOINT_SCHEMA = pollCheckpointSchema(KIND, {
  required: [],
  properties: { printedBehind: COUNT, lateSkipped: COUNT },
});

/**
 * Reads a checkpoint; undefined when the file does not exist.
 * @throws UsageError (one line: the file, the field, what is wrong, what to do) for anything but
 * a valid checkpoint of this query.
 */
export async function readCheckpoint(path: string, query: string): Promise<TailState | undefined> {
  const read = await readPollCheckpoint<CheckpointFile>(path, query, {
    schema: TAIL_CHECKPOINT_SCHEMA,
    kind: KIND,
    what: "a clarifai-audit tail checkpoint",
    invalid: (problem) => new UsageError(`--checkpoint: ${problem}; ${WHAT_TO_DO}`),
    otherQuery: (writtenFor) =>
      new UsageError(
        `--checkpoint: ${identityTextMismatch({
          place: path,
          held: writtenFor,
          wanted: query,
          reader: "this tail",
          remedy: "use the same flags, or another --checkpoint",
        })}`,
      ),
  });
  if (read === undefined) return undefined;
  const { file, poll } = read;
  return { ...poll, printedBehind: file.printedBehind, lateSkipped: file.lateSkipped ?? 0 };
}

/** Writes the checkpoint atomically. */
export async function writeCheckpoint(path: string, query: string, state: TailState): Promise<void> {
  await writePollCheckpoint(path, KIND, query, state, {
    ...(state.printedBehind !== undefined ? { printedBehind: state.printedBehind } : {}),
    lateSkipped: state.lateSkipped,
  });
}
