/**
 * Every filter of the documentation, over real gRPC against the emulator, with exact results.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Metadata } from "@grpc/grpc-js";
import type { AuditLogClient } from "../../packages/client/src/client/client.js";
import type { AuditLogSearchQuery } from "../../packages/client/src/client/query.js";
import { auditLogEntryToJson } from "../../packages/client/src/codec/restJson.js";
import { ValidationError } from "../../packages/client/src/errors.js";
import { type Harness, harness, key, PAT, SEED_FILE } from "./fixtures.js";
import { replyOk, startH2Server } from "./h2Server.js";

const require = createRequire(import.meta.url);
const { Timestamp } = require("google-protobuf/google/protobuf/timestamp_pb.js");
const { BoolValue } = require("google-protobuf/google/protobuf/wrappers_pb.js");

// All 14 entries, newest first. The two 2025-01-18 entries tie; the log keeps insertion order for
// ties (bob's was added first), so newest-first lists carol's first.
const S1 = "2025-01-17T12:04:55.449860Z WORKFLOW_VERSION_CREATE";
const S2 = "2025-01-17T12:04:55.430103Z WORKFLOW_CREATE";
const S3 = "2025-01-17T12:00:06.599812Z MODEL_CREATE";
const S4 = "2025-01-17T11:54:44.706982Z MODEL_CREATE";
const S5 = "2025-01-17T11:51:52.065958Z WORKFLOW_VERSION_CREATE";
const S6 = "2025-01-17T11:51:52.056626Z WORKFLOW_CREATE";
const S7 = "2025-01-17T11:51:52.014376Z APPLICATION_CREATE";
const S8 = "2025-01-15T07:01:35.378946Z WORKFLOW_VERSION_CREATE";
const S9 = "2025-01-15T07:01:35.366665Z WORKFLOW_CREATE";
const S10 = "2025-01-15T07:01:35.105312Z APPLICATION_CREATE";
const BOB_DELETE = "2025-01-16T09:00:00.000000001Z MODEL_DELETE";
const BOB_VERSION = "2025-01-18T00:00:00Z MODEL_VERSION_CREATE";
const CAROL_NODEPOOL = "2025-01-18T00:00:00Z NODEPOOL_CREATE";
const TEAM_ADD = "2025-01-16T10:00:00.500Z ORGANIZATION_TEAM_MEMBER_ADD";
const ALL = [CAROL_NODEPOOL, BOB_VERSION, S1, S2, S3, S4, S5, S6, S7, TEAM_ADD, BOB_DELETE, S8, S9, S10];

let h: Harness;
let client: AuditLogClient;

beforeAll(async () => {
  h = await harness();
  client = h.client();
});
afterAll(async () => {
  await h.close();
});

async function keys(query: AuditLogSearchQuery): Promise<string[]> {
  const page = await client.search({ perPage: 1000, ...query });
  return page.entries.map(key);
}

describe("search against the emulator", () => {
  it("lists all entries, newest first, with every field kept", async () => {
    const page = await client.search();
    expect(page.entries.map(key)).toEqual(ALL);
    expect(page.page).toBe(1);
    expect(page.perPage).toBe(128);
    expect(page.attempts).toBe(1);
    expect(page.reqId).not.toBe("");
    // Lossless: the documentation's entries print back byte for byte in the REST form.
    const lines = readFileSync(SEED_FILE, "utf8").trim().split("\n");
    const seeds = page.entries.filter((e) => e.user?.id === "alfrick" && e.reqId.startsWith("webportal-"));
    expect(seeds.map((e) => JSON.stringify(auditLogEntryToJson(e)))).toEqual(lines);
    expect(seeds[0].timestamp).toEqual({ seconds: 1737115495, nanos: 449860000 });
    expect(seeds[0].operation).toBe(403);
  });

  it("filters by operation (the documentation's example), by name, code or enum", async () => {
    const expected = [S2, S3, S4, S6, S7, S9, S10];
    expect(await keys({ operations: ["MODEL_CREATE", "WORKFLOW_CREATE", "APPLICATION_CREATE"] })).toEqual(
      expected,
    );
    expect(await keys({ operations: [300, 400, 600] })).toEqual(expected);
    expect(await keys({ operations: ["NODEPOOL_CREATE"] })).toEqual([CAROL_NODEPOOL]);
    expect(await keys({ operations: ["MODULE_CREATE"] })).toEqual([]);
  });

  it("filters by time range, inclusive at both ends, to the nanosecond", async () => {
    expect(await keys({ from: "2025-01-17T00:00:00Z", to: "2025-01-17T23:59:59Z" })).toEqual([
      S1,
      S2,
      S3,
      S4,
      S5,
      S6,
      S7,
    ]);
    expect(await keys({ from: "2025-01-17T12:00:06.599812Z", to: "2025-01-17T12:04:55.430103Z" })).toEqual([
      S2,
      S3,
    ]);
    expect(
      await keys({ from: "2025-01-17T12:00:06.599812001Z", to: "2025-01-17T12:04:55.430102999Z" }),
    ).toEqual([]);
    expect(
      await keys({ from: "2025-01-16T09:00:00.000000001Z", to: "2025-01-16T09:00:00.000000001Z" }),
    ).toEqual([BOB_DELETE]);
    expect(await keys({ from: "2025-01-16T09:00:00.000000002Z", to: "2025-01-16T23:59:59Z" })).toEqual([
      TEAM_ADD,
    ]);
    // Offsets, Dates, epoch ms and {seconds, nanos} address the same instants.
    // 13:00+01:00 is 12:00Z: the entries of 11:xx are before it.
    expect(
      await keys({ from: "2025-01-17T13:00:00+01:00", to: new Date("2025-01-18T00:00:00.000Z") }),
    ).toEqual([CAROL_NODEPOOL, BOB_VERSION, S1, S2, S3]);
    expect(await keys({ from: 1737158400000, to: { seconds: 1737158400, nanos: 0 } })).toEqual([
      CAROL_NODEPOOL,
      BOB_VERSION,
    ]);
  });

  it("accepts google-protobuf Timestamps as the documentation's Node example builds them", async () => {
    const isoDateToTimestamp = (iso: string) => {
      const t = new Timestamp();
      t.fromDate(new Date(iso));
      return t;
    };
    expect(
      await keys({
        from: isoDateToTimestamp("2025-01-15T00:00:00Z"),
        to: isoDateToTimestamp("2025-01-15T23:59:59Z"),
      }),
    ).toEqual([S8, S9, S10]);
    // The documentation's own range (May 2024) has no entries here.
    expect(
      await keys({
        from: isoDateToTimestamp("2024-05-01T00:00:00Z"),
        to: isoDateToTimestamp("2024-05-31T23:59:59Z"),
      }),
    ).toEqual([]);
  });

  it("filters by user", async () => {
    expect(await keys({ userIds: ["bob"] })).toEqual([BOB_VERSION, BOB_DELETE]);
    expect(await keys({ userIds: ["bob", "carol"] })).toEqual([CAROL_NODEPOOL, BOB_VERSION, BOB_DELETE]);
    expect(await keys({ userIds: ["alfrick"] })).toEqual([S1, S2, S3, S4, S5, S6, S7, TEAM_ADD, S8, S9, S10]);
    expect(await keys({ userIds: ["nobody"] })).toEqual([]);
  });

  it("filters by target (short forms of several kinds)", async () => {
    expect(await keys({ targets: [{ user: "dave" }] })).toEqual([TEAM_ADD]);
    expect(await keys({ targets: [{ user: { id: "dave" } }] })).toEqual([TEAM_ADD]);
    expect(await keys({ targets: [{ team: "team-a" }] })).toEqual([TEAM_ADD]);
    expect(await keys({ targets: [{ model: "dogs-vs-cats" }] })).toEqual([BOB_VERSION, S4, BOB_DELETE]);
    // S4 records the model beside its app (`model {app_id: ""}`, `app {testapp1}`), as Clarifai does.
    expect(await keys({ targets: [{ model: { id: "dogs-vs-cats", appId: "testapp1" } }] })).toEqual([
      BOB_VERSION,
      S4,
      BOB_DELETE,
    ]);
    expect(await keys({ targets: [{ model_version: { id: "mv-1", app_id: "testapp1" } }] })).toEqual([
      BOB_VERSION,
    ]);
    expect(await keys({ targets: [{ workflowVersion: "a72a9f65cb2648888b724291a0ba8cef" }] })).toEqual([S1]);
    expect(await keys({ targets: [{ app: "test-app2" }] })).toEqual([S5, S6, S7]);
    expect(await keys({ targets: [{ nodepool: { id: "np-1", computeClusterId: "cc-1" } }] })).toEqual([
      CAROL_NODEPOOL,
    ]);
    expect(await keys({ targets: [{ nodepool: { id: "np-1", computeClusterId: "cc-2" } }] })).toEqual([]);
    expect(await keys({ targets: [{ computeCluster: "cc-1" }] })).toEqual([CAROL_NODEPOOL]);
    // Several targets: any of them.
    expect(await keys({ targets: [{ model: "visual-classifier-one2" }, { workflow: "Universal" }] })).toEqual(
      [S3, S5, S6, S8, S9],
    );
    // A target taken from a returned entry works as a filter.
    const [entry] = (await client.search({ operations: ["NODEPOOL_CREATE"] })).entries;
    expect(await keys({ targets: [entry.targets[0]] })).toEqual([CAROL_NODEPOOL]);
  });

  it("filters by success; false means failures, not 'no filter'", async () => {
    expect(await keys({ success: false })).toEqual([CAROL_NODEPOOL, BOB_DELETE]);
    expect(await keys({ success: true })).toEqual(
      ALL.filter((k) => k !== CAROL_NODEPOOL && k !== BOB_DELETE),
    );
    const bv = new BoolValue();
    bv.setValue(false);
    expect(await keys({ success: bv })).toEqual([CAROL_NODEPOOL, BOB_DELETE]);
    expect(await keys({ success: new BoolValue().setValue(true), userIds: ["bob"] })).toEqual([BOB_VERSION]);
  });

  it("filters by source IP (the documentation's example, IPv4 and IPv6)", async () => {
    expect(await keys({ sourceIps: ["127.0.0.0", "127.0.0.1"] })).toEqual([]);
    expect(await keys({ sourceIps: ["2001:db8::7"] })).toEqual([BOB_DELETE]);
    expect(await keys({ sourceIps: ["10.1.2.3"] })).toEqual([CAROL_NODEPOOL, BOB_VERSION]);
  });

  it("sorts both ways", async () => {
    // Ascending keeps insertion order among ties too: bob's entry before carol's.
    expect(await keys({ sortAscending: true })).toEqual([
      S10,
      S9,
      S8,
      BOB_DELETE,
      TEAM_ADD,
      S7,
      S6,
      S5,
      S4,
      S3,
      S2,
      S1,
      BOB_VERSION,
      CAROL_NODEPOOL,
    ]);
    expect(await keys({ sortAscending: false })).toEqual(ALL);
  });

  it("paginates (the documentation's example: page and per_page)", async () => {
    const p2 = await client.search({ page: 2, perPage: 4 });
    expect(p2.entries.map(key)).toEqual(ALL.slice(4, 8));
    expect([p2.page, p2.perPage]).toEqual([2, 4]);
    expect((await client.search({ page: 4, perPage: 4 })).entries.map(key)).toEqual(ALL.slice(12));
    expect((await client.search({ page: 5, perPage: 4 })).entries).toEqual([]);
  });

  it("combines filters with AND", async () => {
    expect(
      await keys({
        from: "2025-01-16T00:00:00Z",
        operations: ["MODEL_DELETE", "MODEL_VERSION_CREATE", "NODEPOOL_CREATE"],
        success: false,
        sourceIps: ["2001:db8::7", "10.1.2.3"],
      }),
    ).toEqual([CAROL_NODEPOOL, BOB_DELETE]);
    expect(
      await keys({ userIds: ["bob"], targets: [{ modelVersion: "mv-1" }], sortAscending: true }),
    ).toEqual([BOB_VERSION]);
  });

  it("iterates every entry with for await, across pages", async () => {
    const seen: string[] = [];
    for await (const entry of client.entries({ perPage: 3 })) seen.push(key(entry));
    expect(seen).toEqual(ALL);
    const sizes: number[] = [];
    for await (const page of client.pages({ perPage: 7 })) sizes.push(page.entries.length);
    // 14 entries in pages of 7: the second page is full, so a third (empty) one confirms the end.
    expect(sizes).toEqual([7, 7, 0]);
  });

  it("sends every value of per-call metadata, as the server receives it", async () => {
    // A loopback HTTP/2 server records the headers that go on the wire (this was a grpc-js client
    // interceptor, a channel option of grpc-js that the client's own transport does not have).
    const server = await startH2Server((stream) => replyOk(stream));
    try {
      const c = h.client({ endpoint: `127.0.0.1:${server.port}` });
      const md = new Metadata();
      md.add("x-multi", "a");
      md.add("x-multi", "b");
      await c.search({ perPage: 1 }, { metadata: md });
      await c.search({ perPage: 1 }, { metadata: { "x-request-tag": "audit-test" } });
      // Node's HTTP/2 server joins the values of a repeated header with ", ".
      expect(server.calls.map((m) => [m.headers["x-multi"], m.headers["x-request-tag"]])).toEqual([
        ["a, b", undefined],
        [undefined, "audit-test"],
      ]);
      expect(server.calls.every((m) => m.headers.authorization === `Key ${PAT}`)).toBe(true);
    } finally {
      await server.close();
    }
  });

  it("refuses metadata grpc-js cannot send with a ValidationError, before any call", async () => {
    const before = h.emu.calls;
    for (const [metadata, field] of [
      [{ "bad key": "x" }, "metadata.bad key"],
      [{ "x-tag": "two\nlines" }, "metadata.x-tag"],
      [{ "x-bin": "not a Buffer" }, "metadata.x-bin"],
    ] as const) {
      const e = await client.search({}, { metadata }).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ValidationError);
      expect((e as ValidationError).field).toBe(field);
      expect((e as ValidationError).allowed).toContain("printable ASCII");
    }
    expect(h.emu.calls).toBe(before);
  });

  it("sends per-call metadata alongside the PAT", async () => {
    const page = await client.search({ perPage: 1 }, { metadata: { "x-request-tag": "audit-test" } });
    expect(page.entries.map(key)).toEqual([CAROL_NODEPOOL]);
    const md = new Metadata();
    md.set("x-request-tag", "audit-test");
    expect((await client.search({ perPage: 1 }, { metadata: md })).entries.map(key)).toEqual([
      CAROL_NODEPOOL,
    ]);
  });
});
