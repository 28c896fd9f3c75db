import { inspect } from "node:util";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import {
  isLoopbackHost,
  MAX_TIMEOUT_MS,
  parseEndpoint,
  resolveConfig,
} from "../../packages/client/src/client/config.js";
import { backoffDelay, DEFAULT_RETRY, sleep, withRetry } from "../../packages/client/src/client/retry.js";
import { redact } from "../../packages/client/src/domain/redact.js";
import {
  AuthenticationError,
  CanceledError,
  ClarifaiError,
  errorFromGrpc,
  errorFromStatus,
  InvalidRequestError,
  PermissionError,
  RateLimitError,
  ServerError,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from "../../packages/client/src/errors.js";

const PAT = "pat-SECRET-7f3a9c1e5b2d4f60";

describe("resolveConfig", () => {
  it("explicit option > environment > default", () => {
    const env = {
      CLARIFAI_PAT: "env-pat-value",
      CLARIFAI_USER_ID: "env-user",
      CLARIFAI_GRPC_BASE: "grpc.example.com",
    };
    const fromEnv = resolveConfig({}, env);
    expect([fromEnv.pat, fromEnv.userId, fromEnv.address, fromEnv.insecure]).toEqual([
      "env-pat-value",
      "env-user",
      "grpc.example.com:443",
      false,
    ]);
    const explicit = resolveConfig(
      { pat: PAT, userId: "u", endpoint: "127.0.0.1:5000", insecure: true },
      env,
    );
    expect([explicit.pat, explicit.userId, explicit.address]).toEqual([PAT, "u", "127.0.0.1:5000"]);
    const defaults = resolveConfig({ pat: PAT, userId: "u" }, {});
    expect(defaults.address).toBe("api.clarifai.com:443");
    expect(defaults.retry).toEqual(DEFAULT_RETRY);
    expect(defaults.channelOptions["grpc.max_receive_message_length"]).toBe(64 * 1024 * 1024);
    expect(resolveConfig({ pat: PAT, userId: "u", retry: false }, {}).retry.maxAttempts).toBe(1);
    expect(resolveConfig({ pat: PAT, userId: "u", retry: { maxAttempts: 2 } }, {}).retry.initialDelayMs).toBe(
      200,
    );
  });
  it("refuses a PAT that is not one printable ASCII word, without echoing it", () => {
    for (const bad of ["abc def", "abc\tdef", "tökén", "abc\n", "abc\u0000"]) {
      let message = "";
      try {
        resolveConfig({ pat: bad, userId: "u" }, {});
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toMatch(/^pat: malformed PAT/);
      expect(message).not.toContain(bad.trim());
    }
  });

  it("names both ways to provide a missing PAT or user id", () => {
    expect(() => resolveConfig({ userId: "u" }, {})).toThrow(/pat.*CLARIFAI_PAT/);
    expect(() => resolveConfig({ pat: PAT }, {})).toThrow(/userId.*CLARIFAI_USER_ID/);
  });
  it("refuses plaintext to a remote host unless forced", () => {
    const e = (() => {
      try {
        resolveConfig({ pat: PAT, userId: "u", endpoint: "audit.example.com:443", insecure: true }, {});
      } catch (err) {
        return err as ValidationError;
      }
      throw new Error("not refused");
    })();
    expect(e).toBeInstanceOf(ValidationError);
    expect(e.field).toBe("insecure");
    expect(e.message).toContain("plaintext");
    expect(e.message).not.toContain(PAT);
    expect(
      resolveConfig(
        { pat: PAT, userId: "u", endpoint: "10.0.0.8:80", insecure: true, allowInsecureRemote: true },
        {},
      ).insecure,
    ).toBe(true);
    for (const host of ["localhost:1", "127.0.0.1:1", "127.8.9.10:1", "[::1]:1"]) {
      expect(resolveConfig({ pat: PAT, userId: "u", endpoint: host, insecure: true }, {}).insecure).toBe(
        true,
      );
    }
  });
  it("parses endpoints and loopback hosts", () => {
    expect(parseEndpoint("[::1]:50051")).toEqual({ host: "::1", port: 50051 });
    expect(parseEndpoint("::1")).toEqual({ host: "::1", port: 443 });
    expect(parseEndpoint("api.clarifai.com")).toEqual({ host: "api.clarifai.com", port: 443 });
    expect(() => parseEndpoint("https://api.clarifai.com")).toThrow(ValidationError);
    expect(() => parseEndpoint("host:0")).toThrow(ValidationError);
    expect(() => parseEndpoint("host:x")).toThrow(ValidationError);
    expect(isLoopbackHost("128.0.0.1")).toBe(false);
    expect(isLoopbackHost("localhost.example.com")).toBe(false);
    expect(isLoopbackHost("::ffff:127.0.0.1")).toBe(true);
  });
  it("refuses unknown options and bad retry values", () => {
    expect(() => resolveConfig({ pat: PAT, userId: "u", timeout: 5 } as never, {})).toThrow(
      /timeout: unknown client option/,
    );
    // A misspelled pat option must not echo the token.
    let misspelled: unknown;
    try {
      resolveConfig({ token: PAT, userId: "u" } as never, {});
    } catch (e) {
      misspelled = e;
    }
    expect(misspelled).toBeInstanceOf(ValidationError);
    expect(inspect(misspelled)).not.toContain(PAT);
    expect(JSON.stringify(misspelled)).not.toContain(PAT);
    expect(() => resolveConfig({ pat: PAT, userId: "u", retry: { maxAttempts: 0 } }, {})).toThrow(
      /retry.maxAttempts/,
    );
    expect(() => resolveConfig({ pat: PAT, userId: "u", timeoutMs: -1 }, {})).toThrow(/timeoutMs/);
  });
  it("refuses a misspelled or malformed retry policy or channelOptions instead of ignoring it", () => {
    const cfg = (o: object) => () => resolveConfig({ pat: PAT, userId: "u", ...o } as never, {});
    expect(cfg({ retry: { maxAttempt: 3 } })).toThrow(/retry\.maxAttempt: unknown retry option.*maxAttempts/);
    expect(cfg({ retry: true })).toThrow(/retry: not a retry policy/);
    expect(cfg({ retry: null })).toThrow(/retry: not a retry policy/);
    expect(cfg({ retry: "none" })).toThrow(/retry: not a retry policy/);
    expect(cfg({ channelOptions: "x" })).toThrow(/channelOptions: not an object/);
    // A longer timer wait fires at once (Node's TimeoutOverflowWarning): retries would not back off.
    expect(cfg({ retry: { maxDelayMs: 2 ** 31 } })).toThrow(/retry\.maxDelayMs.*2147483647/);
  });
  it("refuses deadlines grpc-js or a Date cannot represent (they crashed the process or timed out at once)", () => {
    expect(resolveConfig({ pat: PAT, userId: "u", timeoutMs: MAX_TIMEOUT_MS }, {}).timeoutMs).toBe(
      MAX_TIMEOUT_MS,
    );
    for (const timeoutMs of [MAX_TIMEOUT_MS + 1, 8.64e15, 1e20]) {
      expect(() => resolveConfig({ pat: PAT, userId: "u", timeoutMs }, {})).toThrow(
        /timeoutMs: invalid deadline.*1-359999996400000/,
      );
    }
  });
});

describe("errors", () => {
  it.each([
    [11001, AuthenticationError],
    [11009, AuthenticationError],
    [11200, AuthenticationError],
    [11007, PermissionError],
    [21201, PermissionError],
    [54103, PermissionError],
    [11005, RateLimitError],
    [11004, RateLimitError],
    [11102, InvalidRequestError],
    [11105, InvalidRequestError],
    [40030, UnavailableError],
    [40031, UnavailableError],
    [40032, TimeoutError],
    [98004, ServerError],
    [12345, ServerError],
  ])("status %i maps to %p", (code, cls) => {
    const e = errorFromStatus({ code, description: "d", reqId: "r" });
    expect(e).toBeInstanceOf(cls);
    expect(e).toBeInstanceOf(ClarifaiError);
  });
  it("marks throttling and unavailability retryable, quota exhaustion not", () => {
    expect(errorFromStatus({ code: 11005 }).retryable).toBe(true);
    expect(errorFromStatus({ code: 40031 }).retryable).toBe(true);
    expect(errorFromStatus({ code: 11004 }).retryable).toBe(false);
    expect(errorFromStatus({ code: 11102 }).retryable).toBe(false);
  });
  it("maps gRPC failures into the same hierarchy", () => {
    expect(errorFromGrpc({ code: GrpcStatus.UNAVAILABLE, details: "x" })).toBeInstanceOf(UnavailableError);
    expect(errorFromGrpc({ code: GrpcStatus.UNAVAILABLE }).retryable).toBe(true);
    expect(errorFromGrpc({ code: GrpcStatus.DEADLINE_EXCEEDED }).grpcCode).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    expect(errorFromGrpc({ code: GrpcStatus.DEADLINE_EXCEEDED })).toBeInstanceOf(TimeoutError);
    expect(errorFromGrpc({ code: GrpcStatus.CANCELLED }, { aborted: true })).toBeInstanceOf(CanceledError);
    expect(errorFromGrpc({ code: GrpcStatus.UNAUTHENTICATED })).toBeInstanceOf(AuthenticationError);
    expect(
      errorFromGrpc({
        code: GrpcStatus.RESOURCE_EXHAUSTED,
        details: "Received message larger than max (5 vs. 4)",
      }),
    ).toBeInstanceOf(ServerError);
    expect(errorFromGrpc({ code: GrpcStatus.INTERNAL })).toBeInstanceOf(ServerError);
  });
  it("carries Clarifai's fields and a readable message", () => {
    const e = errorFromStatus(
      {
        code: 11102,
        description: "Invalid request",
        details: "per_page too big",
        reqId: "req-1",
        developerNotes: "n",
      },
      { attempts: 2 },
    );
    expect(e.message).toBe("CONN_INVALID_REQUEST (11102): Invalid request — per_page too big [req_id=req-1]");
    expect(e.toJSON()).toMatchObject({
      code: 11102,
      codeName: "CONN_INVALID_REQUEST",
      reqId: "req-1",
      attempts: 2,
    });
  });
  it("redacts the PAT from server text", () => {
    const e = errorFromStatus(
      { code: 11009, description: `key ${PAT} not found`, details: `Key ${PAT}` },
      { secret: PAT },
    );
    for (const text of [e.message, String(e), JSON.stringify(e), inspect(e), e.stack ?? ""]) {
      expect(text).not.toContain(PAT);
    }
    expect(redact("authorization: Key abcdefgh12345678")).toBe("authorization: Key [REDACTED]");
    expect(redact("Key rotation required")).toBe("Key rotation required");
  });
});

describe("retry", () => {
  it("uses capped exponential backoff with full jitter", () => {
    const max = () => 0.999999;
    expect(backoffDelay(1, DEFAULT_RETRY, max)).toBe(199);
    expect(backoffDelay(3, DEFAULT_RETRY, max)).toBe(799);
    expect(backoffDelay(10, DEFAULT_RETRY, max)).toBe(9999);
    expect(backoffDelay(10, DEFAULT_RETRY, () => 0)).toBe(0);
  });
  it("retries retryable errors, records attempts, stops at maxAttempts", async () => {
    let calls = 0;
    const ok = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw errorFromStatus({ code: 11005 });
        return "done";
      },
      { policy: { ...DEFAULT_RETRY, initialDelayMs: 1 }, deadline: Date.now() + 10_000 },
    );
    expect(ok).toEqual({ value: "done", attempts: 3 });
    await expect(
      withRetry(
        async () => {
          throw errorFromStatus({ code: 11005 });
        },
        { policy: { ...DEFAULT_RETRY, maxAttempts: 2, initialDelayMs: 1 }, deadline: Date.now() + 10_000 },
      ),
    ).rejects.toMatchObject({ attempts: 2, code: 11005 });
    await expect(
      withRetry(
        async () => {
          throw errorFromStatus({ code: 11102 });
        },
        { policy: DEFAULT_RETRY, deadline: Date.now() + 10_000 },
      ),
    ).rejects.toMatchObject({ attempts: 1 });
  });
  it("an abort ends a backoff wait at once", async () => {
    const ac = new AbortController();
    const p = sleep(60_000, ac.signal);
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(CanceledError);
  });
});

describe("AuditLogClient construction", () => {
  it("never shows the PAT", () => {
    const client = new AuditLogClient({ pat: PAT, userId: "alice", endpoint: "127.0.0.1:1", insecure: true });
    for (const text of [
      inspect(client),
      String(client),
      JSON.stringify(client),
      inspect(client, { showHidden: true }),
    ]) {
      expect(text).not.toContain(PAT);
    }
    expect(inspect(client)).toContain("127.0.0.1:1");
    client.close();
  });
  it("refuses plaintext to a remote host before any connection", () => {
    expect(
      () =>
        new AuditLogClient({ pat: PAT, userId: "alice", endpoint: "audit.example.com:443", insecure: true }),
    ).toThrow(ValidationError);
  });
  it("validates a query before any network call", async () => {
    const client = new AuditLogClient({ pat: PAT, userId: "alice", endpoint: "127.0.0.1:1", insecure: true });
    await expect(client.search({ perPage: 5000 })).rejects.toBeInstanceOf(ValidationError);
    expect(() => client.pages({ operations: ["NOPE"] })).toThrow(ValidationError);
    client.close();
  });
});

describe("call options", () => {
  it("refuses unknown call options before any network call", async () => {
    const client = new AuditLogClient({ pat: PAT, userId: "alice", endpoint: "127.0.0.1:1", insecure: true });
    await expect(client.search({}, { timeout: 5 } as never)).rejects.toThrow(/timeout: unknown call option/);
    expect(() => client.pages({}, { deadline: 1 } as never)).toThrow(ValidationError);
    await expect(client.search({}, { metadata: { authorization: "Key x" } })).rejects.toThrow(
      /metadata.authorization/,
    );
    await expect(client.search({}, { timeoutMs: 1e15 })).rejects.toThrow(/timeoutMs: invalid deadline/);
    // A signal that is no AbortSignal used to throw a TypeError only after the request was sent.
    await expect(client.search({}, { signal: {} as never })).rejects.toThrow(/signal: not an AbortSignal/);
    await expect(client.search({}, { metadata: "x-tag: a" as never })).rejects.toThrow(
      /metadata: not metadata/,
    );
    expect(() => client.pages({}, { timeoutMs: 0 })).toThrow(/timeoutMs: invalid deadline/);
    await expect(client.search({}, { priority: Number.NaN })).rejects.toThrow(/priority: invalid priority/);
    await expect(client.search({}, { priority: "1" as never })).rejects.toThrow(/priority: invalid priority/);
    client.close();
    await expect(client.search()).rejects.toThrow(/closed/);
  });
});
