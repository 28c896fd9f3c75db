/**
 * The alert store when its account stops (SIGTERM's drain, a lease lost or given up to another
 * instance, a reload: the account runner's signal) while a delivery is in flight: the pair is not
 * dead-lettered but stays in the outbox, and the next open of the checkpoint — by another store, as
 * the account's next owner would — delivers it. Every alert exactly once; none written off.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { createAlertStore } from "../../packages/cli/src/collector/alertStore.js";
import { runSync } from "../../packages/cli/src/sync/sync.js";
import { Evaluator } from "../../packages/cli/src/watch/evaluator.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { tempDir } from "../cli/helpers.js";
import { startReceiver } from "../cli/watchHelpers.js";
import { waitFor } from "../helpers/waitFor.js";
import { linesOf } from "../sync/syncHelpers.js";
import { alertsPlan } from "./alertFixtures.js";

const PAT = "alerts-stop-pat-0123456789abcdef";
let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;

beforeAll(async () => {
  tmp = tempDir();
  emu = await startEmulator({ pats: { [PAT]: "stop" }, entries: [], restPort: false });
});

afterAll(async () => {
  await emu?.close();
  tmp?.cleanup();
});

test("a delivery in flight when the account stops stays in the outbox (no dead letter); the next owner's open delivers it; each alert once", async () => {
  const now = Date.now();
  const entries = generateEntries(6, 77).map((e, i) => {
    const us = (now - 60_000 + i * 1000) * 1000;
    return { ...e, timestamp: { seconds: Math.floor(us / 1e6), nanos: (us % 1e6) * 1000 } };
  });
  emu.append(entries, "stop");
  const plan = alertsPlan({ webhooks: [], stateDir: tmp.dir });
  const evaluator = new Evaluator(plan.rules);
  const expected = linesOf(entries).flatMap((line) =>
    evaluator.evaluate({ json: JSON.parse(line), line }).map((a) => a.key),
  );
  expect(expected.length).toBeGreaterThan(3);

  const receiver = await startReceiver();
  let arrived = 0;
  // The first request is never answered: the account stops while it waits.
  receiver.behave = (n) => {
    arrived++;
    return n === 0 ? "hang" : 200;
  };
  const path = join(tmp.dir, "prod.json");
  const destination = alertsPlan({ webhooks: [receiver.url], stateDir: tmp.dir, attempts: 2 });
  const client = new AuditLogClient({ pat: PAT, userId: "stop", endpoint: emu.grpcAddress, insecure: true });
  const warnings: string[] = [];
  const sync = (signal?: AbortSignal) =>
    runSync({
      client,
      store: createAlertStore({
        path,
        account: "prod",
        destination,
        env: {},
        ...(signal !== undefined ? { signal } : {}),
        warn: (line) => warnings.push(line),
      }),
      settleMs: 0,
      reconcileMs: 60_000,
      perPage: 100,
      commitIntervalMs: 0,
      ...(signal !== undefined ? { signal } : {}),
    });
  try {
    const stop = new AbortController();
    const first = sync(stop.signal);
    await waitFor(() => arrived > 0, { what: "the first delivery in flight" });
    stop.abort();
    await expect(first).rejects.toThrow();
    // Nothing written off, nothing said to be undeliverable.
    expect(existsSync(`${path}.dead-letter.jsonl`)).toBe(false);
    expect(warnings.filter((w) => /not delivered/.test(w))).toEqual([]);

    // The account's next owner (a new store on the same checkpoint) delivers the outbox.
    await sync();
    const delivered = receiver.received.map((r) => (JSON.parse(r.body) as { key: string }).key);
    expect([...delivered].sort()).toEqual([...expected].sort());
  } finally {
    client.close();
    await receiver.close();
  }
});
