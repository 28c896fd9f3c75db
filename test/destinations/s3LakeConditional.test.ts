/**
 * The S3 lake where the server has conditional writes (s3rver behind test/helpers/s3.ts's
 * conditional front, which answers If-None-Match / If-Match as AWS S3 does): the probe finds them,
 * the lock is created with If-None-Match, the state object is written with If-Match on the ETag the
 * writer read, so a writer whose state object changed under it stops with one line, and what it
 * uploaded is deleted by the next open, which then holds every entry exactly once.
 */
import { openBucket } from "../../packages/cli/src/sync/s3/bucket.js";
import { createS3Store } from "../../packages/cli/src/sync/s3/store.js";
import { parseS3Url } from "../../packages/cli/src/sync/s3/url.js";
import { type SyncStore, SyncUsageError } from "../../packages/cli/src/sync/store.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { PAT, USER } from "../cli/helpers.js";
import { type ConditionalFront, type S3Server, startConditionalFront, startS3Server } from "../helpers/s3.js";
import { IDENTITY } from "../sync/lakeFixtures.js";
import { compareOnce, emulatorLines, readS3Lake, syncAll } from "./s3LakeFixtures.js";

let s3: S3Server;
let front: ConditionalFront;
let emu: EmulatorHandle;
let client: AuditLogClient;

beforeAll(async () => {
  [s3, emu] = await Promise.all([
    startS3Server(),
    startEmulator({ pats: { [PAT]: USER }, entries: generateEntries(300, 77), restPort: false }),
  ]);
  await s3.createBucket("cond");
  front = await startConditionalFront(s3);
  client = new AuditLogClient({ pat: PAT, userId: USER, endpoint: emu.grpcAddress, insecure: true });
}, 60_000);

afterAll(async () => {
  client?.close();
  await front?.close();
  await emu?.close();
  await s3?.stop();
});

const store = (url: string) => createS3Store(parseS3Url(url), { env: front.env, format: "json" });
const sync = (s: SyncStore) => syncAll(client, s, 100);

it("probes conditional writes: found behind the front, not in s3rver itself", async () => {
  const withThem = await openBucket(parseS3Url("s3://cond/probe"), front.env);
  const without = await openBucket(parseS3Url("s3://cond/probe"), s3.env);
  expect([withThem.conditionalWrites, without.conditionalWrites]).toEqual([true, false]);
  withThem.close();
  without.close();
  expect(await s3.listKeys("cond", "probe/")).toEqual([]);
});

it("refuses a second writer at the lock, and stops a writer whose state object changed under it", async () => {
  expect((await sync(await store("s3://cond/lake"))).inserted).toBe(300);

  const holder = await store("s3://cond/two");
  await holder.open(IDENTITY);
  const second = await (await store("s3://cond/two")).open(IDENTITY).catch((e: unknown) => e);
  await holder.close();
  expect(second).toBeInstanceOf(SyncUsageError);
  expect((second as SyncUsageError).problem).toMatch(
    /^another writer is writing to s3:\/\/cond\/two \(host /,
  );

  // A writer opens (reads the state object's ETag), then the state object is replaced behind it (as
  // a writer that took the lake over would): its next state write loses, after its upload.
  emu.append(generateEntries(40, 78), USER);
  const inner = await store("s3://cond/lake");
  let tampered = false;
  const racing: SyncStore = {
    description: inner.description,
    commitEntries: 100,
    open: (identity) => inner.open(identity),
    async commit(c) {
      // Before the first commit with entries (its files are uploaded hidden, then its state write
      // loses). Another content: an ETag is the content's MD5, the same bytes would keep it.
      if (c.entries.length > 0 && !tampered) {
        tampered = true;
        const m = JSON.parse(
          ((await s3.readObject("cond", "lake/_clarifai_sync.json")) as Buffer).toString(),
        );
        m.state.updatedAt = new Date(0).toISOString();
        await s3.writeObject("cond", "lake/_clarifai_sync.json", `${JSON.stringify(m)}\n`);
      }
      return inner.commit(c);
    },
    close: () => inner.close(),
  };
  const refusedBefore = front.refused;
  const lost = await sync(racing).catch((e: unknown) => e);
  expect(lost).toBeInstanceOf(SyncUsageError);
  expect((lost as SyncUsageError).problem).toBe(
    "another writer changed s3://cond/lake/_clarifai_sync.json since this sync read it; this sync stops (what it wrote is not listed and is deleted by the next open)",
  );
  expect(front.refused).toBeGreaterThan(refusedBefore);
  // Its upload is hidden (a reader sees the 300 entries only), and the next run deletes it and adds the 40.
  const between = await readS3Lake(s3, "cond", "lake");
  expect(between.keys.some((k) => k.endsWith(".parquet.tmp"))).toBe(true);
  expect(between.globbed).toHaveLength(300);
  expect((await sync(await store("s3://cond/lake"))).inserted).toBe(40);
  const after = await readS3Lake(s3, "cond", "lake");
  expect(compareOnce(after.listed, emulatorLines(emu, USER))).toEqual({ missing: 0, extra: 0, repeated: 0 });
  expect(compareOnce(after.globbed, emulatorLines(emu, USER))).toEqual({ missing: 0, extra: 0, repeated: 0 });
  expect(after.keys.filter((k) => k.endsWith(".tmp") || k.endsWith(".lock"))).toEqual([]);
});
