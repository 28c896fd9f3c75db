/**
 * Error families, retries, deadlines and cancellation over real gRPC against the emulator, and the
 * PAT's absence from everything a caller could print.
 */
import { inspect } from "node:util";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { MAX_TIMEOUT_MS } from "../../packages/client/src/client/config.js";
import { buildSearchRequest } from "../../packages/client/src/client/query.js";
import { GrpcStatus } from "../../packages/client/src/domain/grpcStatus.js";
import {
  AuthenticationError,
  CanceledError,
  ClarifaiError,
  InvalidRequestError,
  PermissionError,
  RateLimitError,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from "../../packages/client/src/errors.js";
import { waitFor } from "../helpers/waitFor.js";
import { failure as failAndKeep, type Harness, harness, PAT } from "./fixtures.js";

const WRONG_PAT = "pat-WRONGKEY-77aa88bb99cc00dd";

let h: Harness;
const seen: unknown[] = [];

beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.close();
});
afterEach(() => h.emu.resetFaults());

const failure = (p: Promise<unknown>) => failAndKeep(p, seen);

describe("error families", () => {
  it("unknown PAT → AuthenticationError with Clarifai's fields", async () => {
    const client = h.client({ pat: WRONG_PAT });
    const e = await failure(client.search());
    expect(e).toBeInstanceOf(AuthenticationError);
    expect(e).toBeInstanceOf(ClarifaiError);
    expect(e.codeName).toMatch(/^CONN_KEY_/);
    expect(e.code).toBeGreaterThanOrEqual(11008);
    expect(e.retryable).toBe(false);
    expect(e.attempts).toBe(1);
    expect(e.reqId).not.toBe("");
    expect(e.grpcCode).toBeUndefined();
    for (const text of [e.message, String(e), JSON.stringify(e), inspect(e), e.stack ?? ""]) {
      expect(text).not.toContain(WRONG_PAT);
    }
    seen.push(client);
  });

  it("another user's log → PermissionError (CONN_INSUFFICIENT_SCOPES)", async () => {
    const e = await failure(h.client({ userId: "bob" }).search());
    expect(e).toBeInstanceOf(PermissionError);
    expect(e.code).toBe(11007);
    expect(e.codeName).toBe("CONN_INSUFFICIENT_SCOPES");
  });

  it("a request the server refuses → InvalidRequestError", async () => {
    const client = h.client();
    const request = buildSearchRequest({}, "alfrick");
    request.pagination = { page: 1, perPage: 5000 };
    const e = await failure(client.searchRequest(request));
    expect(e).toBeInstanceOf(InvalidRequestError);
    expect(e.code).toBe(11102);
    expect(e.description + e.details).toContain("per_page");
  });

  it("bad input is refused before any network call", async () => {
    const client = h.client();
    const before = h.emu.calls;
    for (const q of [{ perPage: 0 }, { from: "2025-02-30T00:00:00Z" }, { operations: ["MODEL_CRATE"] }]) {
      const e = await failure(client.search(q));
      expect(e).toBeInstanceOf(ValidationError);
    }
    expect(() => client.entries({ targets: [{ dataset: "x" } as never] })).toThrow(ValidationError);
    // Bad call options too (a non-AbortSignal signal used to fail only after the request was sent).
    for (const options of [{ signal: {} }, { metadata: "x" }, { timeoutMs: 0 }]) {
      expect(await failure(client.search({}, options as never))).toBeInstanceOf(ValidationError);
    }
    expect(h.emu.calls).toBe(before);
  });

  it("refuses plaintext to a remote host before any connection", () => {
    const before = h.emu.calls;
    let error: unknown;
    try {
      new AuditLogClient({ pat: PAT, userId: "alfrick", endpoint: "audit.example.com:443", insecure: true });
    } catch (e) {
      error = e;
    }
    seen.push(error);
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as ValidationError).field).toBe("insecure");
    expect(h.emu.calls).toBe(before);
  });
});

describe("retries", () => {
  it("throttling (status 11005 in a gRPC-OK reply), then success: attempts counted", async () => {
    h.emu.setFaults({ throttleBurst: 2 });
    const before = h.emu.calls;
    const page = await h.client().search({ perPage: 2 });
    expect(page.attempts).toBe(3);
    expect(page.entries).toHaveLength(2);
    expect(h.emu.calls - before).toBe(3);
  });

  it("gRPC UNAVAILABLE, then success", async () => {
    h.emu.setFaults({ unavailableBurst: 1 });
    const page = await h.client().search({ perPage: 1 });
    expect(page.attempts).toBe(2);
  });

  it("retries exhausted: the last error, with its attempts", async () => {
    h.emu.setFaults({ throttleBurst: 10 });
    const before = h.emu.calls;
    const e = await failure(
      h.client({ retry: { maxAttempts: 3, initialDelayMs: 1, maxDelayMs: 5 } }).search(),
    );
    expect(e).toBeInstanceOf(RateLimitError);
    expect(e.codeName).toBe("CONN_THROTTLED");
    expect(e.retryable).toBe(true);
    expect(e.attempts).toBe(3);
    expect(h.emu.calls - before).toBe(3);

    h.emu.setFaults({ throttleBurst: 0, unavailableBurst: 10 });
    const u = await failure(
      h.client({ retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 5 } }).search(),
    );
    expect(u).toBeInstanceOf(UnavailableError);
    expect(u.grpcCode).toBe(GrpcStatus.UNAVAILABLE);
    expect(u.attempts).toBe(2);
  });

  it("retry: false makes one attempt", async () => {
    h.emu.setFaults({ throttleBurst: 1 });
    const e = await failure(h.client({ retry: false }).search());
    expect(e).toBeInstanceOf(RateLimitError);
    expect(e.attempts).toBe(1);
  });

  it("a dropped connection is retried on a new one", async () => {
    h.emu.setFaults({ dropConnectionEvery: 1 });
    const e = await failure(h.client({ retry: false }).search());
    expect(e).toBeInstanceOf(UnavailableError);
    h.emu.setFaults({ dropConnectionEvery: 2 });
    const client = h.client();
    // Calls 1, 3, 5… succeed and 2, 4… drop: every search succeeds, some after a retry.
    const attempts: number[] = [];
    for (let i = 0; i < 4; i++) attempts.push((await client.search({ perPage: 1 })).attempts);
    expect(attempts.some((a) => a === 2)).toBe(true);
  });

  // The other calls on a dropped connection end with RST_STREAM (grpc-js: INTERNAL), not UNAVAILABLE.
  it("calls in flight on a dropped connection are retried too", async () => {
    h.emu.setFaults({ dropConnectionEvery: 6 });
    const client = h.client({ retry: { maxAttempts: 8, initialDelayMs: 1, maxDelayMs: 20 } });
    const attempts: number[] = [];
    for (let round = 0; round < 3; round++) {
      const pages = await Promise.all(Array.from({ length: 4 }, () => client.search({ perPage: 1 })));
      expect(pages.map((p) => p.entries.length)).toEqual([1, 1, 1, 1]);
      attempts.push(...pages.map((p) => p.attempts));
    }
    expect(attempts.some((a) => a > 1)).toBe(true);
  });
});

describe("deadlines and cancellation", () => {
  it("deadline hit: TimeoutError (DEADLINE_EXCEEDED)", async () => {
    h.emu.setFaults({ latencyMs: 800 });
    const e = await failure(h.client({ timeoutMs: 100 }).search());
    expect(e).toBeInstanceOf(TimeoutError);
    expect(e.grpcCode).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    const perCall = await failure(h.client().search({}, { timeoutMs: 100 }));
    expect(perCall).toBeInstanceOf(TimeoutError);
  });

  it("the longest accepted deadline works end to end (grpc-js can encode it)", async () => {
    const page = await h.client({ timeoutMs: MAX_TIMEOUT_MS }).search({ perPage: 1 });
    expect(page.entries).toHaveLength(1);
    const perCall = await h.client().search({ perPage: 1 }, { timeoutMs: MAX_TIMEOUT_MS });
    expect(perCall.entries).toHaveLength(1);
  });

  it("no retry is started when its backoff would outlive the deadline", async () => {
    h.emu.setFaults({ throttleBurst: 10 });
    const before = h.emu.calls;
    const e = await failure(
      h.client({ timeoutMs: 10_000, retry: { initialDelayMs: 1e9, maxDelayMs: 1e9 } }).search(),
    );
    // A full-jitter backoff of up to 1e9 ms fits in the 10 s deadline only if it draws below 1e-5.
    expect(e).toBeInstanceOf(RateLimitError);
    expect(h.emu.calls - before).toBeLessThanOrEqual(2);
  });

  it("an abort during a backoff ends the wait at once", async () => {
    h.emu.setFaults({ throttleBurst: 100 });
    const ac = new AbortController();
    const client = h.client({
      retry: { initialDelayMs: 600_000, maxDelayMs: 600_000 },
      timeoutMs: 3_600_000,
    });
    const before = h.emu.calls;
    const call = failure(client.search({}, { signal: ac.signal }));
    // A throttled reply counted by the budget: the client's next step is the backoff (or a wait
    // for its turn), and a poll of this condition runs only once those microtasks have run.
    await waitFor(() => client.stats().throttled >= 1, { what: "the first throttled reply" });
    expect(h.emu.calls).toBeGreaterThan(before);
    ac.abort();
    let timer: NodeJS.Timeout | undefined;
    const settled = await Promise.race([
      call,
      new Promise((r) => {
        timer = setTimeout(() => r("still waiting"), 10_000);
      }),
    ]);
    clearTimeout(timer);
    expect(settled).toBeInstanceOf(CanceledError);
    expect((settled as CanceledError).codeName).toBe("REQUEST_CANCELED_BY_USER");
    expect((settled as CanceledError).attempts).toBeGreaterThanOrEqual(1);
  });

  it("an abort cancels a call in flight; an aborted signal sends nothing", async () => {
    h.emu.setFaults({ latencyMs: 800 });
    const ac = new AbortController();
    const sent = h.emu.calls;
    const call = failure(h.client().search({}, { signal: ac.signal }));
    // Aborted once the emulator holds the call (for 800 ms): in flight, not before it was sent.
    await waitFor(() => h.emu.calls > sent, { what: "the call to reach the emulator" });
    ac.abort();
    const e = await call;
    expect(e).toBeInstanceOf(CanceledError);
    expect(e.grpcCode).toBe(GrpcStatus.CANCELLED);
    const before = h.emu.calls;
    const pre = await failure(h.client().search({}, { signal: AbortSignal.abort() }));
    expect(pre).toBeInstanceOf(CanceledError);
    expect(h.emu.calls).toBe(before);
  });

  it("an abort stops entries() iteration", async () => {
    const ac = new AbortController();
    const seenKeys: string[] = [];
    const run = (async () => {
      for await (const entry of h.client().entries({ perPage: 2 }, { signal: ac.signal })) {
        seenKeys.push(entry.timestampIso);
        if (seenKeys.length === 3) ac.abort();
      }
    })();
    const e = await failure(run);
    expect(e).toBeInstanceOf(CanceledError);
    expect(seenKeys).toHaveLength(4); // the page in hand is finished; the next request is not sent
  });
});

describe("the PAT never shows", () => {
  it("in any error or client text", () => {
    seen.push(h.client());
    expect(seen.length).toBeGreaterThan(10);
    for (const item of seen) {
      const texts = [
        String(item),
        JSON.stringify(item) ?? "",
        inspect(item, { depth: 10, showHidden: true }),
      ];
      if (item instanceof Error) texts.push(item.message, item.stack ?? "");
      for (const text of texts) expect(text).not.toContain(PAT);
    }
  });
});
