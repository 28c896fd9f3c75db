import { AuditUsageError } from "@clarifai-audit/client/internal/domain/errors.js";
import {
  formatTs,
  nsToTs,
  parseTs,
  type Ts,
  tsToNs,
} from "@clarifai-audit/client/internal/domain/timestamps.js";
import type { PollState } from "@clarifai-audit/client/internal/export/followPoll.js";
import { writeFileAtomic } from "@clarifai-audit/client/internal/state/durableFile.js";
import {
  JSON_LINE as LINE,
  NS,
  pair as PAIR,
  repeatedSeenKey,
  SEEN_KEYS,
  TIMESTAMP,
} from "@clarifai-audit/client/internal/state/schemaParts.js";
import {
  escapeControls,
  readValidatedState,
  StateFileError,
} from "@clarifai-audit/client/internal/state/stateReader.js";
import type { Alert } from "./alert.js";
import type { EvaluatorState } from "./evaluator.js";
import { SEVERITIES } from "./rules.js";

/** Everything a restart needs. */
export interface WatchState {
  poll: PollState;
  rules: EvaluatorState;
  outbox: Alert[];
}

interface CheckpointFile {
  version: 1;
  kind: "clarifai-audit-watch";
  query: string;
  start: string;
  position: string;
  seen: Array<[string, string]>;
  rules?: EvaluatorState;
  outbox: Alert[];
  updatedAt: string;
}

function nsIso(ns: bigint): string {
  // nsToTs floors: bigint division truncates toward zero, which before 1970 gave negative nanos.
  return formatTs(nsToTs(ns));
}

const ID = { type: "string", maxLength: 1000 } as const;

/** The JSON Schema of {@link CheckpointFile}. */
export const WATCH_CHECKPOINT_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["version", "kind", "query", "start", "position", "seen", "outbox", "updatedAt"],
  properties: {
    version: { const: 1 },
    kind: { const: "clarifai-audit-watch" },
    query: { type: "string", maxLength: 100_000 },
    start: TIMESTAMP,
    position: TIMESTAMP,
    seen: SEEN_KEYS,
    rules: {
      type: "object",
      additionalProperties: {
        type: "object",
        additionalProperties: false,
        required: ["fp"],
        properties: {
          fp: ID,
          windows: {
            type: "array",
            items: PAIR(
              ID,
              { type: "array", items: PAIR(NS, LINE, '["ns", "entry line"]') },
              '["group", hits]',
            ),
          },
          learnStart: NS,
          learned: { type: "array", items: { type: "string" } },
        },
      },
    },
    outbox: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["rule", "title", "severity", "time", "key", "group", "entries"],
        properties: {
          rule: ID,
          title: { type: "string" },
          severity: { enum: [...SEVERITIES] },
          // Empty for an entry that carries no timestamp.
          time: { type: "string", format: "timestamp-or-empty" },
          key: ID,
          group: { type: ["string", "null"] },
          // Alerts are sent with these lines spliced in as they are: each must be a JSON object.
          entries: { type: "array", items: LINE },
        },
      },
    },
    updatedAt: TIMESTAMP,
  },
} as const;

/**
 * Reads a checkpoint; undefined when the file does not exist.
 * @throws AuditUsageError (`input` "checkpoint"; one line naming the file and the field) for anything but a valid checkpoint
 * of this query.
 */
export async function readWatchCheckpoint(path: string, query: string): Promise<WatchState | undefined> {
  let file: CheckpointFile | undefined;
  try {
    file = await readValidatedState<CheckpointFile>(path, {
      schema: WATCH_CHECKPOINT_SCHEMA,
      kind: { field: "kind", value: "clarifai-audit-watch" },
      version: { field: "version", reads: 1, what: "a clarifai-audit watch checkpoint" },
      check: (file: CheckpointFile) => repeatedSeenKey(file.seen),
    });
  } catch (error) {
    if (error instanceof StateFileError)
      throw new AuditUsageError({
        input: "checkpoint",
        problem: `${error.message}; delete it to start afresh, or pass another \`checkpoint\``,
      });
    throw error;
  }
  if (file === undefined) return undefined;
  if (file.query !== query)
    throw new AuditUsageError({
      input: "checkpoint",
      problem: `${path} was written for another log or lookback (${escapeControls(file.query)})`,
    });
  const seen = new Map<string, bigint>();
  for (const [key, iso] of file.seen) seen.set(key, tsToNs(parseTs(iso) as Ts));
  return {
    poll: { start: parseTs(file.start) as Ts, position: parseTs(file.position) as Ts, seen },
    rules: file.rules ?? {},
    outbox: file.outbox,
  };
}

/** Writes the checkpoint atomically. */
export async function writeWatchCheckpoint(path: string, query: string, state: WatchState): Promise<void> {
  const file: CheckpointFile = {
    version: 1,
    kind: "clarifai-audit-watch",
    query,
    start: formatTs(state.poll.start),
    position: formatTs(state.poll.position),
    seen: [...state.poll.seen].map(([key, ns]) => [key, nsIso(ns)]),
    rules: state.rules,
    outbox: state.outbox,
    updatedAt: new Date().toISOString(),
  };
  await writeFileAtomic(path, `${JSON.stringify(file)}\n`);
}
