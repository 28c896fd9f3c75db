/**
 * A destination of the real `clarifai-audit run --config` process down for a while, then back,
 * while three accounts' logs grow:
 * - PostgreSQL cut off (a TCP proxy between the collector and the server resets every connection):
 *   the lake and the alerts go on meanwhile, `clarifai_audit_destination_up{destination="db"}` says
 *   0 and `/readyz` turns 503 after `unhealthy_after`; back, the table catches up from its own
 *   cursor to exactly once, up returns to 1 and `/readyz` to 200;
 * - the alert receiver answering 503: watch's promise (docs/cli/watch.md) is that an alert whose
 *   attempts all fail is written to the dead-letter file, once, and not sent again; the others are
 *   delivered once. Entries keep flowing to the lake and the table meanwhile.
 * Each ends with SIGTERM: a drain, exit 0.
 */
import { afterAll, beforeAll, expect, test } from "@jest/globals";
import { type CuttableProxy, startCuttableProxy } from "../helpers/cuttableProxy.js";
import { waitFor } from "../helpers/waitFor.js";
import { checkLake, problems, untilExactlyOnce } from "./harness.js";
import { metric, opsAddress, readyz } from "./opsClient.js";
import {
  alertDiscrepancy,
  checkAll,
  deadLettered,
  grow,
  type RunFixture,
  setupCollector,
  useRunFixture,
} from "./runFixture.js";

let f: RunFixture;
let proxy: CuttableProxy;
useRunFixture((x) => {
  f = x;
});

beforeAll(async () => {
  proxy = await startCuttableProxy(f.server.host, f.server.port);
});

afterAll(async () => {
  await proxy?.close();
});

/** `db`'s up gauge of every account equals `value`. */
async function dbUpIs(base: string, value: number): Promise<boolean> {
  const ups = await metric(base, "clarifai_audit_destination_up", { destination: "db" });
  return ups.length === f.accounts.accounts.length && ups.every((v) => v === value);
}

/**
 * Entries the lake holds per account, read while the collector writes it: a read that meets a file
 * renamed under it is read again.
 */
async function lakeHeld(lake: string): Promise<number[]> {
  for (let tries = 0; ; tries++) {
    try {
      return (await checkLake(lake, f.accounts.expected())).map((d) => d.held);
    } catch (error) {
      if (tries >= 20) throw error;
    }
  }
}

test("PostgreSQL cut off for a while: the lake and alerts go on, db is down and /readyz 503; back, it catches up to exactly once, up and ready again", async () => {
  grow(f);
  const s = await setupCollector(f, "pgdown", {
    pgUrl: (url) => url.replace(`:${f.server.port}/`, `:${proxy.port}/`),
    settings: { unhealthy_after: "300ms" },
  });
  expect(s.pgUrl).toContain(`:${proxy.port}/`);
  const p = s.start();
  const base = await opsAddress(p);
  await waitFor(() => dbUpIs(base, 1), { what: "db up", intervalMs: 50 });
  await p.waitForLine(/: stored .*db \+\d+/);
  expect(await readyz(base)).toEqual({ status: 200, body: "ok" });

  proxy.cutOff();
  await waitFor(() => dbUpIs(base, 0), { what: "db down", intervalMs: 50 });
  const downAt = await lakeHeld(s.lake);
  const alertsAt = f.receiver.deliveries(s.alertsId).length;
  await waitFor(async () => (await readyz(base)).status === 503, { what: "/readyz 503", intervalMs: 50 });
  const notReady = await readyz(base);
  expect(notReady.body).toMatch(/db/);
  // The others do not wait: every account's lake grows while the database is unreachable.
  await waitFor(async () => (await lakeHeld(s.lake)).every((n, i) => n > (downAt[i] as number)), {
    what: "the lake growing without the database",
    intervalMs: 100,
  });
  await waitFor(() => f.receiver.deliveries(s.alertsId).length > alertsAt, {
    what: "alerts delivered without the database",
    intervalMs: 50,
  });
  expect(proxy.cut).toBe(true);
  expect(await dbUpIs(base, 0)).toBe(true);
  expect(
    (await metric(base, "clarifai_audit_delivery_failures_total", { destination: "db" })).some((v) => v > 0),
  ).toBe(true);

  proxy.restore();
  await waitFor(() => dbUpIs(base, 1), { what: "db up again", intervalMs: 50 });
  await waitFor(async () => (await readyz(base)).status === 200, { what: "/readyz 200", intervalMs: 50 });
  f.accounts.stopGrowth();
  await untilExactlyOnce(() => checkAll(f, s));
  p.signal("SIGTERM");
  const r = await p.exit;
  expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
  // No password of the database's URL in anything the collector said.
  expect(r.stderr).not.toContain(f.server.password);
}, 60_000);

test("the alert receiver answering 503 for a while: those alerts are dead-lettered once, the rest delivered once, entries flow on; exactly once after", async () => {
  grow(f);
  const s = await setupCollector(f, "hookdown", { alerts: { attempts: 2, backoff: "20ms" } });
  let failing = false;
  f.receiver.receiver.behave = () => (failing ? 503 : 200);
  try {
    const p = s.start();
    const base = await opsAddress(p);
    await waitFor(() => f.receiver.deliveries(s.alertsId).length > 0, {
      what: "a first alert",
      intervalMs: 50,
    });
    failing = true;
    const delivered = f.receiver.deliveries(s.alertsId).length;
    const lakeAt = await lakeHeld(s.lake);
    await waitFor(() => deadLettered(s).length >= 3, { what: "alerts dead-lettered", intervalMs: 50 });
    await waitFor(async () => (await lakeHeld(s.lake)).every((n, i) => n > (lakeAt[i] as number)), {
      what: "the lake growing while the receiver fails",
      intervalMs: 100,
    });
    // Nothing reached the receiver while it failed (a 503 is not a delivery).
    expect(f.receiver.deliveries(s.alertsId).length).toBe(delivered);
    const dead = await metric(base, "clarifai_audit_alerts_total", { outcome: "dead_lettered" });
    const deadTotal = dead.reduce((a, b) => a + b, 0);
    expect(deadTotal).toBeGreaterThanOrEqual(3);
    // Each failed attempt is a delivery failure (docs/collector.md: "each retry counts"): two per
    // dead-lettered alert at least (alert_attempts: 2), read after the dead-lettered count.
    const failures = await metric(base, "clarifai_audit_delivery_failures_total", {
      destination: s.alertsId,
    });
    expect(failures.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2 * deadTotal);
    // Dead-lettering is the store's outcome, not a failing destination: ready stays 200.
    expect((await readyz(base)).status).toBe(200);

    failing = false;
    const deadAtEnd = deadLettered(s).length;
    await waitFor(() => f.receiver.deliveries(s.alertsId).length > delivered, {
      what: "alerts delivered again",
      intervalMs: 50,
    });
    f.accounts.stopGrowth();
    // Each expected alert once: delivered, or dead-lettered while the receiver failed; none twice.
    await untilExactlyOnce(() => checkAll(f, s, 0));
    p.signal("SIGTERM");
    const r = await p.exit;
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
    const alerts = alertDiscrepancy(f, s, 0);
    expect(problems([alerts])).toEqual([]);
    expect(alerts.deadLettered).toBeGreaterThanOrEqual(deadAtEnd);
    // A dead-lettered alert is not sent again once the receiver is back.
    const again = f.receiver.deliveries(s.alertsId).filter((k) => deadLettered(s).includes(k));
    expect(again).toEqual([]);
  } finally {
    f.receiver.receiver.behave = () => 200;
  }
}, 60_000);
