/**
 * The one reader of state (packages/client/src/state/stateReader.ts) on its own: what it reads (regular files only,
 * bounded, UTF-8 JSON), how it names a fault (file, JSON pointer, what is wrong), and the
 * PostgreSQL state row read back through it by a real server: a damaged row is one line, and
 * nothing is written.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type pg from "pg";
import { createPostgresStore } from "../../packages/cli/src/sync/postgres/store.js";
import { type SyncIdentity, SyncUsageError } from "../../packages/cli/src/sync/store.js";
import { exportEntryFromMessage } from "../../packages/client/src/export/exportEntry.js";
import {
  escapeControls,
  readValidatedState,
  StateFileError,
  type StateSpec,
  validateState,
} from "../../packages/client/src/state/stateReader.js";
import { generateEntries } from "../../packages/emulator/src/generate.js";
import { type PostgresServer, startPostgres } from "../helpers/postgres.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "state-reader-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Doc {
  kind: "t";
  version: number;
  n: number;
  at: string;
  items: string[];
}
const SPEC: StateSpec<Doc> = {
  schema: {
    type: "object",
    additionalProperties: false,
    required: ["kind", "version", "n", "at", "items"],
    properties: {
      kind: { const: "t" },
      version: { type: "integer" },
      n: { type: "integer", minimum: 0 },
      at: { type: "string", format: "timestamp" },
      items: { type: "array", items: { type: "string" } },
    },
  },
  kind: { field: "kind", value: "t" },
  version: { field: "version", reads: 1, what: "a test state" },
  check: (d) => (new Set(d.items).size !== d.items.length ? ["/items", "repeats an item"] : undefined),
  maxBytes: 1024,
};
const GOOD: Doc = { kind: "t", version: 1, n: 3, at: "0001-01-01T00:00:00.000000001Z", items: ["a", "b"] };

async function fault(text: string | Buffer): Promise<StateFileError> {
  const path = join(dir, "s.json");
  writeFileSync(path, text);
  const error = await readValidatedState(path, SPEC).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(StateFileError);
  expect((error as Error).message).not.toContain("\n");
  return error as StateFileError;
}

describe("readValidatedState", () => {
  it("reads a valid file, and undefined for none", async () => {
    const path = join(dir, "good.json");
    writeFileSync(path, JSON.stringify(GOOD));
    expect(await readValidatedState(path, SPEC)).toEqual(GOOD);
    expect(await readValidatedState(join(dir, "none.json"), SPEC)).toBeUndefined();
  });

  it("names the field and what is wrong with it", async () => {
    const cases: Array<[Record<string, unknown>, string | undefined, RegExp]> = [
      [{ ...GOOD, n: null }, "/n", /is null, expected an integer/],
      [{ ...GOOD, n: -1 }, "/n", /is -1, expected a value >= 0/],
      [{ ...GOOD, n: 1.5 }, "/n", /is a number \(1\.5\), expected an integer/],
      [{ ...GOOD, n: "3" }, "/n", /is a string \("3"\), expected an integer/],
      [{ ...GOOD, at: "2025-13-01T00:00:00Z" }, "/at", /expected an RFC 3339 timestamp/],
      [{ ...GOOD, at: "10000-01-01T00:00:00Z" }, "/at", /expected an RFC 3339 timestamp/],
      [{ ...GOOD, items: [1] }, "/items/0", /is a number \(1\), expected a string/],
      [{ ...GOOD, items: ["a", "a"] }, "/items", /repeats an item/],
      [{ ...GOOD, extra: 1 }, "/extra", /is not a field of this file/],
      [{ ...GOOD, version: "1" }, "/version", /is a string \("1"\), expected an integer from 1 to 1/],
      [{ ...GOOD, version: 0 }, "/version", /expected an integer from 1 to 1/],
      [{ ...GOOD, version: 2 }, "/version", /is 2: a test state of a newer clarifai-audit/],
      [{ ...GOOD, kind: "u" }, "/kind", /is "u", expected "t"/],
    ];
    for (const [doc, field, problem] of cases) {
      const e = await fault(JSON.stringify(doc));
      expect({ doc, field: e.field }).toEqual({ doc, field });
      expect(e.problem).toMatch(problem);
      expect(e.message).toContain(join(dir, "s.json"));
      expect(e.message).toContain(`field ${field} `);
    }
    const { n: _n, ...missing } = GOOD;
    expect((await fault(JSON.stringify(missing))).message).toMatch(/field \/n is missing/);
  });

  it("refuses what is not JSON text of an object", async () => {
    expect((await fault("")).problem).toBe("is not valid JSON");
    expect((await fault("{")).problem).toMatch(/^is not valid JSON/);
    // A byte-order mark is read past (TextDecoder's default), the rest checked as usual.
    expect((await fault(Buffer.from([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))).message).toMatch(
      /field \/kind is missing/,
    );
    expect((await fault(Buffer.from([0x22, 0xc3, 0x28, 0x22]))).problem).toMatch(/not UTF-8/);
    expect((await fault("null")).message).toMatch(/field \/ is null, expected an object/);
    expect((await fault("7")).message).toMatch(/field \/ is a number \(7\)/);
    expect(
      (await fault(`{"kind":"t","version":1,"n":${"[".repeat(100)}${"]".repeat(100)}}`)).problem,
    ).toMatch(/nested more than 64 levels/);
  });

  it("bounds the size it reads: a larger file is refused by its size, a sparse giant never read", async () => {
    expect((await fault(JSON.stringify({ ...GOOD, items: ["x".repeat(2000)] }))).problem).toMatch(
      /is \d+ bytes, larger than the 0\.0009765625 MiB|larger than/,
    );
    const path = join(dir, "sparse.json");
    writeFileSync(path, "");
    truncateSync(path, 1024 ** 4);
    await expect(readValidatedState(path, { ...SPEC, maxBytes: undefined })).rejects.toThrow(
      /is 1099511627776 bytes, larger than the 64 MiB a state file may be/,
    );
  });

  it("reads only a regular file: a folder, a FIFO (never waited on), a device are one line", async () => {
    const folder = join(dir, "folder.json");
    mkdirSync(folder);
    await expect(readValidatedState(folder, SPEC)).rejects.toThrow(/is a folder, not a regular file/);
    const fifo = join(dir, "fifo.json");
    execFileSync("mkfifo", [fifo]);
    await expect(readValidatedState(fifo, SPEC)).rejects.toThrow(/is a FIFO, not a regular file/);
    await expect(readValidatedState("/dev/zero", SPEC)).rejects.toThrow(/is a device, not a regular file/);
    const link = join(dir, "loop.json");
    symlinkSync(link, link);
    await expect(readValidatedState(link, SPEC)).rejects.toThrow(/cannot be read \(ELOOP\)/);
    await expect(readValidatedState(join(dir, "good.json", "x"), SPEC)).rejects.toThrow(/ENOTDIR/);
  });

  it("keeps control characters of the file out of the message", async () => {
    const e = await fault(JSON.stringify({ ...GOOD, kind: "\u001b]0;owned\u0007\u009b" }));
    expect(e.message).not.toMatch(/\p{Cc}/u);
    expect(escapeControls("a\u001bb\u009bc\u007f")).toBe("a\\u001bb\\u009bc\\u007f");
  });

  it("validateState checks parsed data the same way, naming the source given", async () => {
    await expect(validateState({ ...GOOD, n: -2 }, SPEC, "the row")).rejects.toThrow(
      "the row: field /n is -2, expected a value >= 0",
    );
    expect(await validateState(GOOD, SPEC, "the row")).toEqual(GOOD);
  });
});

describe("the PostgreSQL state row", () => {
  let server: PostgresServer;
  let admin: pg.Client;
  beforeAll(async () => {
    server = await startPostgres();
    admin = await server.client();
  }, 120_000);
  afterAll(async () => {
    await admin?.end();
    await server?.stop();
  });
  const ID: SyncIdentity = { userId: "org-1", endpoint: "https://api.clarifai.com", query: {} };

  it("a damaged row is one line naming the row and the field; nothing is written", async () => {
    const url = await server.createDatabase("rowcheck");
    const db = await server.client("rowcheck");
    try {
      const store = createPostgresStore({ url });
      await store.open(ID);
      await store.commit({
        entries: generateEntries(20, 5).map(exportEntryFromMessage),
        state: {
          version: 1,
          identity: ID,
          highWater: "2025-01-01T00:00:00Z",
          totals: { entries: 0, late: 0, runs: 1 },
          updatedAt: "2026-01-01T00:00:00Z",
        },
      });
      await store.close();
      const damage: Array<[string, string, RegExp]> = [
        ["state", `jsonb_set(state, '{totals,entries}', 'null')`, /field \/state\/totals\/entries is null/],
        ["state", `jsonb_set(state, '{totals}', '"x"')`, /field \/state\/totals is a string/],
        [
          "state",
          `jsonb_set(state, '{run}', '{"startedAt":"2025-01-01T00:00:00Z"}')`,
          /field \/state\/run\/cursor is missing/,
        ],
        ["state", `jsonb_set(state, '{highWater}', '"soon"')`, /field \/state\/highWater is "soon"/],
        [
          "state",
          `jsonb_set(state, '{identity,userId}', '"org-2"')`,
          /field \/state\/identity is not the identity/,
        ],
        ["state", `'null'::jsonb`, /field \/state is null/],
        ["inserted", "-1", /field \/inserted is "-1"/],
      ];
      const table = async () =>
        JSON.stringify((await db.query("SELECT * FROM clarifai_audit_sync_state")).rows) +
        String((await db.query("SELECT count(*) FROM audit_log")).rows[0].count);
      const original = (await db.query("SELECT state, inserted FROM clarifai_audit_sync_state")).rows[0];
      for (const [column, value, why] of damage) {
        await db.query(`UPDATE clarifai_audit_sync_state SET ${column} = ${value}`);
        const before = await table();
        const again = createPostgresStore({ url });
        const error = await again.open(ID).then(
          () => undefined,
          (e: unknown) => e,
        );
        await again.close();
        expect(error).toBeInstanceOf(SyncUsageError);
        const message = (error as Error).message;
        expect(message).toMatch(why);
        expect(message).toMatch(
          /the row of .*clarifai_audit_sync_state.* for table .*audit_log.*, user org-1: field/,
        );
        expect(message).not.toContain("\n");
        expect(await table()).toBe(before);
        await db.query("UPDATE clarifai_audit_sync_state SET state = $1, inserted = $2", [
          original.state,
          original.inserted,
        ]);
      }
    } finally {
      await db.end();
    }
  }, 120_000);
});
