/**
 * The S3 stream layout (`s3://BUCKET/PREFIX?layout=stream`) as a library, against a real s3rver and
 * the emulator: `runSync` into it, then every object listed and gunzipped as an ingester reads it:
 * each entry exactly once, in the folder of its own UTC hour, with the content type ingesters need;
 * late arrivals added to their hours' folders; a wider reconcile window than the keys kept reads
 * them back; refusals in one line before anything is written.
 */
import {
  createDestinationStore,
  type DestinationOptions,
  parseDestination,
} from "../../packages/cli/src/sync/destination.js";
import { SyncUsageError } from "../../packages/cli/src/sync/store.js";
import { runSync, syncIdentity } from "../../packages/cli/src/sync/sync.js";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { lineKey } from "../../packages/client/src/domain/entryKey.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { type S3Server, startS3Server } from "../helpers/s3.js";
import { linesOf } from "../sync/syncHelpers.js";
import { patchS3rverContinuationTokens, readStream, streamKeys, streamState } from "./s3StreamHelpers.js";

const BUCKET = "audit";
let s3: S3Server;
let emu: EmulatorHandle;
const PAT = "s3-stream-pat-0123456789abcdef";
const USER = "s3-stream-user";

/** `count` entries spread evenly over `hours` hours from 2025-01-01T00:17Z, µs apart within. */
function entriesOverHours(count: number, hours: number, seed: number): AuditLogEntry[] {
  const start = Date.UTC(2025, 0, 1, 0, 17) * 1000;
  const span = hours * 3_600_000_000;
  return generateEntries(count, seed).map((e, i) => {
    const us = start + Math.floor((span * i) / count) + (i % 997);
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

/** s3rver has no conditional writes: the lock is read back after `settleMs`, short here. */
function options(format: "json" | "ocsf"): DestinationOptions {
  return { env: s3.env, format, lock: { staleMs: 60_000, settleMs: 20 } } as DestinationOptions;
}

/** A sync run of the emulator's log into `s3://audit/PREFIX?layout=stream`. */
async function sync(prefix: string, o: { reconcileMs?: number; format?: "json" | "ocsf" } = {}) {
  const dest = await parseDestination(`s3://${BUCKET}/${prefix}?layout=stream`);
  const client = new AuditLogClient({ pat: PAT, userId: USER, endpoint: emu.grpcAddress, insecure: true });
  try {
    const store = await createDestinationStore(dest, options(o.format ?? "json"));
    return await runSync({
      client,
      store,
      settleMs: 0,
      reconcileMs: o.reconcileMs ?? 3_650 * 86_400_000,
      perPage: 50,
      commitEntries: 60,
      commitIntervalMs: 0,
    });
  } finally {
    client.close();
  }
}

it("a sync writes every entry exactly once as gzip JSON lines in its own UTC hour's folder; late arrivals join their hours", async () => {
  const first = entriesOverHours(300, 5, 7);
  emu.append(first, USER);
  const r1 = await sync("runs/a");
  expect(r1.inserted).toBe(300);
  let objects = await readStream(s3, BUCKET, "runs/a");
  // Entries from 00:17 to 05:17 (six hour folders), more than one commit: objects of one hour each.
  expect(new Set(objects.map((o) => o.key.split("/").slice(2, 6).join("/"))).size).toBe(6);
  expect(objects.length).toBeGreaterThan(6);
  for (const o of objects) {
    expect(o.contentType).toBe("application/gzip");
    expect(o.contentEncoding).toBeUndefined();
  }
  const lines = objects.flatMap((o) => o.lines);
  expect(lines.sort()).toEqual(linesOf(first).sort());

  // Nothing new: a run over the whole log again writes no object.
  const before = objects.length;
  expect((await sync("runs/a")).inserted).toBe(0);
  expect((await readStream(s3, BUCKET, "runs/a")).length).toBe(before);

  // Late arrivals inside the span already written, and new ones after it.
  const late = entriesOverHours(40, 7, 8);
  emu.append(late, USER);
  const r3 = await sync("runs/a");
  expect(r3.inserted).toBe(40);
  expect(r3.late).toBeGreaterThan(0);
  objects = await readStream(s3, BUCKET, "runs/a");
  const keys = streamKeys(objects);
  const expected = linesOf([...first, ...late]).map(lineKey);
  expect(keys.length).toBe(expected.length);
  expect(new Set(keys)).toEqual(new Set(expected));
  const state = await streamState(s3, BUCKET, "runs/a");
  expect(state?.state.totals.entries).toBe(340);
  expect(state?.state.run).toBeUndefined();
}, 60_000);

it("a run whose reconcile window reaches further back than the keys kept reads them back and writes nothing twice", async () => {
  // The log of the test above: a first run with no reconcile window keeps few keys.
  expect((await sync("runs/b", { reconcileMs: 0 })).inserted).toBe(340);
  expect((await sync("runs/b", { reconcileMs: 3_650 * 86_400_000 })).inserted).toBe(0);
  const keys = streamKeys(await readStream(s3, BUCKET, "runs/b"));
  expect(keys.length).toBe(340);
  expect(new Set(keys).size).toBe(340);
}, 60_000);

it("refuses a state object of another format, or a damaged one, in one line before writing anything", async () => {
  const mixed = await sync("runs/a", { format: "ocsf" }).catch((e: unknown) => e);
  expect(mixed).toBeInstanceOf(SyncUsageError);
  expect((mixed as Error).message).toBe(
    "`store`: s3://audit/runs/a/_clarifai_audit/stream.state.json holds a stream of json lines, not ocsf; use another prefix for another `format`",
  );
  await s3.writeObject(BUCKET, "runs/c/_clarifai_audit/stream.state.json", '{"kind":"x"}');
  const error = await sync("runs/c").catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SyncUsageError);
  expect((error as Error).message).toMatch(
    /^s3:\/\/audit\/runs\/c\/_clarifai_audit\/stream\.state\.json: field \/kind [^\n]*$/,
  );
  expect((await readStream(s3, BUCKET, "runs/c")).length).toBe(0);
}, 60_000);

it("format ocsf: each line is the entry's OCSF event (metadata.uid its id, raw_data its JSON line), each entry once", async () => {
  const r = await sync("runs/ocsf", { format: "ocsf" });
  expect(r.inserted).toBe(340);
  const objects = await readStream(s3, BUCKET, "runs/ocsf", "ocsf");
  const keys = streamKeys(objects, "ocsf");
  expect(keys.length).toBe(340);
  expect(new Set(keys).size).toBe(340);
  for (const line of objects.flatMap((o) => o.lines)) {
    const event = JSON.parse(line) as { class_uid: number; metadata: { uid: string }; raw_data: string };
    expect(event.metadata.uid).toBe(lineKey(event.raw_data));
    expect(event.class_uid).toBeGreaterThan(0);
  }
  // A second run over the whole log adds nothing: the keys are the entries', whatever the lines are.
  expect((await sync("runs/ocsf", { format: "ocsf" })).inserted).toBe(0);
}, 60_000);

it("a second writer on the same prefix is refused in one line while the first holds it, and goes on once it is released", async () => {
  const dest = await parseDestination(`s3://${BUCKET}/runs/a?layout=stream`);
  const client = new AuditLogClient({ pat: PAT, userId: USER, endpoint: emu.grpcAddress, insecure: true });
  const first = await createDestinationStore(dest, options("json"));
  try {
    await first.open(syncIdentity(client));
    const second = await sync("runs/a").catch((e: unknown) => e);
    expect(second).toBeInstanceOf(SyncUsageError);
    expect((second as Error).message).toMatch(
      /^`store`: another writer is writing to s3:\/\/audit\/runs\/a \(host [^\n]*\)[^\n]*$/,
    );
  } finally {
    await first.close();
    client.close();
  }
  expect((await sync("runs/a")).inserted).toBe(0);
}, 60_000);
