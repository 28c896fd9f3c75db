import { UsageError } from "../cli/exitCodes.js";
import { formatTs, nsToTs, parseTs, type Ts, tsToNs } from "../domain/timestamps.js";
import { readStateFile, writeFileAtomic } from "../state/durableFile.js";
import type { Alert } from "./alert.js";
import type { EvaluatorState } from "./evaluator.js";
import type { PollState } from "./poll.js";

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
  rules: EvaluatorState;
  outbox: Alert[];
  updatedAt: string;
}

function nsIso(ns: bigint): string {
  // nsToTs floors: bigint division truncates toward zero, which before 1970 gave negative nanos.
  return formatTs(nsToTs(ns));
}

/** Reads a checkpoint; undefined when the file does not exist. */
export async function readWatchCheckpoint(path: string, query: string): Promise<WatchState | undefined> {
  const text = await readStateFile(
    path,
    (code) => new UsageError(`--checkpoint: cannot read ${path} (${code})`),
  );
  if (text === undefined) return undefined;
  let file: CheckpointFile;
  try {
    file = JSON.parse(text) as CheckpointFile;
  } catch {
    throw new UsageError(`--checkpoint: ${path} is not valid JSON`);
  }
  if (file === null || file.kind !== "clarifai-audit-watch" || file.version !== 1)
    throw new UsageError(`--checkpoint: ${path} is not a clarifai-audit watch checkpoint`);
  if (file.query !== query)
    throw new UsageError(`--checkpoint: ${path} was written for another log or lookback (${file.query})`);
  const start = parseTs(file.start);
  const position = parseTs(file.position);
  if (
    start === undefined ||
    position === undefined ||
    !Array.isArray(file.seen) ||
    !Array.isArray(file.outbox)
  )
    throw new UsageError(`--checkpoint: ${path} is damaged (position, seen keys or outbox)`);
  const seen = new Map<string, bigint>();
  for (const [key, iso] of file.seen) {
    const ts: Ts | undefined = typeof iso === "string" ? parseTs(iso) : undefined;
    if (ts === undefined) throw new UsageError(`--checkpoint: ${path} has a bad timestamp ${String(iso)}`);
    seen.set(key, tsToNs(ts));
  }
  return { poll: { start, position, seen }, rules: file.rules ?? {}, outbox: file.outbox };
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
