/**
 * verifyLog on signed lakes (test/signing/fixtures.ts writes them as sync --sign does): a whole lake
 * verifies, and each way of tampering with its files and digests is found and named.
 */
import {
  appendFileSync,
  copyFileSync,
  readFileSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { type VerifyReport, verifyLog } from "../../packages/cli/src/verify/index.js";
import { makeKey, type TestKey, tempDir, writeParquet, writeSignedLake } from "./fixtures.js";

let tmp: { dir: string; cleanup: () => void };
let k1: TestKey;
let k2: TestKey;
let n = 0;
let instance: DuckDBInstance;
let db: Awaited<ReturnType<DuckDBInstance["connect"]>>;

beforeAll(async () => {
  tmp = tempDir();
  k1 = await makeKey(tmp.dir, "k1.pem");
  k2 = await makeKey(tmp.dir, "k2.pem");
  instance = await DuckDBInstance.create(":memory:");
  db = await instance.connect();
});
afterAll(() => {
  db.closeSync();
  instance.closeSync();
  tmp.cleanup();
});

async function lakeOf(keys: (c: number) => TestKey["signing"][] = () => [k1.signing]) {
  n++;
  return await writeSignedLake(join(tmp.dir, `lake${n}`), { keys });
}

function problemOf(r: VerifyReport): unknown {
  return r.problem === undefined
    ? "verified"
    : { kind: r.problem.kind, entry: r.problem.entry, digest: r.problem.digest, file: r.problem.file };
}

const digestN = (s: number) => `${String(s).padStart(12, "0")}.json`;

test("a whole lake verifies, with its counts", async () => {
  const lake = await lakeOf();
  const r = await verifyLog(lake.path, { keys: [k1.verifying] });
  expect(r.problem).toBeUndefined();
  const bytes = lake.files.reduce((s, f) => s + readFileSync(join(lake.path, f)).length, 0);
  expect(r).toMatchObject({ log: "lake", verified: true, digests: 2, files: 3, entries: 9, bytes });
  expect(r.head).toEqual({ seq: 2, hash: lake.hashes[1] });
});

describe("a changed file is found and its row named", () => {
  // Commit 1: files of 3 and 2 rows (entries 0-4); commit 2: a file of 4 (entries 5-8).
  test.each([
    [
      "changed",
      (l: string[]) => l.splice(1, 1, (l[1] as string).replace("entry", "ENTRY")),
      "entry-changed",
      2,
    ],
    ["inserted", (l: string[]) => l.splice(2, 0, '{"new":1}'), "entry-inserted", 3],
    ["deleted", (l: string[]) => l.splice(1, 1), "entry-deleted", 2],
    ["reordered", (l: string[]) => l.splice(0, 2, l[1] as string, l[0] as string), "entry-reordered", 1],
  ])("entry %s", async (_, edit, kind, row) => {
    const lake = await lakeOf();
    const file = lake.files[2] as string;
    const lines = lake.entries.slice(5, 9);
    edit(lines);
    await writeParquet(db, join(lake.path, file), lines);
    expect(problemOf(await verifyLog(lake.path, { keys: [k1.verifying] }))).toEqual({
      kind,
      entry: row,
      digest: digestN(2),
      file,
    });
  });

  test("replaced: the same rows in another file", async () => {
    const lake = await lakeOf();
    const file = lake.files[0] as string;
    await db.run(
      `COPY (SELECT * FROM read_parquet('${join(lake.path, file)}')) TO '${join(tmp.dir, "re.parquet")}' (FORMAT parquet, COMPRESSION snappy)`,
    );
    copyFileSync(join(tmp.dir, "re.parquet"), join(lake.path, file));
    expect(problemOf(await verifyLog(lake.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "file-replaced",
      file,
      digest: digestN(1),
    });
  });

  test("truncated, extended, missing", async () => {
    const lake = await lakeOf();
    const file = lake.files[1] as string;
    const path = join(lake.path, file);
    const bytes = readFileSync(path);
    truncateSync(path, bytes.length - 10);
    expect(problemOf(await verifyLog(lake.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "file-truncated",
      file,
    });
    writeFileSync(path, bytes);
    appendFileSync(path, "more");
    expect(problemOf(await verifyLog(lake.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "file-extended",
      file,
    });
    unlinkSync(path);
    expect(problemOf(await verifyLog(lake.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "file-missing",
      file,
      digest: digestN(1),
    });
  });

  test("unlisted: a Parquet file no digest lists", async () => {
    const lake = await lakeOf();
    const file = "audit_log/date=2026-01-01/part-000099-0.parquet";
    await writeParquet(db, join(lake.path, file), ['{"added":1}']);
    expect(problemOf(await verifyLog(lake.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "file-unlisted",
      file,
    });
  });
});

describe("the digests", () => {
  test("the newest digest removed: the state file's head names it", async () => {
    const lake = await lakeOf();
    unlinkSync(join(lake.digests, digestN(2)));
    const r = await verifyLog(lake.path, { keys: [k1.verifying] });
    expect(problemOf(r)).toMatchObject({ kind: "digest-missing", file: "_clarifai_sync.json" });
    expect(r.problem?.message).toContain(
      "the state file's head is digest 000000000002.json; digests after 000000000001.json are missing",
    );
  });

  test("the first digest removed, a broken key, rotation", async () => {
    const lake = await lakeOf();
    rmSync(join(lake.digests, digestN(1)));
    expect(problemOf(await verifyLog(lake.path, { keys: [k1.verifying] }))).toMatchObject({
      kind: "digest-missing",
      digest: digestN(1),
    });
    const other = await lakeOf();
    expect(problemOf(await verifyLog(other.path, { keys: [k2.verifying] }))).toMatchObject({
      kind: "key-unknown",
    });
    const rotated = await lakeOf((c) => (c === 0 ? [k1.signing, k2.signing] : [k2.signing]));
    expect((await verifyLog(rotated.path, { keys: [k2.verifying] })).verified).toBe(true);
    const abrupt = await lakeOf((c) => (c === 0 ? [k1.signing] : [k2.signing]));
    expect(problemOf(await verifyLog(abrupt.path, { keys: [k1.verifying, k2.verifying] }))).toMatchObject({
      kind: "key-change-unsigned",
      digest: digestN(2),
    });
  });

  test("--expect-head on a lake", async () => {
    const lake = await lakeOf();
    const r = await verifyLog(lake.path, { keys: [k1.verifying], expectHead: lake.hashes[0] as string });
    expect(r.expectedHead).toEqual({ seq: 1, hash: lake.hashes[0], newest: false });
    expect(
      problemOf(await verifyLog(lake.path, { keys: [k1.verifying], expectHead: "ab".repeat(32) })),
    ).toMatchObject({
      kind: "head-not-found",
    });
  });
});
