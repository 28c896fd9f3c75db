/**
 * The client's request budget against the emulator's rate limit, over real gRPC on loopback: told
 * the limit it is (almost) never throttled; not told, it learns the limit from the first throttled
 * reply and keeps under it; told a limit above the server's, it learns the lower one; two clients
 * on one PAT share the account's limit by cutting their rates (AIMD); a call waiting for its turn
 * is abortable. Counts are asserted (calls the emulator throttled, requests made), never speed.
 *
 * The emulator and the client share this process, so on a loaded machine a stalled event loop
 * delays some calls between their release and their arrival at the server's window, by more than
 * any margin the budget keeps: the bounds here are what pacing guarantees against an unpaced burst,
 * with room for such stalls. The exact targets (≤ 2% throttled when told the limit, ≥ 95% of the
 * budget used) are asserted on a simulated clock, where the delays are seeded (rateBudgetSim.test.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import type { AuditLogClientOptions } from "../../packages/client/src/client/config.js";
import { limitFromDetails, PACE, START_IN_FLIGHT } from "../../packages/client/src/client/rateBudget.js";
import { CanceledError } from "../../packages/client/src/errors.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { waitFor } from "../helpers/waitFor.js";

const PAT = "rate-test-pat";
const USER = "rate-user";
let emu: EmulatorHandle;
beforeAll(async () => {
  emu = await startEmulator({ entries: generateEntries(50, 5), pats: { [PAT]: USER }, restPort: false });
});
afterAll(async () => {
  await emu.close();
});

function client(options: AuditLogClientOptions = {}): AuditLogClient {
  return new AuditLogClient({
    pat: PAT,
    userId: USER,
    endpoint: emu.grpcAddress,
    insecure: true,
    ...options,
  });
}

/** `n` searches started at once (what an export's workers and retries look like to the budget). */
async function burst(c: AuditLogClient, n: number): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => c.searchRaw({ perPage: 2, page: 1 + (i % 5) })));
}

describe("pacing", () => {
  test("told the server's limit, calls are paced: a few throttled at most, where a burst has 60", async () => {
    emu.setRateLimit(40);
    const before = { calls: emu.calls, limited: emu.rateLimited };
    const c = client({ rateLimit: 40 });
    try {
      await burst(c, 100);
      const s = c.stats();
      const calls = emu.calls - before.calls;
      const limited = emu.rateLimited - before.limited;
      expect(s.requests).toBe(calls);
      expect(s.throttled).toBe(limited);
      expect(s.served).toBe(100);
      // Unpaced, the 100 calls would arrive within a second: 40 served, 60 throttled (and then
      // their retries). Paced, only a call that a stall held back on its way to the server's window
      // can be throttled (none on a quiet machine), and each one widens the guard's margin.
      expect(limited).toBeLessThanOrEqual(10);
      expect(s.limit).toBe(40);
      expect(s.inFlight).toBe(0);
      // Spread, not burst: 100 calls at 40/s cannot have taken less than ~2.4 s of the budget.
      expect(s.waitedMs).toBeGreaterThan(0);
    } finally {
      c.close();
    }
  });

  test("not told (a loopback endpoint), it learns the limit from the first throttled reply", async () => {
    emu.setRateLimit(5);
    const before = emu.rateLimited;
    const c = client();
    try {
      expect(c.stats().limit).toBeUndefined();
      await burst(c, 20);
      const s = c.stats();
      expect(s.limit).toBe(5);
      expect(s.learnedLimit).toBe(5);
      expect(s.rate).toBeLessThanOrEqual(PACE * 5 + 1e-9);
      expect(s.served).toBe(20);
      // The slow start holds the calls in flight to START_IN_FLIGHT until the limit is known: 5
      // served, then the calls in flight at that moment throttled (unpaced, 15 of the 20 were).
      // Their retries wait for the window to move on.
      expect(s.throttled).toBe(emu.rateLimited - before);
      expect(s.throttled).toBeGreaterThanOrEqual(1);
      expect(s.throttled).toBeLessThanOrEqual(START_IN_FLIGHT + 4);
      // Learned once, kept: the next calls are paced from the start.
      const mark = emu.rateLimited;
      await burst(c, 6);
      expect(emu.rateLimited - mark).toBeLessThanOrEqual(1);
    } finally {
      c.close();
    }
  });

  test("told a limit above the server's, it keeps under the lower one the server names", async () => {
    emu.setRateLimit(6);
    const c = client({ rateLimit: 50 });
    try {
      await burst(c, 24);
      const s = c.stats();
      expect(s.limit).toBe(6);
      expect(s.served).toBe(24);
      // Not learning, 18 of the 24 would be throttled (paced at 50/s they all go within half a
      // second): 6 served, the 7th throttled, and what was sent before its reply came back.
      expect(s.throttled).toBeLessThanOrEqual(10);
    } finally {
      c.close();
    }
  });

  test("two clients on one PAT, each told the whole limit, cut their rates (AIMD) and all calls succeed", async () => {
    emu.setRateLimit(12);
    const a = client({ rateLimit: 12 });
    const b = client({ rateLimit: 12 });
    try {
      await Promise.all([burst(a, 30), burst(b, 30)]);
      const [sa, sb] = [a.stats(), b.stats()];
      expect(sa.served + sb.served).toBe(60);
      expect(sa.decreases + sb.decreases).toBeGreaterThan(0);
      // Offered at twice the limit, without the cuts about half the calls would be throttled.
      expect((sa.throttled + sb.throttled) / (sa.requests + sb.requests)).toBeLessThan(0.3);
    } finally {
      a.close();
      b.close();
    }
  });

  test("a call waiting for its turn is aborted at once with a CanceledError", async () => {
    emu.setRateLimit(undefined);
    const c = client({ rateLimit: 0.5 });
    try {
      // A fresh budget lets two calls go in a row (one turn caught up), then spaces them 2 s apart.
      await c.search({ perPage: 1 });
      await c.search({ perPage: 1 });
      const controller = new AbortController();
      const waiting = c.search({ perPage: 1 }, { signal: controller.signal });
      await waitFor(() => c.stats().waiting === 1, { what: "the third call to wait for its turn" });
      controller.abort();
      await expect(waiting).rejects.toBeInstanceOf(CanceledError);
      expect(c.stats().requests).toBe(2);
    } finally {
      c.close();
    }
  });

  test("rateLimit false: no pacing, no learning, counting only", async () => {
    emu.setRateLimit(3);
    const c = client({ rateLimit: false, retry: false });
    try {
      const results = await Promise.allSettled(Array.from({ length: 6 }, () => c.search({ perPage: 1 })));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(3);
      const s = c.stats();
      expect([s.requests, s.served, s.throttled, s.limit]).toEqual([6, 3, 3, undefined]);
    } finally {
      c.close();
      emu.setRateLimit(undefined);
    }
  });
});

test("the limit is read from Clarifai's details text", () => {
  expect(limitFromDetails("exceeded limit of 15 requests per second")).toBe(15);
  expect(limitFromDetails("Exceeded the limit of 2.5 requests per second.")).toBe(2.5);
  expect(limitFromDetails("emulated throttling fault; retry after a backoff")).toBeUndefined();
  expect(limitFromDetails("exceeded limit of 0 requests per second")).toBeUndefined();
  expect(limitFromDetails(undefined)).toBeUndefined();
});
