/**
 * A signed lake with a time-stamping authority (the library's `sign.stamp`, a stand-in for
 * createTsaStamper, which the tsa slice tests against `openssl ts`): every digest carries the
 * token over its own hash; a stamp that fails fails its commit (nothing of it committed, no
 * unstamped digest, the run rejects), and the next run continues the chain, whole.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLakeStore } from "../../packages/cli/src/sync/lake/store.js";
import { runSync } from "../../packages/cli/src/sync/sync.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import type { Stamper } from "../../packages/client/src/digest/chain.js";
import { digestHash } from "../../packages/client/src/digest/document.js";
import { readSigningKey } from "../../packages/client/src/digest/keys.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { PAT, tempDir, USER } from "../cli/helpers.js";
import { linesOf } from "../sync/syncHelpers.js";
import { checkLakeChain, makeKey } from "./lakeChain.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let client: AuditLogClient;
const ENTRIES = generateEntries(400, 91);

beforeAll(async () => {
  tmp = tempDir();
  emu = await startEmulator({ pats: { [PAT]: USER }, entries: ENTRIES, restPort: false });
  client = new AuditLogClient({ pat: PAT, userId: USER, endpoint: emu.grpcAddress, insecure: true });
});
afterAll(async () => {
  client?.close();
  await emu?.close();
  tmp?.cleanup();
});

/** A stamper whose token is the hash it was asked for; the `failAt`-th call fails. */
function stamper(failAt?: number): { stamp: Stamper; calls: () => number } {
  let calls = 0;
  return {
    stamp: async (hash) => {
      calls++;
      if (calls === failAt) throw new Error("the time-stamping authority answered 503");
      return { tsa: "http://tsa.test/tsr", token: hash.toString("base64") };
    },
    calls: () => calls,
  };
}

async function sync(dir: string, keyPath: string, stamp: Stamper) {
  const store = createLakeStore({ dir, sign: { keys: [await readSigningKey(keyPath)], stamp } });
  return runSync({
    client,
    store,
    settleMs: 0,
    reconcileMs: 3_650 * 86_400_000,
    perPage: 50,
    commitEntries: 100,
    commitIntervalMs: 0,
  });
}

test("every digest stamped over its hash; a failed stamp fails its commit, and the next run continues the chain whole", async () => {
  const key = makeKey(join(tmp.dir, "keys"), "stamp.key");
  const dir = join(tmp.dir, "stamped");
  const failing = stamper(3);
  await expect(sync(dir, key.path, failing.stamp)).rejects.toThrow(
    "the time-stamping authority answered 503",
  );
  // Two commits stamped and committed; the third not committed at all.
  const state = JSON.parse(readFileSync(join(dir, "_clarifai_sync.json"), "utf8")) as {
    digest: { seq: number };
    state: { totals: { entries: number } };
  };
  expect(state.digest.seq).toBe(2);
  const partial = await checkLakeChain(dir, [key.pub]);
  expect(partial.entries.length).toBe(state.state.totals.entries);

  const good = stamper();
  await sync(dir, key.path, good.stamp);
  const chain = await checkLakeChain(dir, [key.pub]);
  expect(new Set(chain.entries)).toEqual(new Set(linesOf(ENTRIES)));
  expect(chain.entries.length).toBe(ENTRIES.length);
  for (const d of chain.digests)
    expect(d.timestamp).toEqual({
      tsa: "http://tsa.test/tsr",
      token: Buffer.from(digestHash(d.digest), "hex").toString("base64"),
    });
  expect(good.calls()).toBe(chain.head.seq - 2);
}, 60_000);
