/**
 * Every fault knob, observed through real calls: in-band throttling (gRPC OK, status 11005; REST
 * 429), gRPC UNAVAILABLE (REST 503), latency (seen as a missed client deadline, never by timing the
 * call), dropped connections, growth with late entries, and the call counter.
 */

import { Metadata, type ServiceError, status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "@jest/globals";
import type { MultiAuditLogEntryResponse } from "../../packages/client/generated/proto/clarifai/api/service.js";
import { StatusCode } from "../../packages/client/generated/proto/clarifai/api/status/status_code.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import type { V2Client } from "../../packages/emulator/src/v2Grpc.js";
import { waitFor } from "../helpers/waitFor.js";
import { grpcClient, grpcSearch, PAT, request, restSearch } from "./helpers.js";

let emu: EmulatorHandle;
let client: V2Client;
beforeAll(async () => {
  emu = await startEmulator({ generate: { count: 200, seed: 9 } });
  client = grpcClient(emu.grpcAddress);
});
afterEach(() => emu.resetFaults());
afterAll(async () => {
  client.close();
  await emu.close();
});

/** One call's outcome: "ok", "throttled", or the gRPC error code. */
async function outcome(): Promise<string> {
  try {
    const res = await grpcSearch(client, request({ pagination: { page: 1, perPage: 5 } }));
    if (res.status?.code === StatusCode.SUCCESS) return "ok";
    if (res.status?.code === StatusCode.CONN_THROTTLED) return "throttled";
    return `status ${res.status?.code}`;
  } catch (e) {
    return `grpc ${(e as ServiceError).code}`;
  }
}

async function outcomes(n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await outcome());
  return out;
}

describe("throttling", () => {
  test("every Nth call, counted from when the knob was set", async () => {
    await outcomes(2);
    emu.setFaults({ throttleEvery: 3 });
    expect(await outcomes(7)).toEqual(["ok", "ok", "throttled", "ok", "ok", "throttled", "ok"]);
  });
  test("a throttled reply is gRPC OK with CONN_THROTTLED, a description and a req_id", async () => {
    emu.setFaults({ throttleBurst: 1 });
    const res = await grpcSearch(client, request());
    expect(res.status?.code).toBe(StatusCode.CONN_THROTTLED);
    expect(res.status?.description).toMatch(/\S/);
    expect(res.status?.reqId).toMatch(/^[0-9a-f]{32}$/);
    expect(res.entries).toEqual([]);
  });
  test("a concurrency limit: calls arriving while N are being served are throttled", async () => {
    // The latency keeps the first calls in service while the others arrive.
    emu.setFaults({ throttleAboveInFlight: 2, latencyMs: 200 });
    const all = await Promise.all(Array.from({ length: 5 }, () => outcome()));
    expect(all.sort()).toEqual(["ok", "ok", "throttled", "throttled", "throttled"]);
    // Once they are served, calls one at a time are never throttled.
    emu.setFaults({ latencyMs: 0 });
    expect(await outcomes(3)).toEqual(["ok", "ok", "ok"]);
  });
  test("a burst of K calls, then the burst is spent", async () => {
    emu.setFaults({ throttleBurst: 3 });
    expect(await outcomes(5)).toEqual(["throttled", "throttled", "throttled", "ok", "ok"]);
  });
  test("probability p with a seed is deterministic and roughly p", async () => {
    emu.setFaults({ throttleProbability: 0.5, seed: 42 });
    const a = await outcomes(40);
    emu.setFaults({ throttleProbability: 0.5, seed: 42 });
    const b = await outcomes(40);
    expect(b).toEqual(a);
    const throttled = a.filter((o) => o === "throttled").length;
    expect(throttled).toBeGreaterThan(5);
    expect(throttled).toBeLessThan(35);
    expect(new Set(a)).toEqual(new Set(["ok", "throttled"]));
  });
  test("probability 1 throttles every call; REST gets HTTP 429 with the status", async () => {
    emu.setFaults({ throttleProbability: 1 });
    expect(await outcomes(3)).toEqual(["throttled", "throttled", "throttled"]);
    const { http, json } = await restSearch(emu.restUrl as string, {});
    expect(http).toBe(429);
    expect(json.status.code).toBe(StatusCode.CONN_THROTTLED);
  });
});

describe("UNAVAILABLE", () => {
  const U = `grpc ${status.UNAVAILABLE}`;
  test("every Nth call", async () => {
    emu.setFaults({ unavailableEvery: 2 });
    expect(await outcomes(4)).toEqual(["ok", U, "ok", U]);
  });
  test("burst, then spent; REST gets 503 with a status body", async () => {
    emu.setFaults({ unavailableBurst: 2 });
    expect(await outcomes(1)).toEqual([U]);
    const { http, json } = await restSearch(emu.restUrl as string, {});
    expect(http).toBe(503);
    expect(json.status.code).toBe(StatusCode.RPC_SERVER_UNAVAILABLE);
    expect(await outcomes(2)).toEqual(["ok", "ok"]);
  });
  test("probability with a seed", async () => {
    emu.setFaults({ unavailableProbability: 0.3, seed: 7 });
    const a = await outcomes(30);
    emu.setFaults({ unavailableProbability: 0.3, seed: 7 });
    expect(await outcomes(30)).toEqual(a);
    expect(a).toContain(U);
    expect(a).toContain("ok");
  });
  test("UNAVAILABLE wins over throttling on one call; both bursts count that call", async () => {
    emu.setFaults({ unavailableBurst: 1, throttleBurst: 2 });
    expect(await outcomes(3)).toEqual([U, "throttled", "ok"]);
  });
});

describe("latency", () => {
  test("a call slower than the client's deadline fails with DEADLINE_EXCEEDED; calls still count it", async () => {
    const before = emu.calls;
    emu.setFaults({ latencyMs: 1500, jitterMs: 10 });
    const md = new Metadata();
    md.set("authorization", `Key ${PAT}`);
    const err = await new Promise<ServiceError | null>((resolve) => {
      client.postAuditLogSearches(request(), md, { deadline: Date.now() + 100 }, (e) => resolve(e));
    });
    expect(err?.code).toBe(status.DEADLINE_EXCEEDED);
    expect(emu.calls).toBe(before + 1);
    emu.resetFaults();
    expect(await outcome()).toBe("ok");
  });
});

describe("dropped connections", () => {
  test("every Nth call loses its connection; the client sees UNAVAILABLE or INTERNAL and recovers", async () => {
    emu.setFaults({ dropConnectionEvery: 2 });
    const got = await outcomes(4);
    expect(got[0]).toBe("ok");
    expect([`grpc ${status.UNAVAILABLE}`, `grpc ${status.INTERNAL}`]).toContain(got[1]);
    expect(got[2]).toBe("ok");
    expect([`grpc ${status.UNAVAILABLE}`, `grpc ${status.INTERNAL}`]).toContain(got[3]);
  });
  test("over REST the socket is destroyed", async () => {
    emu.setFaults({ dropConnectionEvery: 1 });
    await expect(restSearch(emu.restUrl as string, {})).rejects.toThrow();
  });
});

describe("growth", () => {
  test("appends K entries every T ms, some of them late (inside the already-served span)", async () => {
    const g = await startEmulator({ entries: generateEntries(100, 3), restPort: false });
    const c = grpcClient(g.grpcAddress);
    try {
      const everything = async (): Promise<MultiAuditLogEntryResponse> =>
        grpcSearch(c, request({ sortAscending: true, pagination: { page: 1, perPage: 1000 } }));
      const first = await everything();
      const t0 = first.entries[0]?.timestamp;
      const t1 = first.entries[first.entries.length - 1]?.timestamp;
      g.setFaults({ growth: { count: 10, everyMs: 10, lateFraction: 0.5 }, seed: 4 });
      await waitFor(() => g.size() >= 160, { what: "the log to grow to 160 entries" });
      g.setFaults({ growth: undefined });
      const stopped = g.size();
      await new Promise((r) => setTimeout(r, 60));
      expect(g.size()).toBe(stopped);
      expect(stopped % 10).toBe(0);
      const after = await everything();
      expect(after.entries.length).toBe(stopped);
      // Microseconds fit a double exactly (generated timestamps have microsecond precision).
      const key = (t: typeof t0) => (t ? t.seconds * 1e6 + t.nanos / 1000 : 0);
      const old = new Set(first.entries.map((e) => JSON.stringify(e)));
      const fresh = after.entries.filter((e) => !old.has(JSON.stringify(e)));
      expect(fresh.length).toBe(stopped - 100);
      const late = fresh.filter((e) => key(e.timestamp) >= key(t0) && key(e.timestamp) <= key(t1));
      const newer = fresh.filter((e) => key(e.timestamp) > key(t1));
      expect(late.length).toBeGreaterThan(0);
      expect(newer.length).toBeGreaterThan(0);
      const keys = after.entries.map((e) => key(e.timestamp));
      expect(keys).toEqual([...keys].sort((a, b) => a - b));
    } finally {
      c.close();
      await g.close();
    }
  });
  test("append() grows a log while serving, late entries merge into order", async () => {
    const before = emu.size();
    const late = generateEntries(5, 99, { startSeconds: 1735689600 + 60 });
    emu.append(late);
    expect(emu.size()).toBe(before + 5);
    const res = await grpcSearch(
      client,
      request({ sortAscending: true, pagination: { page: 1, perPage: 1000 } }),
    );
    const keys = res.entries.map((e) => (e.timestamp?.seconds ?? 0) * 1e6 + (e.timestamp?.nanos ?? 0) / 1000);
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    for (const e of late) expect(res.entries).toContainEqual(e);
  });
});

describe("controls", () => {
  test("setFaults validates and names the bad field", () => {
    expect(() => emu.setFaults({ throttleProbability: 2 })).toThrow(/throttleProbability/);
    expect(() => emu.setFaults({ throttleEvery: -1 })).toThrow(/throttleEvery/);
    expect(() => emu.setFaults({ growth: { count: 0, everyMs: 5, lateFraction: 0 } })).toThrow(
      /growth\.count/,
    );
  });
  test("a misspelled knob or option is refused, not silently ignored", async () => {
    expect(() => emu.setFaults({ throttleEvry: 3 } as never)).toThrow(
      /unknown option 'throttleEvry'.*throttleEvery/,
    );
    expect(() => emu.setFaults({ growth: null } as never)).toThrow(/faults\.growth must be/);
    expect(() =>
      emu.setFaults({ growth: { count: 1, everyMs: 5, lateFraction: 0, late: 1 } } as never),
    ).toThrow(/faults\.growth: unknown option 'late'/);
    await expect(startEmulator({ dataFile: "x.jsonl" } as never)).rejects.toThrow(
      /unknown option 'dataFile'.*dataFiles/,
    );
    await expect(startEmulator({ faults: { latency: 5 } } as never)).rejects.toThrow(/'latency'/);
    expect(await outcomes(3)).toEqual(["ok", "ok", "ok"]);
  });
  test("calls counts gRPC and REST searches, faulted ones included", async () => {
    const before = emu.calls;
    emu.setFaults({ throttleBurst: 1 });
    await outcome();
    await restSearch(emu.restUrl as string, {});
    await grpcSearch(client, request(), "bad-pat");
    expect(emu.calls).toBe(before + 3);
  });
});
