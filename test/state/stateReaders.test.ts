/**
 * Every reader of a state file, in-process, through one table: the export manifest, the lake state
 * (the sync state schema inside it), the tail and watch checkpoints, the delivery journal and lock
 * files. Each gets a valid file, none, a truncated one, a field of the wrong type, a field out of
 * range, a path out of its destination (where it names paths), a FIFO (never waited on), a folder,
 * symbolic links (a loop, one to a FIFO) and a file over its size bound; each fault is one line
 * naming the file (and the field, where there is one). What the built CLI does with these files is
 * test/state/stateFiles.test.ts's; the reader's own rules are test/state/stateReader.test.ts's.
 */
import { execFileSync } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readCheckpoint, writeCheckpoint } from "../../packages/cli/src/cli/tailCheckpoint.js";
import {
  MAX_LAKE_STATE_BYTES,
  readManifest as readLakeState,
  STATE_FILE,
} from "../../packages/cli/src/sync/lake/manifest.js";
import { LAKE_SCHEMA_VERSION } from "../../packages/cli/src/sync/lake/schema.js";
import { readWatchCheckpoint, writeWatchCheckpoint } from "../../packages/cli/src/watch/checkpoint.js";
import { DeliveryJournal } from "../../packages/cli/src/watch/destinations.js";
import { parseTs, type Ts } from "../../packages/client/src/domain/timestamps.js";
import {
  manifestPath,
  readManifest as readExportManifest,
} from "../../packages/client/src/export/manifest.js";
import { acquireLock } from "../../packages/client/src/state/lock.js";
import { MAX_STATE_BYTES } from "../../packages/client/src/state/stateReader.js";
import { validExportManifest } from "../export/manifestFixture.js";
import { runState } from "../sync/lakeFixtures.js";

let root: string;
let cases = 0;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "state-readers-"));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A folder of its own for one case. */
function fresh(): string {
  const dir = join(root, `c${++cases}`);
  mkdirSync(dir);
  return dir;
}

const ts = (text: string) => parseTs(text) as Ts;
const QUERY = '{"filters":{}}';

/** A field of the parsed document changed in place. */
type Damage = (doc: Record<string, any>) => void;

interface Reader {
  name: string;
  /** The state file a reader of `dir` reads. */
  file: (dir: string) => string;
  /** Writes a valid file into `dir`. */
  writeValid: (dir: string) => Promise<void>;
  /** Reads `dir`'s state: undefined for none, else something. */
  read: (dir: string) => Promise<unknown>;
  /** Size bound of the file, in bytes. */
  maxBytes: number;
  /** Damaged fields and the JSON pointer each fault must name; none for a reader that skips what it cannot parse. */
  wrongType?: [Damage, string];
  outOfRange?: [Damage, string];
  /** A path of the file pointing out of the destination, and the pointer named. */
  outside?: [Damage, string];
  /** What a truncated file is: refused, or (a journal's torn last line) skipped. */
  truncated: "refused" | "skipped";
}

const READERS: Reader[] = [
  {
    name: "export manifest",
    file: (dir) => manifestPath(join(dir, "out.jsonl")),
    writeValid: async (dir) => {
      writeFileSync(join(dir, "out.jsonl"), "");
      writeFileSync(manifestPath(join(dir, "out.jsonl")), JSON.stringify(validExportManifest()));
    },
    read: (dir) => readExportManifest(join(dir, "out.jsonl")),
    maxBytes: MAX_STATE_BYTES,
    wrongType: [(d) => (d.committed.entries = "0"), "/committed/entries"],
    outOfRange: [(d) => (d.committed.entries = -1), "/committed/entries"],
    truncated: "refused",
  },
  {
    name: "lake state (with the sync state)",
    file: (dir) => join(dir, STATE_FILE),
    writeValid: async (dir) => {
      const manifest = {
        kind: "clarifai-audit-lake",
        schemaVersion: LAKE_SCHEMA_VERSION,
        seq: 0,
        state: runState("2025-01-01T00:00:00Z"),
        files: [],
        pending: [],
        obsolete: [],
        keys: "",
      };
      writeFileSync(join(dir, STATE_FILE), JSON.stringify(manifest));
    },
    read: (dir) => readLakeState(dir),
    maxBytes: MAX_LAKE_STATE_BYTES,
    wrongType: [(d) => (d.state.totals.runs = "1"), "/state/totals/runs"],
    outOfRange: [
      (d) => (d.state.run.cursor.window.from = "10000-01-01T00:00:00Z"),
      "/state/run/cursor/window/from",
    ],
    outside: [(d) => (d.obsolete = ["../outside.parquet"]), "/obsolete/0"],
    truncated: "refused",
  },
  {
    name: "tail checkpoint",
    file: (dir) => join(dir, "tail.json"),
    writeValid: (dir) =>
      writeCheckpoint(join(dir, "tail.json"), QUERY, {
        start: ts("2025-01-01T00:00:00Z"),
        position: ts("2025-01-01T01:00:00Z"),
        seen: new Map([["k1", 1_735_693_200_000_000_000n]]),
        printedBehind: 0,
        lateSkipped: 0,
      }),
    read: (dir) => readCheckpoint(join(dir, "tail.json"), QUERY),
    maxBytes: MAX_STATE_BYTES,
    wrongType: [(d) => (d.seen = { k1: "x" }), "/seen"],
    outOfRange: [(d) => (d.lateSkipped = -1), "/lateSkipped"],
    truncated: "refused",
  },
  {
    name: "watch checkpoint",
    file: (dir) => join(dir, "watch.json"),
    writeValid: (dir) =>
      writeWatchCheckpoint(join(dir, "watch.json"), QUERY, {
        poll: {
          start: ts("2025-01-01T00:00:00Z"),
          position: ts("2025-01-01T01:00:00Z"),
          seen: new Map([["k1", 1_735_693_200_000_000_000n]]),
        },
        rules: {},
        outbox: [],
      }),
    read: (dir) => readWatchCheckpoint(join(dir, "watch.json"), QUERY),
    maxBytes: MAX_STATE_BYTES,
    wrongType: [(d) => (d.outbox = "none"), "/outbox"],
    outOfRange: [(d) => (d.position = "2025-02-30T00:00:00Z"), "/position"],
    truncated: "refused",
  },
  {
    name: "delivery journal",
    file: (dir) => join(dir, "journal.jsonl"),
    writeValid: async (dir) => {
      const j = new DeliveryJournal(join(dir, "journal.jsonl"));
      await j.record("k1", "webhook:a");
    },
    read: async (dir) => {
      const j = new DeliveryJournal(join(dir, "journal.jsonl"));
      await j.load();
      return j.has("k1", "webhook:a") ? j : undefined;
    },
    maxBytes: MAX_STATE_BYTES,
    truncated: "skipped",
  },
];

/** The reader's fault for `dir`: one line naming the file, and `field` when given. */
async function fault(reader: Reader, dir: string, field?: string): Promise<string> {
  const error = await reader.read(dir).then(
    (v) => new Error(`read without a fault: ${JSON.stringify(v)?.slice(0, 100)}`),
    (e: unknown) => e as Error,
  );
  expect(error.message).not.toMatch(/^read without a fault/);
  expect(error.message).not.toContain("\n");
  expect(error.message).toContain(reader.file(dir));
  if (field !== undefined) expect(error.message).toContain(`field ${field} `);
  return error.message;
}

/** The valid file of `reader` in a fresh folder, parsed, damaged by `damage` and written back. */
async function damaged(reader: Reader, damage: Damage): Promise<string> {
  const dir = fresh();
  await reader.writeValid(dir);
  const doc = JSON.parse(readFileSync(reader.file(dir), "utf8")) as Record<string, any>;
  damage(doc);
  writeFileSync(reader.file(dir), JSON.stringify(doc));
  return dir;
}

describe.each(READERS.map((r) => [r.name, r] as const))("%s", (_name, reader) => {
  it("reads a valid file, and nothing when there is none", async () => {
    const dir = fresh();
    expect(await reader.read(dir)).toBeUndefined();
    await reader.writeValid(dir);
    expect(await reader.read(dir)).toBeDefined();
  });

  it("a truncated file", async () => {
    const dir = fresh();
    await reader.writeValid(dir);
    const text = readFileSync(reader.file(dir), "utf8");
    writeFileSync(reader.file(dir), text.slice(0, Math.floor(text.length / 2)));
    if (reader.truncated === "refused") expect(await fault(reader, dir)).toMatch(/is not valid JSON/);
    // The journal's torn last line (a kill mid-append) is skipped: nothing it names was delivered.
    else expect(await reader.read(dir)).toBeUndefined();
  });

  const fields = [
    ["a field of the wrong type", reader.wrongType],
    ["a field out of range", reader.outOfRange],
    ["a path out of the destination", reader.outside],
  ] as const;
  for (const [what, damage] of fields) {
    if (damage === undefined) continue;
    it(what, async () => {
      const dir = await damaged(reader, damage[0]);
      await fault(reader, dir, damage[1]);
    });
  }

  it("a FIFO is refused at once, never waited on", async () => {
    const dir = fresh();
    execFileSync("mkfifo", [reader.file(dir)]);
    expect(await fault(reader, dir)).toMatch(/is a FIFO, not a regular file/);
  });

  it("a folder is refused", async () => {
    const dir = fresh();
    mkdirSync(reader.file(dir));
    expect(await fault(reader, dir)).toMatch(/is a folder, not a regular file/);
  });

  it("a symbolic link loop, and a link to a FIFO, are refused", async () => {
    const loop = fresh();
    symlinkSync(reader.file(loop), reader.file(loop));
    expect(await fault(reader, loop)).toMatch(/cannot be read \(ELOOP\)/);
    const toFifo = fresh();
    const fifo = join(toFifo, "fifo");
    execFileSync("mkfifo", [fifo]);
    symlinkSync(fifo, reader.file(toFifo));
    expect(await fault(reader, toFifo)).toMatch(/is a FIFO, not a regular file/);
  });

  it("a file over the size bound is refused by its size, without reading it", async () => {
    const dir = fresh();
    await reader.writeValid(dir);
    // Sparse: the size says too large; reading it would cost nothing but is never tried.
    truncateSync(reader.file(dir), reader.maxBytes + 1);
    expect(await fault(reader, dir)).toMatch(new RegExp(`is ${reader.maxBytes + 1} bytes, larger than the`));
  });
});

describe("lock files", () => {
  // A lock's content is its owner (pid, host); one that does not parse is held while fresh and stale
  // once old (test/state/lock.test.ts). What is not a regular file is refused, never waited on.
  async function lockFault(setup: (lock: string) => void): Promise<string> {
    const target = join(fresh(), "out.jsonl");
    setup(`${target}.lock`);
    const error = await acquireLock(target).then(
      async (held) => {
        await held.release();
        return new Error("the lock was taken");
      },
      (e: unknown) => e as Error,
    );
    expect(error.message).not.toContain("\n");
    expect(error.message).toContain(`${target}.lock`);
    return error.message;
  }

  it("a FIFO, a folder, a link to a FIFO and a file over 64 KiB in place of a lock are refused", async () => {
    expect(await lockFault((lock) => execFileSync("mkfifo", [lock]))).toMatch(
      /is a FIFO, not a regular file/,
    );
    expect(await lockFault((lock) => mkdirSync(lock))).toMatch(/is a folder, not a regular file/);
    expect(
      await lockFault((lock) => {
        execFileSync("mkfifo", [`${lock}.fifo`]);
        symlinkSync(`${lock}.fifo`, lock);
      }),
    ).toMatch(/is a FIFO, not a regular file/);
    expect(
      await lockFault((lock) => {
        writeFileSync(lock, "");
        truncateSync(lock, 64 * 1024 + 1);
      }),
    ).toMatch(/is 65537 bytes, larger than the/);
  });

  it("a symbolic link loop in place of a lock is refused", async () => {
    expect(await lockFault((lock) => symlinkSync(lock, lock))).toMatch(/ELOOP/);
  });
});
