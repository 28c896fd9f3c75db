/**
 * A signed file sink with a time-stamping authority (the library's `sign.stamp`; the RFC 3161 client
 * is the tsa slice's): every digest carries the stamp of its own hash, and a stamp that fails fails
 * its commit: nothing of it is committed (no digest, no manifest step), never an unstamped digest;
 * the export resumes from the last commit and its chain checks out.
 */
import { mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import type { Stamper } from "../../packages/client/src/digest/chain.js";
import { digestHash } from "../../packages/client/src/digest/document.js";
import { readSigningKey } from "../../packages/client/src/digest/keys.js";
import { exportToSink } from "../../packages/client/src/export/engine.js";
import { FileSink } from "../../packages/client/src/export/sinks/fileSink.js";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import { PAT, tempDir, USER } from "../cli/helpers.js";
import { checkExportDigests, exportBytes, manifestOf, verified, writeKey } from "./exportDigests.js";

const TOTAL = 1_500;
let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let client: AuditLogClient;

beforeAll(async () => {
  tmp = tempDir();
  emu = await startEmulator({ pats: { [PAT]: USER }, generate: { count: TOTAL, seed: 8 }, restPort: false });
  client = new AuditLogClient({ pat: PAT, userId: USER, endpoint: emu.grpcAddress, insecure: true });
});
afterAll(async () => {
  client.close();
  await emu.close();
  tmp.cleanup();
});

/** A stamper whose token is the hash it was asked for (hex in base64), failing from call `failAt` on. */
function stamper(failAt = Number.POSITIVE_INFINITY): Stamper & { calls: number } {
  const f = Object.assign(
    async (hash: Buffer) => {
      f.calls++;
      if (f.calls >= failAt) throw new Error("the time-stamping authority did not answer");
      return { tsa: "http://tsa.test/", token: Buffer.from(hash.toString("hex")).toString("base64") };
    },
    { calls: 0 },
  );
  return f;
}

it("every digest carries its hash's stamp; a failed stamp commits nothing, and the export resumes", async () => {
  const dir = join(tmp.dir, "stamp");
  mkdirSync(dir);
  const out = join(dir, "s.jsonl");
  const key = writeKey(join(dir, "a.key"));
  const keys = [await readSigningKey(key.path)];
  const run = (stamp: Stamper, resume: boolean) =>
    exportToSink({
      client,
      sink: new FileSink({ out, format: "jsonl", resume, sign: { keys, stamp } }),
      perPage: 200,
      concurrency: 1,
      commitIntervalMs: 0,
      settleMs: 0,
    });
  await expect(run(stamper(4), false)).rejects.toThrow(/did not answer/);
  // Three commits were stamped and committed; the fourth failed before its digest was written.
  expect(manifestOf(out)?.digest?.seq).toBe(3);
  expect(readdirSync(`${out}.digests`).sort()).toEqual([
    "000000000001.json",
    "000000000002.json",
    "000000000003.json",
  ]);

  const summary = await run(stamper(), true);
  expect(summary.entries).toBe(TOTAL);
  const checked = await checkExportDigests(out, "jsonl", exportBytes(out), [key.verifying]);
  expect(checked.entries).toBe(TOTAL);
  // Without a TSA certificate, verify checks the chain and leaves the tokens unchecked.
  expect((await verified(out, [key.verifying])).entries).toBe(TOTAL);
  for (const d of checked.digests)
    expect(d.timestamp).toEqual({
      tsa: "http://tsa.test/",
      token: Buffer.from(digestHash(d.digest)).toString("base64"),
    });
});
