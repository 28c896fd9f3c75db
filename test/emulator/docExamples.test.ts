/**
 * Every example of the documentation's audit-log page, over gRPC (the raw generated client) and
 * REST (fetch), against the documentation's ten entries plus four entries that make the user,
 * success, source-IP, target and time-range filters non-trivial. Expectations are written out by
 * hand as entry labels, newest first unless the case says otherwise.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import {
  type AuditLogEntry,
  AuditLogQuery,
  type DeepPartial,
  EventType,
} from "../../packages/client/generated/proto/clarifai/api/resources.js";
import type { PostAuditLogSearchesRequest } from "../../packages/client/generated/proto/clarifai/api/service.js";
import { auditLogEntryFromJson, auditLogEntryToJson } from "../../packages/client/src/codec/restJson.js";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import type { V2Client } from "../../packages/emulator/src/v2Grpc.js";
import { fixtureEntries, grpcClient, grpcSearch, request, restSearch } from "./helpers.js";

const F = fixtureEntries();
const extra = (json: Record<string, unknown>): AuditLogEntry =>
  auditLogEntryFromJson({
    user: { id: "bob" },
    description: "extra",
    req_id: "extra-req",
    source_ip: "10.0.0.1",
    success: true,
    ...json,
  } as never);
const X1 = extra({
  timestamp: "2024-05-10T08:00:00.000001Z",
  operation: 302,
  targets: [{ model: { id: "dogs-vs-cats", app_id: "testapp1" } }, { app: { id: "testapp1" } }],
  success: false,
  source_ip: "127.0.0.1",
});
const X2 = extra({
  timestamp: "2024-05-31T23:59:59Z",
  user: { id: "alfrick" },
  operation: 600,
  targets: [{ app: { id: "may-app" } }],
  source_ip: "127.0.0.0",
});
const X3 = extra({
  timestamp: "2024-05-31T23:59:59.000001Z",
  operation: 800,
  targets: [{ user: { id: "bob" } }],
  source_ip: "::1",
});
const X4 = extra({
  timestamp: "2024-05-01T00:00:00Z",
  user: { id: "carol" },
  operation: 800,
  targets: [{ user: { id: "alfrick" } }],
});
const BY_LABEL: Record<string, AuditLogEntry> = { X1, X2, X3, X4 };
F.forEach((e, i) => {
  BY_LABEL[`F${i}`] = e;
});
const ALL = ["F0", "F1", "F2", "F3", "F4", "F5", "F6", "F7", "F8", "F9", "X3", "X2", "X1", "X4"];
const MAY = { from: { seconds: 1714521600, nanos: 0 }, to: { seconds: 1717199999, nanos: 0 } };

interface Case {
  name: string;
  grpc: Partial<PostAuditLogSearchesRequest>;
  rest: Record<string, unknown>;
  expected: string[];
}

const q = (p: DeepPartial<AuditLogQuery>): AuditLogQuery => AuditLogQuery.fromPartial(p);

const CASES: Case[] = [
  { name: "list all (empty request)", grpc: {}, rest: {}, expected: ALL },
  {
    name: "operations filter (docs: MODEL_CREATE, WORKFLOW_CREATE, APPLICATION_CREATE)",
    grpc: {
      query: q({
        operations: [EventType.MODEL_CREATE, EventType.WORKFLOW_CREATE, EventType.APPLICATION_CREATE],
      }),
    },
    rest: { query: { operations: ["MODEL_CREATE", 400, "APPLICATION_CREATE"] } },
    expected: ["F1", "F2", "F3", "F5", "F6", "F8", "F9", "X2"],
  },
  {
    name: "EVENT_TYPE_NOT_SET alone means all operations",
    grpc: { query: q({ operations: [EventType.EVENT_TYPE_NOT_SET] }) },
    rest: { query: { operations: ["EVENT_TYPE_NOT_SET"] } },
    expected: ALL,
  },
  {
    name: "time range (docs: 2024-05-01T00:00:00Z .. 2024-05-31T23:59:59Z, both inclusive)",
    grpc: { query: q({ timestampFrom: MAY.from, timestampTo: MAY.to }) },
    rest: { query: { timestamp_from: "2024-05-01T00:00:00Z", timestamp_to: "2024-05-31T23:59:59Z" } },
    expected: ["X2", "X1", "X4"],
  },
  {
    name: "time range, nanosecond exact, open end",
    grpc: { query: q({ timestampFrom: { seconds: 1717199999, nanos: 1000 } }) },
    rest: { query: { timestampFrom: "2024-05-31T23:59:59.000001Z" } },
    expected: [...ALL.slice(0, 11)],
  },
  {
    name: "user ids",
    grpc: { query: q({ userIds: ["bob"] }) },
    rest: { query: { user_ids: ["bob"] } },
    expected: ["X3", "X1"],
  },
  {
    name: "user ids (OR within the list)",
    grpc: { query: q({ userIds: ["alfrick", "carol"] }) },
    rest: { query: { userIds: ["alfrick", "carol"] } },
    expected: [...ALL.slice(0, 10), "X2", "X4"],
  },
  {
    name: "target (docs: a user target)",
    grpc: { query: q({ targets: [{ user: { id: "alfrick" } }] }) },
    rest: { query: { targets: [{ user: { id: "alfrick" } }] } },
    expected: ["X4"],
  },
  {
    name: "target by kind and id",
    grpc: { query: q({ targets: [{ model: { id: "dogs-vs-cats" } }] }) },
    rest: { query: { targets: [{ model: { id: "dogs-vs-cats" } }] } },
    expected: ["F3", "X1"],
  },
  {
    // F3 records the model as `model {id, app_id: ""}` beside `app {id: testapp1}`, as Clarifai does.
    name: "target: every other id the query sets must match too, on the target or as a sibling target",
    grpc: { query: q({ targets: [{ model: { id: "dogs-vs-cats", appId: "testapp1" } }] }) },
    rest: { query: { targets: [{ model: { id: "dogs-vs-cats", app_id: "testapp1" } }] } },
    expected: ["F3", "X1"],
  },
  {
    name: "target: a scope neither on the target nor beside it excludes the entry",
    grpc: { query: q({ targets: [{ model: { id: "dogs-vs-cats", appId: "test-app2" } }] }) },
    rest: { query: { targets: [{ model: { id: "dogs-vs-cats", app_id: "test-app2" } }] } },
    expected: [],
  },
  {
    name: "targets (OR within the list)",
    grpc: { query: q({ targets: [{ workflow: { id: "Universal" } }, { app: { id: "test-app2" } }] }) },
    rest: { query: { targets: [{ workflow: { id: "Universal" } }, { app: { id: "test-app2" } }] } },
    expected: ["F4", "F5", "F6", "F7", "F8"],
  },
  {
    name: "success true (docs)",
    grpc: { query: q({ success: true }) },
    rest: { query: { success: true } },
    expected: ALL.filter((l) => l !== "X1"),
  },
  {
    name: "success false filters for failures",
    grpc: { query: q({ success: false }) },
    rest: { query: { success: false } },
    expected: ["X1"],
  },
  {
    name: "source IPs (docs: 127.0.0.0, 127.0.0.1)",
    grpc: { query: q({ sourceIps: ["127.0.0.0", "127.0.0.1"] }) },
    rest: { query: { source_ips: ["127.0.0.0", "127.0.0.1"] } },
    expected: ["X2", "X1"],
  },
  {
    name: "IPv6 source IP",
    grpc: { query: q({ sourceIps: ["::1"] }) },
    rest: { query: { sourceIps: ["::1"] } },
    expected: ["X3"],
  },
  {
    name: "sort_ascending (docs)",
    grpc: { sortAscending: true },
    rest: { sort_ascending: true },
    expected: [...ALL].reverse(),
  },
  {
    name: "pagination (docs: time range, page 2, per_page 20) is past the end",
    grpc: {
      query: q({ timestampFrom: MAY.from, timestampTo: MAY.to }),
      pagination: { page: 2, perPage: 20 },
    },
    rest: {
      query: { timestamp_from: "2024-05-01T00:00:00Z", timestamp_to: "2024-05-31T23:59:59Z" },
      pagination: { page: 2, per_page: 20 },
    },
    expected: [],
  },
  {
    name: "pagination page 2, per_page 3",
    grpc: { pagination: { page: 2, perPage: 3 } },
    rest: { pagination: { page: 2, perPage: 3 } },
    expected: ["F3", "F4", "F5"],
  },
  {
    name: "pagination last, partial page",
    grpc: { pagination: { page: 5, perPage: 3 } },
    rest: { pagination: { page: "5", per_page: 3 } },
    expected: ["X1", "X4"],
  },
  {
    name: "pagination ascending with a time range",
    grpc: {
      query: q({ timestampFrom: MAY.from, timestampTo: MAY.to }),
      sortAscending: true,
      pagination: { page: 1, perPage: 2 },
    },
    rest: {
      query: { timestamp_from: "2024-05-01T00:00:00Z", timestamp_to: "2024-05-31T23:59:59Z" },
      sortAscending: true,
      pagination: { page: 1, per_page: 2 },
    },
    expected: ["X4", "X1"],
  },
  {
    name: "AND across fields",
    grpc: {
      query: q({
        operations: [EventType.APPLICATION_CREATE],
        userIds: ["alfrick"],
        timestampFrom: { seconds: 1737072000, nanos: 0 },
      }),
    },
    rest: {
      query: {
        operations: ["APPLICATION_CREATE"],
        user_ids: ["alfrick"],
        timestamp_from: "2025-01-17T00:00:00Z",
      },
    },
    expected: ["F6"],
  },
  {
    name: "filters that match nothing",
    grpc: { query: q({ userIds: ["nobody"] }) },
    rest: { query: { user_ids: ["nobody"] } },
    expected: [],
  },
];

let emu: EmulatorHandle;
let client: V2Client;
beforeAll(async () => {
  emu = await startEmulator({ entries: [...F, X1, X2, X3, X4] });
  client = grpcClient(emu.grpcAddress);
});
afterAll(async () => {
  client.close();
  await emu.close();
});

const labelOf = (json: string) =>
  Object.entries(BY_LABEL).find(([, e]) => JSON.stringify(auditLogEntryToJson(e)) === json)?.[0] ?? "?";

describe("gRPC (generated V2Client)", () => {
  test.each(CASES)("$name", async (c) => {
    const res = await grpcSearch(client, request(c.grpc));
    expect(res.status?.code).toBe(10000);
    expect(res.status?.description).toBe("Ok");
    expect(res.status?.reqId).toMatch(/^[0-9a-f]{32}$/);
    expect(res.entries.map((e) => labelOf(JSON.stringify(auditLogEntryToJson(e))))).toEqual(c.expected);
    expect(res.entries).toEqual(c.expected.map((l) => BY_LABEL[l]));
  });
});

describe("REST (fetch, proto3 JSON)", () => {
  test.each(CASES)("$name", async (c) => {
    const { http, json } = await restSearch(emu.restUrl as string, c.rest);
    expect(http).toBe(200);
    expect(json.status).toEqual({
      code: 10000,
      description: "Ok",
      req_id: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect((json.entries ?? []).map((e) => labelOf(JSON.stringify(e)))).toEqual(c.expected);
  });

  test("timestamps keep the stored microseconds and the documentation's shape", async () => {
    const { json } = await restSearch(emu.restUrl as string, { pagination: { per_page: 1 } });
    expect(json.entries?.[0]).toEqual(auditLogEntryToJson(F[0] as AuditLogEntry));
    expect(json.entries?.[0]?.timestamp).toBe("2025-01-17T12:04:55.449860Z");
  });
});
