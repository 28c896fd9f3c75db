/**
 * End to end, as users run it: `keys generate` → `sync --dest DIR --sign --tsa` over two runs while
 * the emulator's log grows (late entries included; the first run the built bin) → `verify DIR
 * --tsa-cert --expect-head` → copies of the lake → tampering → `verify`: a Parquet file rewritten by
 * DuckDB with one row's entry changed, a file deleted, an extra Parquet file in a partition, a digest
 * deleted mid-chain, the state file's head ahead of the digests; each found, exit 6, one line. And
 * `verify` writes nothing into the lake; no private key in anything printed.
 */
import { cpSync, readdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import { DIGESTS_DIR, STATE_FILE } from "../../packages/cli/src/sync/lake/manifest.js";
import { digestName } from "../../packages/client/src/digest/document.js";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import { cliEnv, connection, PAT, tempDir, USER } from "../cli/helpers.js";
import { startTestTsa, type TestTsa } from "../helpers/tsa.js";
import {
  bin,
  cli,
  expectNoSecretPrinted,
  expectUntouched,
  type GeneratedKey,
  generateKey,
  readDigestFile,
  summaryOf,
} from "./endToEndHelpers.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let tsa: TestTsa;
let keyA: GeneratedKey;
let duck: DuckDBInstance;
const env = cliEnv();
const START = 300;

/** The signed lake, made once: its folder and the heads the two runs printed. */
const lake = { dir: "", heads: [] as { seq: number; hash: string }[] };

const FLAGS = [
  "--settle",
  "0s",
  "--reconcile",
  "3650d",
  "--per-page",
  "50",
  "--commit-entries",
  "100",
  "--commit-interval",
  "0",
  "--json",
  "-q",
];

async function sql(text: string): Promise<unknown[][]> {
  const db = await duck.connect();
  try {
    return (await db.runAndReadAll(text)).getRows() as unknown[][];
  } finally {
    db.closeSync();
  }
}

const quoted = (path: string) => `'${path.replaceAll("'", "''")}'`;

beforeAll(async () => {
  tmp = tempDir();
  [emu, tsa, duck] = await Promise.all([
    startEmulator({ pats: { [PAT]: USER }, generate: { count: START, seed: 52 }, restPort: false }),
    startTestTsa(),
    DuckDBInstance.create(":memory:", { threads: "1" }),
  ]);
  keyA = await generateKey(join(tmp.dir, "keys"), "a.key", env);
  lake.dir = join(tmp.dir, "lake");
  const args = ["sync", ...connection(emu.grpcAddress), "--dest", lake.dir, ...FLAGS, "--sign", keyA.path];
  const first = await bin([...args, "--tsa", tsa.url], env);
  expect({ code: first.code, stderr: first.code === 0 ? "" : first.stderr }).toEqual({ code: 0, stderr: "" });
  lake.heads.push((summaryOf(first) as { digest: { seq: number; hash: string } }).digest);
  // The log grows while the second run reads it: new entries and late ones inside the span synced.
  emu.setGrowth(USER, { count: 5, everyMs: 20, lateFraction: 0.4 });
  await new Promise((resolve) => setTimeout(resolve, 150));
  const second = await cli([...args, "--tsa", tsa.url], env);
  emu.setGrowth(USER, undefined);
  expect({ code: second.code, stderr: second.code === 0 ? "" : second.stderr }).toEqual({
    code: 0,
    stderr: "",
  });
  lake.heads.push((summaryOf(second) as { digest: { seq: number; hash: string } }).digest);
}, 60_000);

afterAll(async () => {
  await Promise.all([emu?.close(), tsa?.close()]);
  duck?.closeSync();
  tmp?.cleanup();
});

/** `verify DIR --key A.pub EXTRA…`, as a user reads it and with --json; it writes nothing in DIR. */
async function verify(dir: string, ...extra: string[]) {
  return await expectUntouched(dir, async () => {
    const human = await cli(["verify", dir, "--key", keyA.pub, ...extra], env);
    const json = await cli(["verify", dir, "--key", keyA.pub, "--json", ...extra], env);
    expect(json.code).toBe(human.code);
    return { human, json, report: summaryOf(json) };
  });
}

/** Asserts `verify` finds `problem` and says it in one line, exit 6. */
async function expectProblem(
  dir: string,
  problem: { kind: string; file: string; entry?: number; digest?: string },
): Promise<string> {
  const { human, report } = await verify(dir);
  expect({ code: human.code, stdout: human.stdout }).toEqual({ code: 6, stdout: "" });
  const p = report.problem as Record<string, unknown>;
  expect({ kind: p.kind, file: p.file, entry: p.entry, digest: p.digest }).toEqual(problem);
  expect(human.stderr).toBe(`not verified: ${p.message as string}\n`);
  return human.stderr;
}

let copies = 0;
function copyLake(): string {
  const dir = join(tmp.dir, `copy-${++copies}`);
  cpSync(lake.dir, dir, { recursive: true, preserveTimestamps: true });
  return dir;
}

/** The lake's Parquet files as the digests list them, with the digest listing each. */
function listed(dir: string): { path: string; digest: string; entries: number }[] {
  const out: { path: string; digest: string; entries: number }[] = [];
  const names = readdirSync(join(dir, DIGESTS_DIR)).sort();
  for (const name of names)
    for (const f of readDigestFile(join(dir, DIGESTS_DIR, name)).digest.files)
      out.push({ path: f.path, digest: name, entries: f.entries });
  return out;
}

test("two signed runs while the log grows: verify --tsa-cert --expect-head exits 0 with the counts", async () => {
  const [h1, h2] = lake.heads as [{ seq: number; hash: string }, { seq: number; hash: string }];
  expect(h2.seq).toBeGreaterThan(h1.seq);
  const rows = (await sql(
    `SELECT count(*)::INTEGER, count(DISTINCT entry)::INTEGER FROM read_parquet(${quoted(join(lake.dir, "audit_log", "**", "*.parquet"))}, hive_partitioning = false)`,
  )) as [[number, number]];
  const [[count, distinct]] = rows;
  // The growth reached the lake (new and late entries), each entry once.
  expect(count).toBeGreaterThan(START);
  expect(distinct).toBe(count);
  const files = listed(lake.dir);
  const args = [
    "verify",
    lake.dir,
    "--key",
    keyA.pub,
    "--tsa-cert",
    tsa.tsaCertPath,
    "--expect-head",
    h2.hash,
  ];
  const json = await expectUntouched(lake.dir, () => cli([...args, "--json"], env));
  expect({ code: json.code, stdout: json.stdout }).toEqual({ code: 0, stdout: "" });
  expect(summaryOf(json)).toMatchObject({
    verified: true,
    log: "lake",
    digests: h2.seq,
    files: files.length,
    entries: count,
    head: h2,
    keyIds: [keyA.keyId],
    expectedHead: { ...h2, newest: true },
    timestamps: { checked: h2.seq },
  });
  // The built bin, as users run it: one line, and it writes nothing either.
  const human = await expectUntouched(lake.dir, () => bin(args, env));
  expect({ code: human.code, stdout: human.stdout }).toEqual({ code: 0, stdout: "" });
  expect(human.stderr).toMatch(
    new RegExp(
      `^verified: \\S+ \\(lake of user ${USER}\\): ${h2.seq} digests, ${files.length} files, ${count} entries, \\d+ bytes; keys ${keyA.keyId}; head ${h2.seq} ${h2.hash}; the expected head is digest ${h2.seq} \\(the newest\\); ${h2.seq} time-stamps, \\S+ to \\S+\n$`,
    ),
  );
  // The first run's head, given to an auditor then, is still in the chain.
  const earlier = await verify(lake.dir, "--expect-head", h1.hash);
  expect(earlier.report).toMatchObject({ verified: true, expectedHead: { ...h1, newest: false } });
}, 30_000);

test("a Parquet file rewritten by DuckDB with one row's entry changed: entry-changed, naming the row", async () => {
  const dir = copyLake();
  const target = listed(dir).find((f) => f.entries >= 5) as { path: string; digest: string };
  const path = join(dir, target.path);
  const rewritten = join(tmp.dir, "rewritten.parquet");
  await sql(
    `COPY (SELECT * EXCLUDE (file_row_number) REPLACE (CASE WHEN file_row_number = 3 THEN replace(entry, '"id":"', '"id":"x') ELSE entry END AS entry) FROM read_parquet(${quoted(path)}, file_row_number = true, hive_partitioning = false) ORDER BY file_row_number) TO ${quoted(rewritten)} (FORMAT parquet)`,
  );
  renameSync(rewritten, path);
  const stderr = await expectProblem(dir, {
    kind: "entry-changed",
    file: target.path,
    entry: 4,
    digest: target.digest,
  });
  expect(stderr).toContain(target.path);
});

test("a Parquet file deleted: file-missing", async () => {
  const dir = copyLake();
  const target = listed(dir)[2] as { path: string; digest: string };
  unlinkSync(join(dir, target.path));
  await expectProblem(dir, {
    kind: "file-missing",
    file: target.path,
    entry: undefined,
    digest: target.digest,
  });
});

test("an extra Parquet file dropped into a partition: file-unlisted", async () => {
  const dir = copyLake();
  const target = listed(dir)[1] as { path: string };
  const extra = join(dirname(target.path), "part-999999-extra.parquet");
  cpSync(join(dir, target.path), join(dir, extra));
  await expectProblem(dir, { kind: "file-unlisted", file: extra, entry: undefined, digest: undefined });
});

test("a digest deleted mid-chain: digest-missing", async () => {
  const dir = copyLake();
  const seq = (lake.heads[0] as { seq: number }).seq;
  unlinkSync(join(dir, DIGESTS_DIR, digestName(seq)));
  const stderr = await expectProblem(dir, {
    kind: "digest-missing",
    file: join(dir, DIGESTS_DIR, digestName(seq)),
    entry: undefined,
    digest: digestName(seq),
  });
  expect(stderr).toContain(digestName(seq));
});

test("the state file's head ahead of the digests: digest-missing, naming the state file", async () => {
  const dir = copyLake();
  const head = lake.heads[1] as { seq: number; hash: string };
  const state = JSON.parse(readFileSync(join(dir, STATE_FILE), "utf8")) as {
    digest: { seq: number; sha256: string };
  };
  expect(state.digest).toEqual({ seq: head.seq, sha256: head.hash });
  state.digest = { seq: head.seq + 1, sha256: "ab".repeat(32) };
  writeFileSync(join(dir, STATE_FILE), JSON.stringify(state));
  const stderr = await expectProblem(dir, {
    kind: "digest-missing",
    file: STATE_FILE,
    entry: undefined,
    digest: digestName(head.seq + 1),
  });
  expect(stderr).toContain(digestName(head.seq + 1));
  // The newest digest deleted: the same, the state still names it.
  const gone = copyLake();
  unlinkSync(join(gone, DIGESTS_DIR, digestName(head.seq)));
  await expectProblem(gone, {
    kind: "digest-missing",
    file: STATE_FILE,
    entry: undefined,
    digest: digestName(head.seq),
  });
});

test("the state file (what query reads) drops a signed file: file-missing, not verified", async () => {
  const dir = copyLake();
  const state = JSON.parse(readFileSync(join(dir, STATE_FILE), "utf8")) as {
    files: { path: string; rows: number }[];
  };
  const [dropped] = state.files.splice(1, 1) as [{ path: string; rows: number }];
  writeFileSync(join(dir, STATE_FILE), JSON.stringify(state));
  // query reads the lake by its state file: those rows are gone from what an auditor queries.
  const all = await cli(
    ["query", "--lake", lake.dir, "SELECT count(*) AS n FROM audit_log", "--format", "json"],
    env,
  );
  const q = await cli(
    ["query", "--lake", dir, "SELECT count(*) AS n FROM audit_log", "--format", "json"],
    env,
  );
  expect(JSON.parse(q.stdout)).toEqual([
    { n: (JSON.parse(all.stdout) as [{ n: number }])[0].n - dropped.rows },
  ]);
  const digest = listed(dir).find((f) => f.path === dropped.path)?.digest;
  const stderr = await expectProblem(dir, {
    kind: "file-missing",
    file: dropped.path,
    entry: undefined,
    digest,
  });
  expect(stderr).toContain(STATE_FILE);
});

test("trust: no private key in anything printed", () => {
  expectNoSecretPrinted([keyA]);
});
