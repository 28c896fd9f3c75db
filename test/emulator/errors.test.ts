/**
 * Auth failures and invalid requests, over gRPC and REST: Clarifai's status codes inside a gRPC-OK
 * reply, HTTP statuses on REST, and a description plus a req_id on every non-success reply.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { AuditLogQuery } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { StatusCode } from "../../packages/client/generated/proto/clarifai/api/status/status_code.js";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import type { V2Client } from "../../packages/emulator/src/v2Grpc.js";
import { grpcClient, grpcSearch, PAT, request, restSearch, USER } from "./helpers.js";

let emu: EmulatorHandle;
let client: V2Client;
beforeAll(async () => {
  emu = await startEmulator({
    pats: { [PAT]: USER, "other-pat": "other-user" },
    generate: { count: 300, seed: 5 },
  });
  client = grpcClient(emu.grpcAddress);
});
afterAll(async () => {
  client.close();
  await emu.close();
});

function expectError(
  status: { code?: number; description?: string; reqId?: string } | undefined,
  code: StatusCode,
) {
  expect(status?.code).toBe(code);
  expect(status?.description).toMatch(/\S/);
  expect(status?.reqId).toMatch(/^[0-9a-f]{32}$/);
}

describe("auth over gRPC", () => {
  test("missing key → CONN_KEY_NOT_FOUND", async () => {
    const res = await grpcSearch(client, request(), null);
    expectError(res.status, StatusCode.CONN_KEY_NOT_FOUND);
    expect(res.entries).toEqual([]);
  });
  test("unknown key → CONN_KEY_INVALID, and the key is not echoed", async () => {
    const res = await grpcSearch(client, request(), "not-a-real-pat");
    expectError(res.status, StatusCode.CONN_KEY_INVALID);
    expect(JSON.stringify(res.status)).not.toContain("not-a-real-pat");
  });
  test("another account's log → CONN_INSUFFICIENT_SCOPES", async () => {
    const res = await grpcSearch(client, request({ userAppId: { userId: "other-user", appId: "" } }));
    expectError(res.status, StatusCode.CONN_INSUFFICIENT_SCOPES);
    expect(res.entries).toEqual([]);
  });
  test("each PAT reads its own user's log; empty user id and 'me' mean the PAT's user", async () => {
    const own = await grpcSearch(
      client,
      request({ userAppId: { userId: "other-user", appId: "" } }),
      "other-pat",
    );
    expect(own.status?.code).toBe(StatusCode.SUCCESS);
    expect(own.entries).toEqual([]);
    for (const userId of ["", "me"]) {
      const res = await grpcSearch(client, request({ userAppId: { userId, appId: "" } }));
      expect(res.status?.code).toBe(StatusCode.SUCCESS);
      expect(res.entries.length).toBe(128);
    }
  });
});

describe("auth over REST", () => {
  test("missing key → 401 CONN_KEY_NOT_FOUND", async () => {
    const { http, json } = await restSearch(emu.restUrl as string, {}, { pat: null });
    expect(http).toBe(401);
    expect(json.status.code).toBe(StatusCode.CONN_KEY_NOT_FOUND);
    expect(json.status.req_id).toMatch(/^[0-9a-f]{32}$/);
  });
  test("unknown key → 401 CONN_KEY_INVALID", async () => {
    const { http, json } = await restSearch(emu.restUrl as string, {}, { pat: "nope" });
    expect(http).toBe(401);
    expect(json.status.code).toBe(StatusCode.CONN_KEY_INVALID);
  });
  test("another account's log → 403 CONN_INSUFFICIENT_SCOPES", async () => {
    const { http, json } = await restSearch(emu.restUrl as string, {}, { user: "other-user" });
    expect(http).toBe(403);
    expect(json.status.code).toBe(StatusCode.CONN_INSUFFICIENT_SCOPES);
  });
});

describe("pagination limits", () => {
  test("per_page 0 / page 0 mean the defaults (128, page 1)", async () => {
    const res = await grpcSearch(client, request({ pagination: { page: 0, perPage: 0 } }));
    expect(res.entries.length).toBe(128);
    const first = await grpcSearch(client, request({ pagination: { page: 1, perPage: 128 } }));
    expect(res.entries).toEqual(first.entries);
  });
  test("per_page 1000 is allowed, 1001 is an invalid request that says why", async () => {
    const ok = await grpcSearch(client, request({ pagination: { page: 1, perPage: 1000 } }));
    expect(ok.entries.length).toBe(300);
    const res = await grpcSearch(client, request({ pagination: { page: 1, perPage: 1001 } }));
    expectError(res.status, StatusCode.CONN_INVALID_REQUEST);
    expect(res.status?.description).toContain("per_page");
    expect(res.status?.description).toContain("1000");
    const rest = await restSearch(emu.restUrl as string, { pagination: { per_page: 1001 } });
    expect(rest.http).toBe(400);
    expect(rest.json.status.code).toBe(StatusCode.CONN_INVALID_REQUEST);
    expect(rest.json.status.description).toContain("per_page");
  });
});

describe("invalid queries", () => {
  test("timestamp_from after timestamp_to", async () => {
    const res = await grpcSearch(
      client,
      request({
        query: AuditLogQuery.fromPartial({
          timestampFrom: { seconds: 100, nanos: 1 },
          timestampTo: { seconds: 100, nanos: 0 },
        }),
      }),
    );
    expectError(res.status, StatusCode.CONN_INVALID_REQUEST);
    expect(res.status?.description).toContain("timestamp_from");
  });
  test("from == to is a valid, inclusive one-instant range", async () => {
    const all = await grpcSearch(client, request({ pagination: { page: 1, perPage: 1 } }));
    const t = all.entries[0]?.timestamp;
    const res = await grpcSearch(
      client,
      request({ query: AuditLogQuery.fromPartial({ timestampFrom: t, timestampTo: t }) }),
    );
    expect(res.status?.code).toBe(StatusCode.SUCCESS);
    expect(res.entries.map((e) => e.timestamp)).toContainEqual(t);
    for (const e of res.entries) expect(e.timestamp).toEqual(t);
  });
  test("an operation that is not an EventType", async () => {
    const res = await grpcSearch(
      client,
      request({ query: AuditLogQuery.fromPartial({ operations: [999] }) }),
    );
    expectError(res.status, StatusCode.CONN_INVALID_REQUEST);
    expect(res.status?.description).toContain("operations[0]");
  });
  test("a target with no kind, and a target with no id", async () => {
    const none = await grpcSearch(client, request({ query: AuditLogQuery.fromPartial({ targets: [{}] }) }));
    expectError(none.status, StatusCode.CONN_INVALID_REQUEST);
    expect(none.status?.description).toContain("targets[0]");
    const noId = await restSearch(emu.restUrl as string, {
      query: { targets: [{ model: { app_id: "x" } }] },
    });
    expect(noId.http).toBe(400);
    expect(noId.json.status.description).toContain("targets[0].model.id");
  });
});

describe("malformed REST requests", () => {
  const cases: [string, { raw?: string; body?: unknown }, number, RegExp][] = [
    ["malformed JSON", { raw: "{not json" }, StatusCode.CONN_BAD_REQUEST_FORMAT, /JSON/],
    ["unknown field", { body: { query: { colour: "red" } } }, StatusCode.CONN_INVALID_REQUEST, /colour/],
    [
      "unknown enum name",
      { body: { query: { operations: ["MODEL_EXPLODE"] } } },
      StatusCode.CONN_INVALID_REQUEST,
      /MODEL_EXPLODE/,
    ],
    [
      "bad timestamp",
      { body: { query: { timestamp_from: "yesterday" } } },
      StatusCode.CONN_INVALID_REQUEST,
      /timestamp/,
    ],
    // Date.parse would roll these over to March 2 and the next day: they must be refused instead.
    [
      "impossible date",
      { body: { query: { timestamp_from: "2025-02-30T00:00:00Z" } } },
      StatusCode.CONN_INVALID_REQUEST,
      /query\.timestamp_from: 2025-02 has days 01-28/,
    ],
    [
      "hour 24 (camelCase field)",
      { body: { query: { timestampTo: "2025-01-17T24:00:00Z" } } },
      StatusCode.CONN_INVALID_REQUEST,
      /query\.timestampTo: hour must be 00-23/,
    ],
    [
      "negative page",
      { body: { pagination: { page: -1 } } },
      StatusCode.CONN_INVALID_REQUEST,
      /pagination\.page/,
    ],
  ];
  test.each(cases)("%s → 400 with a status that says what is wrong", async (_name, c, code, why) => {
    const { http, json } = await restSearch(emu.restUrl as string, c.body, { raw: c.raw });
    expect(http).toBe(400);
    expect(json.status.code).toBe(code);
    expect(String(json.status.description)).toMatch(why);
    expect(json.status.req_id).toMatch(/^[0-9a-f]{32}$/);
  });
  test("wrong method and unknown path keep the status body", async () => {
    const get = await fetch(`${emu.restUrl}/v2/users/${USER}/audit_log/searches`);
    expect(get.status).toBe(405);
    expect(((await get.json()) as { status: { code: number } }).status.code).toBe(
      StatusCode.CONN_METHOD_NOT_ALLOWED,
    );
    const other = await fetch(`${emu.restUrl}/v2/users/${USER}/apps`, { method: "POST", body: "{}" });
    expect(other.status).toBe(404);
    expect(((await other.json()) as { status: { code: number } }).status.code).toBe(
      StatusCode.CONN_DOES_NOT_EXIST,
    );
  });
  test("a body over 1 MiB gets a CONN_BAD_REQUEST_FORMAT reply, not a reset connection", async () => {
    const { http, json } = await restSearch(emu.restUrl as string, undefined, {
      raw: `{"query": {"user_ids": ["${"x".repeat(2 * 1024 * 1024)}"]}}`,
    });
    expect(http).toBe(400);
    expect(json.status.code).toBe(StatusCode.CONN_BAD_REQUEST_FORMAT);
    expect(String(json.status.details)).toContain("1 MiB");
  });
  test("a user id that is not valid percent-encoding is a bad request, not an internal error", async () => {
    const { http, json } = await restSearch(emu.restUrl as string, {}, { user: "%E0%A4%A" });
    expect(http).toBe(400);
    expect(json.status.code).toBe(StatusCode.CONN_BAD_REQUEST_FORMAT);
    expect(String(json.status.details)).toContain("percent-encoding");
  });
  test("the REST path's user id wins over user_app_id in the body", async () => {
    const { http, json } = await restSearch(emu.restUrl as string, {
      user_app_id: { user_id: "other-user" },
    });
    expect(http).toBe(200);
    expect(json.entries?.length).toBe(128);
  });
});

test("generated data is reproducible: same request, same entries", async () => {
  const again = await startEmulator({ generate: { count: 300, seed: 5 }, restPort: false });
  const c2 = grpcClient(again.grpcAddress);
  try {
    const a = await grpcSearch(client, request({ pagination: { page: 2, perPage: 100 } }));
    const b = await grpcSearch(c2, request({ pagination: { page: 2, perPage: 100 } }));
    expect(b.entries).toEqual(a.entries);
  } finally {
    c2.close();
    await again.close();
  }
});
