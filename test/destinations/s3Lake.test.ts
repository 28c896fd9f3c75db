/**
 * The Parquet lake on S3 (packages/cli/src/sync/s3/lakeStore.ts) through `runSync` against the
 * emulator and a real s3rver: every entry exactly once in the files the state object lists and in
 * what a `*.parquet` glob of the table sees, the same table (Parquet schema, schema version,
 * partitions, state content) as the local lake synced from the same log, nothing hidden, probed or
 * locked left behind; a second run adds nothing; a second writer is refused; a crashed commit's
 * unlisted hidden objects are deleted; refusals are one line, with nothing written.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLakeStore } from "../../packages/cli/src/sync/lake/store.js";
import { createS3Store } from "../../packages/cli/src/sync/s3/store.js";
import { parseS3Url } from "../../packages/cli/src/sync/s3/url.js";
import { type SyncStore, SyncUsageError } from "../../packages/cli/src/sync/store.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { PAT, tempDir, USER } from "../cli/helpers.js";
import { freePort } from "../helpers/postgres.js";
import { type S3Server, startS3Server } from "../helpers/s3.js";
import { IDENTITY } from "../sync/lakeFixtures.js";
import { lakeHeld } from "../sync/syncHelpers.js";
import { compareOnce, emulatorLines, parquetShape, readS3Lake, syncAll } from "./s3LakeFixtures.js";

let s3: S3Server;
let emu: EmulatorHandle;
let client: AuditLogClient;
let tmp: ReturnType<typeof tempDir>;
const LOCK = { staleMs: 60_000, settleMs: 20 };

beforeAll(async () => {
  tmp = tempDir();
  [s3, emu] = await Promise.all([
    startS3Server(),
    startEmulator({ pats: { [PAT]: USER }, entries: generateEntries(700, 4242), restPort: false }),
  ]);
  await s3.createBucket("lake");
  client = new AuditLogClient({ pat: PAT, userId: USER, endpoint: emu.grpcAddress, insecure: true });
}, 60_000);

afterAll(async () => {
  client?.close();
  await emu?.close();
  await s3?.stop();
  tmp?.cleanup();
});

function s3Store(url: string, env: Record<string, string> = s3.env): Promise<SyncStore> {
  return createS3Store(parseS3Url(url), { env, format: "json", lock: LOCK });
}

const sync = (store: SyncStore) => syncAll(client, store, 120);

it("syncs every entry exactly once, as the same table as the local lake, and a second run adds nothing", async () => {
  const first = await sync(await s3Store("s3://lake/audit/prod"));
  const lake = await readS3Lake(s3, "lake", "audit/prod");
  expect(first.inserted).toBe(700);
  expect(lake.listed).toHaveLength(700);
  expect(compareOnce(lake.listed, lake.globbed)).toEqual({ missing: 0, extra: 0, repeated: 0 });
  expect(new Set(lake.listed).size).toBe(700);
  expect(lake.totals).toBe(700);
  expect(lake.running).toBe(false);
  expect(lake.state.pending).toEqual([]);
  // Only the state object and the table's final names: no hidden, probe or lock object is left.
  for (const key of lake.keys)
    expect(key).toMatch(
      /^audit\/prod\/(_clarifai_sync\.json|audit_log\/date=\d{4}-\d{2}-\d{2}\/part-[0-9a-z-]+\.parquet)$/,
    );

  // The local lake of the same log: same entries, files by the same partitions, same Parquet schema.
  const dir = join(tmp.dir, "local");
  await sync(createLakeStore({ dir }));
  const local = await lakeHeld(dir);
  expect(compareOnce(lake.listed, local.entries)).toEqual({ missing: 0, extra: 0, repeated: 0 });
  const localState = JSON.parse(readFileSync(join(dir, "_clarifai_sync.json"), "utf8"));
  expect(lake.state.schemaVersion).toBe(localState.schemaVersion);
  expect(Object.keys(lake.state).sort()).toEqual(Object.keys(localState).sort());
  const partitions = (files: { path: string }[]) =>
    [...new Set(files.map((f) => f.path.split("/")[1]))].sort();
  expect(partitions(lake.state.files)).toEqual(partitions(localState.files));
  const s3File = (await s3.readObject("lake", `audit/prod/${lake.state.files[0]?.path}`)) as Buffer;
  const localFile = readFileSync(join(dir, localState.files[0].path));
  expect(parquetShape(s3File)).toEqual(parquetShape(localFile));
  expect(parquetShape(s3File).kv).toMatchObject({
    clarifai_audit_schema_version: String(lake.state.schemaVersion),
  });

  const second = await sync(await s3Store("s3://lake/audit/prod"));
  expect(second.inserted).toBe(0);
  const again = await readS3Lake(s3, "lake", "audit/prod");
  expect(again.listed.sort()).toEqual(lake.listed.sort());
  // The entries are the emulator's log (as the REST JSON line of each).
  expect(compareOnce(lake.listed, emulatorLines(emu, USER))).toEqual({ missing: 0, extra: 0, repeated: 0 });
}, 60_000);

it("refuses a second writer while the first holds the lake, and lets it in once the first closed", async () => {
  const a = await s3Store("s3://lake/two");
  await a.open(IDENTITY);
  const b = await s3Store("s3://lake/two");
  const refused = await b.open(IDENTITY).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(SyncUsageError);
  expect((refused as SyncUsageError).problem).toMatch(
    /^another writer is writing to s3:\/\/lake\/two \(host [^,]+, pid \d+, run [0-9a-f]{16}, heartbeat [^)]+\); a lock is taken over once its heartbeat is 60 s old$/,
  );
  await a.close();
  await b.open(IDENTITY);
  await b.close();
  expect(await s3.listKeys("lake", "two/")).toEqual([]);
});

it("deletes the hidden objects a crashed commit left unlisted, and refuses a table without a state object", async () => {
  await s3.writeObject("lake", "crashed/audit_log/date=2024-01-01/.part-00000009-0-aaaa.parquet.tmp", "x");
  await s3.writeObject("lake", "crashed/_clarifai_sync.lock", JSON.stringify({}));
  const garbled = await (await s3Store("s3://lake/crashed")).open(IDENTITY).catch((e: unknown) => e);
  if (!(garbled instanceof SyncUsageError)) throw garbled;
  expect((garbled as SyncUsageError).problem).toBe(
    "s3://lake/crashed/_clarifai_sync.lock is not a lock of clarifai-audit; remove it if no other program writes there",
  );
  await s3.client.send(
    new (await import("@aws-sdk/client-s3")).DeleteObjectCommand({
      Bucket: "lake",
      Key: "crashed/_clarifai_sync.lock",
    }),
  );
  const store = await s3Store("s3://lake/crashed");
  expect(await store.open(IDENTITY)).toBeUndefined();
  await store.close();
  expect(await s3.listKeys("lake", "crashed/")).toEqual([]);

  await s3.writeObject("lake", "foreign/audit_log/date=2024-01-01/data.parquet", "x");
  const foreign = await (await s3Store("s3://lake/foreign")).open(IDENTITY).catch((e: unknown) => e);
  expect((foreign as SyncUsageError).problem).toBe(
    "s3://lake/foreign holds audit_log/ but no _clarifai_sync.json; it was not written by clarifai-audit sync (use an empty prefix)",
  );
  expect(await s3.listKeys("lake", "foreign/")).toEqual(["foreign/audit_log/date=2024-01-01/data.parquet"]);
});

it.each([
  [
    "a missing bucket",
    "s3://nothere/x",
    {},
    SyncUsageError,
    /^s3:\/\/nothere\/x: the bucket nothere does not exist \(NoSuchBucket\)$/,
  ],
  [
    "unknown credentials",
    "s3://lake/denied",
    { AWS_ACCESS_KEY_ID: "AKIAWRONGWRONGWRONG0", AWS_SECRET_ACCESS_KEY: "wrong-secret-value-1234" },
    SyncUsageError,
    /^s3:\/\/lake\/denied: access denied \(InvalidAccessKeyId\); check the AWS credentials and the bucket's policy$/,
  ],
])("refuses %s in one line through a sync, with nothing written", async (_what, url, env, kind, message) => {
  const error = await sync(await s3Store(url, { ...s3.env, ...env })).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(kind);
  expect((error as SyncUsageError).problem).toMatch(message);
  expect((error as Error).message).not.toContain("wrong-secret-value-1234");
  expect(await s3.listKeys("lake", "denied/")).toEqual([]);
});

it("fails an unreachable endpoint with a plain error (a later run may succeed)", async () => {
  const port = await freePort();
  const error = await sync(
    await s3Store("s3://lake/x", { ...s3.env, AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}` }),
  ).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(Error);
  expect(error).not.toBeInstanceOf(SyncUsageError);
  expect((error as Error).message).toBe(
    `s3://lake/x: cannot reach 127.0.0.1:${port} while listing the prefix (ECONNREFUSED)`,
  );
});
