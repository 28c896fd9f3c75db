/**
 * The emulator's per-account rate limit, over real gRPC and REST on loopback: Clarifai's exact
 * throttling status, HTTP 429 over REST, a sliding one-second window in which throttled calls do
 * not count, per-account windows, the clarifai profile, and option validation.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { StatusCode } from "../../packages/client/generated/proto/clarifai/api/status/status_code.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { RATE_WINDOW_MS, RateLimiter } from "../../packages/emulator/src/rateLimit.js";
import type { V2Client } from "../../packages/emulator/src/v2Grpc.js";
import { grpcClient, grpcSearch, PAT, request, restSearch, USER } from "./helpers.js";

const OTHER_PAT = "other-pat";
const OTHER_USER = "other-user";

let emu: EmulatorHandle;
let client: V2Client;
beforeAll(async () => {
  emu = await startEmulator({
    entries: generateEntries(20, 3),
    pats: { [PAT]: USER, [OTHER_PAT]: OTHER_USER },
    rateLimit: 3,
  });
  client = grpcClient(emu.grpcAddress);
});
afterAll(async () => {
  client.close();
  await emu.close();
});

const page = () => request({ pagination: { page: 1, perPage: 2 } });

describe("rate limit over gRPC and REST", () => {
  test("calls over N in a second get CONN_THROTTLED with Clarifai's description and details, in-band", async () => {
    emu.setRateLimit(3);
    const before = emu.rateLimited;
    const replies = await Promise.all(Array.from({ length: 5 }, () => grpcSearch(client, page())));
    const codes = replies.map((r) => r.status?.code);
    expect(codes.filter((c) => c === StatusCode.SUCCESS)).toHaveLength(3);
    const throttled = replies.filter((r) => r.status?.code === StatusCode.CONN_THROTTLED);
    expect(throttled).toHaveLength(2);
    for (const r of throttled) {
      expect(r.status?.description).toBe("Making too many requests");
      expect(r.status?.details).toBe("exceeded limit of 3 requests per second");
      expect(r.status?.reqId).toMatch(/^[0-9a-f]{32}$/);
      expect(r.entries).toHaveLength(0);
    }
    expect(emu.rateLimited - before).toBe(2);
  });

  test("REST answers HTTP 429 with the same status as its body", async () => {
    emu.setRateLimit(2);
    const replies = await Promise.all(
      Array.from({ length: 3 }, () => restSearch(emu.restUrl as string, { pagination: { per_page: 2 } })),
    );
    const limited = replies.filter((r) => r.http === 429);
    expect(limited).toHaveLength(1);
    expect(replies.filter((r) => r.http === 200)).toHaveLength(2);
    const status = limited[0]?.json.status as Record<string, unknown>;
    expect(status.code).toBe(StatusCode.CONN_THROTTLED);
    expect(status.description).toBe("Making too many requests");
    expect(status.details).toBe("exceeded limit of 2 requests per second");
  });

  test("each account has its own window; gRPC and REST share it", async () => {
    emu.setRateLimit(2);
    const ours = await Promise.all([grpcSearch(client, page()), restSearch(emu.restUrl as string, {})]);
    expect(ours.map((r) => ("http" in r ? r.http : r.status?.code))).toEqual([StatusCode.SUCCESS, 200]);
    expect((await grpcSearch(client, page())).status?.code).toBe(StatusCode.CONN_THROTTLED);
    const other = await grpcSearch(
      client,
      request({ userAppId: { userId: OTHER_USER, appId: "" } }),
      OTHER_PAT,
    );
    expect(other.status?.code).toBe(StatusCode.SUCCESS);
  });

  test("unknown PATs are refused as before, not counted", async () => {
    emu.setRateLimit(1);
    const before = emu.rateLimited;
    for (let i = 0; i < 3; i++) {
      expect((await grpcSearch(client, page(), "nobody")).status?.code).toBe(StatusCode.CONN_KEY_INVALID);
    }
    expect(emu.rateLimited).toBe(before);
    expect((await grpcSearch(client, page())).status?.code).toBe(StatusCode.SUCCESS);
  });

  test("removing the limit serves everything", async () => {
    emu.setRateLimit(undefined);
    expect(emu.rateLimit).toBeUndefined();
    const replies = await Promise.all(Array.from({ length: 20 }, () => grpcSearch(client, page())));
    expect(replies.every((r) => r.status?.code === StatusCode.SUCCESS)).toBe(true);
  });
});

describe("the sliding window (clock injected)", () => {
  test("admits N per (t − 1 s, t]; throttled calls do not count", () => {
    let now = 0;
    const limiter = new RateLimiter(2, () => now);
    expect([limiter.admit("a"), limiter.admit("a"), limiter.admit("a")]).toEqual([true, true, false]);
    now = 500;
    expect(limiter.admit("a")).toBe(false);
    // Exactly one window after the first two: they have left, the refused ones never counted.
    now = RATE_WINDOW_MS;
    expect([limiter.admit("a"), limiter.admit("a"), limiter.admit("a")]).toEqual([true, true, false]);
    now = RATE_WINDOW_MS + 999;
    expect(limiter.admit("a")).toBe(false);
    expect(limiter.admit("b")).toBe(true);
    expect([limiter.admitted, limiter.throttled]).toEqual([5, 4]);
  });
  test("spaced calls at exactly N per second are all admitted", () => {
    let now = 0;
    const limiter = new RateLimiter(8, () => now);
    for (let i = 0; i < 300; i++) {
      now = i * 125;
      expect(limiter.admit("a")).toBe(true);
    }
  });
});

describe("options", () => {
  test("the clarifai profile sets 15/s and a latency; explicit options win", async () => {
    const p = await startEmulator({ profile: "clarifai", restPort: false });
    const q = await startEmulator({ profile: "clarifai", rateLimit: 4, restPort: false });
    try {
      expect(p.rateLimit).toBe(15);
      expect(q.rateLimit).toBe(4);
    } finally {
      await Promise.all([p.close(), q.close()]);
    }
  });
  test.each([0, -1, 1.5, 10_001, Number.NaN, "5"])("rateLimit %p is refused, naming the range", async (v) => {
    await expect(startEmulator({ rateLimit: v as number, restPort: false })).rejects.toThrow(
      /rateLimit must be an integer number of requests per second from 1 to 10000/,
    );
  });
  test("an unknown profile is refused, naming the known ones", async () => {
    await expect(startEmulator({ profile: "aws" as never, restPort: false })).rejects.toThrow(
      /profile must be one of clarifai, got aws/,
    );
    expect(() => emu.setRateLimit(0)).toThrow(RangeError);
  });
});
