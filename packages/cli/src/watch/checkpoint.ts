import { AuditUsageError } from "@clarifai-audit/client/internal/domain/errors.js";
import type { PollState } from "@clarifai-audit/client/internal/export/followPoll.js";
import { identityTextMismatch } from "@clarifai-audit/client/internal/export/identity.js";
import {
  type PollCheckpointFile,
  pollCheckpointSchema,
  readPollCheckpoint,
  writePollCheckpoint,
} from "@clarifai-audit/client/internal/state/pollCheckpoint.js";
import { JSON_LINE as LINE, NS, pair as PAIR } from "@clarifai-audit/client/internal/state/schemaParts.js";
import type { Alert } from "./alert.js";
import type { EvaluatorState } from "./evaluator.js";
import { SEVERITIES } from "./rules.js";

/** Everything a restart needs. */
export interface WatchState {
  poll: PollState;
  rules: EvaluatorState;
  outbox: Alert[];
}

interface CheckpointFile extends PollCheckpointFile {
  kind: "clarifai-audit-watch";
  rules?: EvaluatorState;
  outbox: Alert[];
}

const KIND = "clarifai-audit-watch";
const ID = { type: "string", maxLength: 1000 } as const;

/** The JSON Schema of {@link EvaluatorState} (the rules' saved state). */
export const EVALUATOR_STATE_SCHEMA = {
  type: "object",
  additionalProperties: {
    type: "object",
    additionalProperties: false,
    required: ["fp"],
    properties: {
      fp: ID,
      windows: {
        type: "array",
        items: PAIR(ID, { type: "array", items: PAIR(NS, LINE, '["ns", "entry line"]') }, '["group", hits]'),
      },
      learnStart: NS,
      learned: { type: "array", items: { type: "string" } },
    },
  },
} as const;

/** The JSON Schema of an outbox: alerts written with a checkpoint, to deliver after it. */
export const OUTBOX_SCHEMA = {
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
} as const;

/** The JSON Schema of {@link CheckpointFile}. */
export const WATCH_CHECKPOINT_SCHEMA = pollCheckpointSchema(KIND, {
  required: ["outbox"],
  properties: { rules: EVALUATOR_STATE_SCHEMA, outbox: OUTBOX_SCHEMA },
});

/**
 * Reads a checkpoint; undefined when the file does not exist.
 * @throws AuditUsageError (`input` "checkpoint"; one line naming the file and the field) for anything but a valid checkpoint
 * of this query.
 */
export async function readWatchCheckpoint(path: string, query: string): Promise<WatchState | undefined> {
  const read = await readPollCheckpoint<CheckpointFile>(path, query, {
    schema: WATCH_CHECKPOINT_SCHEMA,
    kind: KIND,
    what: "a clarifai-audit watch checkpoint",
    invalid: (problem) =>
      new AuditUsageError({
        input: "checkpoint",
        problem: `${problem}; delete it to start afresh, or pass another \`checkpoint\``,
      }),
    otherQuery: (writtenFor) =>
      new AuditUsageError({
        input: "checkpoint",
        problem: identityTextMismatch({
          place: path,
          held: writtenFor,
          wanted: query,
          reader: "this watch",
          remedy: "use the same options, or another `checkpoint`",
        }),
      }),
  });
  if (read === undefined) return undefined;
  return { poll: read.poll, rules: read.file.rules ?? {}, outbox: read.file.outbox };
}

/** Writes the checkpoint atomically. */
export async function writeWatchCheckpoint(path: string, query: string, state: WatchState): Promise<void> {
  await writePollCheckpoint(path, KIND, query, state.poll, { rules: state.rules, outbox: state.outbox });
}
