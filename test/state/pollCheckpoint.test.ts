/**
 * The one poll-checkpoint module tail's and watch's checkpoints are built on
 * (packages/client/src/state/pollCheckpoint.ts), in-process: what a write puts in the file and in
 * which order, that a read gives the poll back, and that each command's checkpoint keeps its own
 * words for a file that is not valid and for one written for another query. The state-file faults
 * themselves (truncated, FIFO, over the size bound, …) are test/state/stateReaders.test.ts's.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readCheckpoint, writeCheckpoint } from "../../packages/cli/src/cli/tailCheckpoint.js";
import { readWatchCheckpoint, writeWatchCheckpoint } from "../../packages/cli/src/watch/checkpoint.js";
import { AuditUsageError } from "../../packages/client/src/domain/errors.js";
import { parseTs, type Ts } from "../../packages/client/src/domain/timestamps.js";
import {
  type PollCheckpointFile,
  type PollCheckpointSpec,
  pollCheckpointSchema,
  readPollCheckpoint,
  writePollCheckpoint,
} from "../../packages/client/src/state/pollCheckpoint.js";
import { COUNT } from "../../packages/client/src/state/schemaParts.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "poll-checkpoint-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ts = (text: string) => parseTs(text) as Ts;
const POLL = {
  start: ts("1969-12-31T23:59:59.5Z"),
  position: ts("2025-01-01T01:00:00.123456789Z"),
  seen: new Map([
    ["k1", 1_735_693_200_123_456_789n],
    ["k2", -500_000_000n],
  ]),
};

interface TestFile extends PollCheckpointFile {
  kind: "test-poll";
  extra: number;
}
const SCHEMA = pollCheckpointSchema("test-poll", { required: ["extra"], properties: { extra: COUNT } });
const spec: PollCheckpointSpec<TestFile> = {
  schema: SCHEMA,
  kind: "test-poll",
  what: "a test checkpoint",
  invalid: (problem: string) => new Error(`invalid: ${problem}`),
  otherQuery: (writtenFor: string) => new Error(`other: ${writtenFor}`),
};

it("writes the shared fields, the command's own between seen and updatedAt, and reads the poll back", async () => {
  const path = join(dir, "round.json");
  await writePollCheckpoint(path, "test-poll", "q1", POLL, { extra: 7 });
  const text = readFileSync(path, "utf8");
  expect(text.endsWith("}\n")).toBe(true);
  const doc = JSON.parse(text);
  expect(Object.keys(doc)).toEqual([
    "version",
    "kind",
    "query",
    "start",
    "position",
    "seen",
    "extra",
    "updatedAt",
  ]);
  expect(doc.seen).toEqual([
    ["k1", "2025-01-01T01:00:00.123456789Z"],
    ["k2", "1969-12-31T23:59:59.500Z"],
  ]);
  const read = await readPollCheckpoint<TestFile>(path, "q1", spec);
  expect(read?.poll).toEqual(POLL);
  expect(read?.file.extra).toBe(7);
  expect(await readPollCheckpoint<TestFile>(join(dir, "none.json"), "q1", spec)).toBeUndefined();
});

it("a checkpoint of another query, or not valid, is the command's own error", async () => {
  const path = join(dir, "other.json");
  await writePollCheckpoint(path, "test-poll", "q\u001b1", POLL, { extra: 1 });
  await expect(readPollCheckpoint<TestFile>(path, "q2", spec)).rejects.toThrow("other: q\\u001b1");
  const doc = JSON.parse(readFileSync(path, "utf8"));
  doc.extra = -1;
  writeFileSync(path, JSON.stringify(doc));
  await expect(readPollCheckpoint<TestFile>(path, "q\u001b1", spec)).rejects.toThrow(
    /^invalid: .*other\.json.*\/extra/,
  );
});

it("tail and watch word a checkpoint of another query in their own terms", async () => {
  const tail = join(dir, "tail.json");
  await writeCheckpoint(tail, "q1", { ...POLL, printedBehind: undefined, lateSkipped: 2 });
  expect(JSON.parse(readFileSync(tail, "utf8"))).not.toHaveProperty("printedBehind");
  expect(await readCheckpoint(tail, "q1")).toEqual({ ...POLL, printedBehind: undefined, lateSkipped: 2 });
  await expect(readCheckpoint(tail, "q2")).rejects.toThrow(
    /^--checkpoint: .*tail\.json was written for another query \(q1\); use the same flags, or another --checkpoint$/,
  );

  const watch = join(dir, "watch.json");
  await writeWatchCheckpoint(watch, "q1", { poll: POLL, rules: {}, outbox: [] });
  expect(await readWatchCheckpoint(watch, "q1")).toEqual({ poll: POLL, rules: {}, outbox: [] });
  const error = await readWatchCheckpoint(watch, "q2").catch((e: unknown) => e);
  expect(error).toBeInstanceOf(AuditUsageError);
  expect((error as AuditUsageError).input).toBe("checkpoint");
  expect((error as AuditUsageError).problem).toMatch(
    /watch\.json was written for another query \(q1\); use the same options, or another `checkpoint`$/,
  );
});
