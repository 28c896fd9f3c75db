/**
 * The AWS Security Lake layout (`s3://BUCKET/PREFIX?layout=security-lake&account_id=…`) as a
 * library, against a real s3rver and the emulator: `runSync` into it, then every Parquet file read
 * back with DuckDB: at its custom source's exact partition path (one source per OCSF class), each
 * entry exactly once (metadata.uid = its key), every file of a class with the same schema; a rerun
 * writes nothing; the URL's parameters checked in one line before anything is opened.
 */

import { accountS3Target } from "../../packages/cli/src/collector/plan.js";
import {
  createDestinationStore,
  type DestinationOptions,
  parseDestination,
} from "../../packages/cli/src/sync/destination.js";
import { ocsfColumnsOfClass } from "../../packages/cli/src/sync/s3/ocsfParquet.js";
import { parseS3Url } from "../../packages/cli/src/sync/s3/url.js";
import { SyncUsageError } from "../../packages/cli/src/sync/store.js";
import { runSync } from "../../packages/cli/src/sync/sync.js";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { lineKey } from "../../packages/client/src/domain/entryKey.js";
import { ocsfClassOf } from "../../packages/client/src/ocsf/index.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { type S3Server, startS3Server } from "../helpers/s3.js";
import { linesOf } from "../sync/syncHelpers.js";
import { lakeKeys, readSecurityLake } from "./s3SecurityLakeHelpers.js";
import { patchS3rverContinuationTokens } from "./s3StreamHelpers.js";

const BUCKET = "seclake";
const PAT = "s3-seclake-pat-0123456789abcdef";
const USER = "s3-seclake-user";
const LAKE = { source: "clarifai-audit", region: "eu-west-3", accountId: "123456789012" } as const;
let s3: S3Server;
let emu: EmulatorHandle;

/** `count` entries spread evenly over `days` UTC days from 2025-03-01T05:00Z. */
function entriesOverDays(count: number, days: number, seed: number): AuditLogEntry[] {
  const start = Date.UTC(2025, 2, 1, 5) * 1000;
  const span = days * 86_400_000_000;
  return generateEntries(count, seed).map((e, i) => {
    const us = start + Math.floor((span * i) / count) + (i % 991);
    return { ...e, timestamp: { seconds: Math.floor(us / 1e6), nanos: (us % 1e6) * 1000 } };
  });
}

beforeAll(async () => {
  patchS3rverContinuationTokens();
  [s3, emu] = await Promise.all([
    startS3Server(),
    startEmulator({ pats: { [PAT]: USER }, entries: [], restPort: false }),
  ]);
  await s3.createBucket(BUCKET);
}, 60_000);

afterAll(async () => {
  await emu?.close();
  await s3?.stop();
});

async function sync(prefix: string, o: { reconcileMs?: number; account?: string } = {}) {
  const dest = await parseDestination(
    `s3://${BUCKET}/${prefix}?layout=security-lake&region=${LAKE.region}&account_id=${LAKE.accountId}`,
  );
  const client = new AuditLogClient({ pat: PAT, userId: USER, endpoint: emu.grpcAddress, insecure: true });
  try {
    // format json: the layout writes OCSF whatever it says.
    const options = {
      env: s3.env,
      format: "json",
      lock: { staleMs: 60_000, settleMs: 20 },
      ...(o.account !== undefined ? { account: o.account } : {}),
    };
    const store = await createDestinationStore(dest, options as DestinationOptions);
    return await runSync({
      client,
      store,
      settleMs: 0,
      reconcileMs: o.reconcileMs ?? 3_650 * 86_400_000,
      perPage: 50,
      commitEntries: 70,
      commitIntervalMs: 0,
    });
  } finally {
    client.close();
  }
}

it("parses the layout's parameters, and refuses bad ones in one line", () => {
  expect(parseS3Url("s3://b-1/p?layout=security-lake&account_id=123456789012")).toEqual({
    bucket: "b-1",
    prefix: "p",
    layout: "security-lake",
    description: "s3://b-1/p?layout=security-lake",
    securityLake: { accountId: "123456789012", source: "clarifai-audit" },
  });
  expect(
    parseS3Url("s3://b-1?layout=security-lake&account_id=123456789012&region=us-gov-west-1&source=acme_1")
      .securityLake,
  ).toEqual({ accountId: "123456789012", region: "us-gov-west-1", source: "acme_1" });
  const refusal = (url: string) => {
    try {
      parseS3Url(url);
    } catch (error) {
      expect(error).toBeInstanceOf(SyncUsageError);
      return (error as Error).message;
    }
    throw new Error(`${url} was accepted`);
  };
  expect(refusal("s3://b-1/p?layout=security-lake")).toContain("layout=security-lake needs account_id=");
  expect(refusal("s3://b-1/p?layout=security-lake&account_id=12345")).toContain(
    'account_id="12345" is not allowed: it must be an AWS account id: 12 digits',
  );
  expect(refusal("s3://b-1/p?layout=security-lake&account_id=123456789012&region=Mars")).toContain(
    "must be an AWS Region such as us-east-1",
  );
  expect(
    refusal("s3://b-1/p?layout=security-lake&account_id=123456789012&source=much-too-long-source"),
  ).toContain("at most 20 characters");
  expect(refusal("s3://b-1/p?layout=stream&account_id=123456789012")).toContain(
    "account_id only go with layout=security-lake",
  );
  for (const message of [
    refusal("s3://b-1/p?layout=security-lake"),
    refusal("s3://b-1/p?layout=stream&region=us-east-1"),
  ])
    expect(message).not.toContain("\n");
});

it("the column types of a class are fixed, from the mapper's maximal events: raw_data and unmapped as text", () => {
  for (const uid of [3001, 3004, 3005, 3006, 6003]) {
    const columns = ocsfColumnsOfClass(uid);
    expect(columns).toBe(ocsfColumnsOfClass(uid));
    expect(columns).toContain(`"class_uid": 'BIGINT'`);
    expect(columns).toContain(`"raw_data": 'VARCHAR'`);
    expect(columns).toContain(`"unmapped": 'JSON'`);
    expect(columns).toMatch(/"metadata": 'STRUCT\(/);
  }
});

it("writes every entry once as OCSF Parquet at its class's custom source and day; one schema per class; a rerun writes nothing", async () => {
  const entries = entriesOverDays(400, 3, 11);
  emu.append(entries, USER);
  const r1 = await sync("lake/a");
  expect(r1.inserted).toBe(400);
  const files = await readSecurityLake(s3, BUCKET, "lake/a", LAKE);
  // Several commits: more files than (class, day) pairs; one source folder per class in the log.
  const classes = new Set(entries.map((e) => ocsfClassOf(e.operation).classUid));
  expect(new Set(files.map((f) => f.classUid))).toEqual(classes);
  expect(new Set(files.map((f) => f.day))).toEqual(new Set(["20250301", "20250302", "20250303", "20250304"]));
  const keys = lakeKeys(files);
  expect(keys.length).toBe(400);
  expect(new Set(keys)).toEqual(new Set(linesOf(entries).map(lineKey)));
  for (const uid of classes) {
    const schemas = new Set(files.filter((f) => f.classUid === uid).map((f) => f.schema));
    expect(schemas.size).toBe(1);
  }
  for (const f of files) for (const e of f.events) expect(e.tenant).toBeNull();
  const objects = (await s3.listKeys(BUCKET, "lake/a/")).length;
  expect((await sync("lake/a")).inserted).toBe(0);
  expect((await s3.listKeys(BUCKET, "lake/a/")).length).toBe(objects);
}, 60_000);

it("a reconcile window wider than the keys kept reads the Parquet files back and writes nothing twice", async () => {
  expect((await sync("lake/b", { reconcileMs: 0 })).inserted).toBe(400);
  expect((await sync("lake/b")).inserted).toBe(0);
  const keys = lakeKeys(await readSecurityLake(s3, BUCKET, "lake/b", LAKE));
  expect(keys.length).toBe(400);
  expect(new Set(keys).size).toBe(400);
}, 60_000);

it("a collector's accounts share the prefix (Security Lake reads only PREFIX/ext/): each its own lock, state and objects, at once, each entry once per account", async () => {
  const target = parseS3Url(`s3://${BUCKET}/lake/shared?layout=security-lake&account_id=${LAKE.accountId}`);
  expect(accountS3Target(target, "a1")).toBe(target);
  const [a1, a2] = await Promise.all([
    sync("lake/shared", { account: "a1" }),
    sync("lake/shared", { account: "a2" }),
  ]);
  expect([a1.inserted, a2.inserted]).toEqual([400, 400]);
  const events = (await readSecurityLake(s3, BUCKET, "lake/shared", LAKE)).flatMap((f) => f.events);
  for (const account of ["a1", "a2"]) {
    const keys = events.filter((e) => e.tenant === account).map((e) => e.uid);
    expect(keys.length).toBe(400);
    expect(new Set(keys).size).toBe(400);
  }
  expect(events.length).toBe(800);
}, 60_000);

it("refuses the state of another layout on the same prefix in one line", async () => {
  const dest = await parseDestination(`s3://${BUCKET}/lake/a?layout=stream`);
  const client = new AuditLogClient({ pat: PAT, userId: USER, endpoint: emu.grpcAddress, insecure: true });
  try {
    const store = await createDestinationStore(dest, {
      env: s3.env,
      format: "ocsf",
      lock: { staleMs: 60_000, settleMs: 20 },
    } as DestinationOptions);
    const error = await runSync({ client, store, settleMs: 0, reconcileMs: 0, commitIntervalMs: 0 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SyncUsageError);
    expect((error as Error).message).toContain("is the state of the security-lake layout, not stream");
  } finally {
    client.close();
  }
}, 60_000);
