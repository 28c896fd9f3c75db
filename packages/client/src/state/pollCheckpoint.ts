/**
 * What the tail and watch checkpoints share: a follow-poll's start, position and boundary keys
 * under a kind, a version and the query they were written for. Each command keeps its own extra
 * fields and its own wording of a bad file; the layout, the schema and the conversion live here once.
 */
import { formatTs, nsToTs, parseTs, type Ts, tsToNs } from "../domain/timestamps.js";
import { writeFileAtomic } from "./durableFile.js";
import { repeatedSeenKey, SEEN_KEYS, TIMESTAMP } from "./schemaParts.js";
import { escapeControls, readValidatedState, StateFileError } from "./stateReader.js";

/** The fields every poll checkpoint file holds, as written. */
export interface PollCheckpointFile {
  version: 1;
  kind: string;
  query: string;
  start: string;
  position: string;
  seen: Array<[string, string]>;
  updatedAt: string;
}

/** A follow-poll's progress as a checkpoint keeps it (structurally the export layer's PollState). */
export interface PollPoint {
  start: Ts;
  position: Ts;
  seen: Map<string, bigint>;
}

/**
 * The JSON Schema of a poll checkpoint of `kind` with the command's own fields: they sit between
 * `seen` and `updatedAt`, the order the checks (and so the first fault reported) follow.
 */
export function pollCheckpointSchema<K extends string, R extends readonly string[], P extends object>(
  kind: K,
  extra: { required: R; properties: P },
) {
  return {
    type: "object",
    additionalProperties: false,
    required: ["version", "kind", "query", "start", "position", "seen", ...extra.required, "updatedAt"],
    properties: {
      version: { const: 1 },
      kind: { const: kind },
      query: { type: "string", maxLength: 100_000 },
      start: TIMESTAMP,
      position: TIMESTAMP,
      seen: SEEN_KEYS,
      ...extra.properties,
      updatedAt: TIMESTAMP,
    },
  } as const;
}

/** How a command reads its poll checkpoint, and words a bad one in its own flags' terms. */
export interface PollCheckpointSpec<F extends PollCheckpointFile> {
  /** From {@link pollCheckpointSchema}. */
  schema: object;
  kind: F["kind"];
  /** Names the file for a newer version: "a clarifai-audit tail checkpoint". */
  what: string;
  /** The error for a file that is not a valid checkpoint of `kind` (`problem` names the file and field). */
  invalid(problem: string): Error;
  /** The error for a checkpoint written for another query (`writtenFor`, control characters escaped). */
  otherQuery(writtenFor: string): Error;
}

/**
 * Reads and checks the poll checkpoint at `path` for `query`; undefined when the file does not exist.
 * @throws what `spec.invalid` or `spec.otherQuery` make, for anything but a valid checkpoint of
 * `spec.kind` written for `query`.
 */
export async function readPollCheckpoint<F extends PollCheckpointFile>(
  path: string,
  query: string,
  spec: PollCheckpointSpec<F>,
): Promise<{ file: F; poll: PollPoint } | undefined> {
  let file: F | undefined;
  try {
    file = await readValidatedState<F>(path, {
      schema: spec.schema,
      kind: { field: "kind", value: spec.kind },
      version: { field: "version", reads: 1, what: spec.what },
      check: (file: F) => repeatedSeenKey(file.seen),
    });
  } catch (error) {
    if (error instanceof StateFileError) throw spec.invalid(error.message);
    throw error;
  }
  if (file === undefined) return undefined;
  if (file.query !== query) throw spec.otherQuery(escapeControls(file.query));
  const seen = new Map<string, bigint>();
  for (const [key, iso] of file.seen) seen.set(key, tsToNs(parseTs(iso) as Ts));
  return { file, poll: { start: parseTs(file.start) as Ts, position: parseTs(file.position) as Ts, seen } };
}

function nsIso(ns: bigint): string {
  // nsToTs floors: bigint division truncates toward zero, which before 1970 gave negative nanos.
  return formatTs(nsToTs(ns));
}

/**
 * Writes a poll checkpoint of `kind` atomically; `extra` (the command's own fields) is written
 * between `seen` and `updatedAt`.
 */
export async function writePollCheckpoint(
  path: string,
  kind: string,
  query: string,
  poll: PollPoint,
  extra: object,
): Promise<void> {
  const file = {
    version: 1,
    kind,
    query,
    start: formatTs(poll.start),
    position: formatTs(poll.position),
    seen: [...poll.seen].map(([key, ns]) => [key, nsIso(ns)]),
    ...extra,
    updatedAt: new Date().toISOString(),
  };
  await writeFileAtomic(path, `${JSON.stringify(file)}\n`);
}
