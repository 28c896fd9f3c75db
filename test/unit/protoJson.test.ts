import { readFileSync } from "node:fs";
import type { JsonValue } from "@bufbuild/protobuf";
import {
  auditLogEntryFromJson,
  auditLogEntryToJson,
  searchRequestFromJson,
  searchResponseToJson,
} from "../../packages/client/src/codec/restJson.js";

const seed = JSON.parse(readFileSync(new URL("../fixtures/seed-response.json", import.meta.url), "utf8"));

describe("Clarifai-style proto3 JSON", () => {
  it("reprints every entry of the documentation's output example byte for byte", () => {
    for (const json of seed.entries) {
      const entry = auditLogEntryFromJson(json);
      expect(JSON.stringify(auditLogEntryToJson(entry))).toBe(JSON.stringify(json));
    }
  });

  it("keeps microsecond timestamps as seconds and nanos", () => {
    const entry = auditLogEntryFromJson(seed.entries[0]);
    expect(entry.timestamp).toEqual({ seconds: 1737115495, nanos: 449860000 });
  });

  it("prints a failed entry with success: false (cl_show_if_empty)", () => {
    const entry = auditLogEntryFromJson(seed.entries[6]);
    entry.success = false;
    expect((auditLogEntryToJson(entry) as { success: boolean }).success).toBe(false);
  });

  it("reprints the whole response", () => {
    const response = {
      status: {
        code: 10000,
        description: "Ok",
        reqId: seed.status.req_id,
        details: "",
        stackTrace: [],
        percentCompleted: 0,
        timeRemaining: 0,
        redirectInfo: undefined,
        developerNotes: "",
      },
      entries: seed.entries.map((e: JsonValue) => auditLogEntryFromJson(e)),
    };
    const json = searchResponseToJson(response as never) as { entries: unknown[] };
    expect(json.entries).toEqual(seed.entries);
  });

  it("reads requests in either field spelling, enums by name or number", () => {
    const a = searchRequestFromJson({
      query: {
        operations: ["MODEL_CREATE", 400],
        timestamp_from: "2024-05-01T00:00:00Z",
        sourceIps: ["127.0.0.1"],
      },
      sort_ascending: true,
      pagination: { page: 2, per_page: 20 },
    });
    expect(a.query?.operations).toEqual([300, 400]);
    expect(a.query?.timestampFrom).toEqual({ seconds: 1714521600, nanos: 0 });
    expect(a.query?.sourceIps).toEqual(["127.0.0.1"]);
    expect(a.pagination).toEqual({ page: 2, perPage: 20 });
    expect(a.sortAscending).toBe(true);
  });

  it("refuses unknown fields with a message naming them", () => {
    expect(() => searchRequestFromJson({ query: { operation: [300] } })).toThrow(/operation/);
  });

  // The JSON mapping converts with Date.parse, which rolls these over to another instant.
  it("refuses impossible timestamps wherever they are, naming the field", () => {
    expect(() => auditLogEntryFromJson({ timestamp: "2025-02-30T00:00:00Z" })).toThrow(
      /^timestamp: 2025-02 has days 01-28/,
    );
    expect(() =>
      auditLogEntryFromJson({
        timestamp: "2025-01-01T00:00:00Z",
        user: { created_at: "2025-01-17T24:00:00Z" },
      }),
    ).toThrow(/^user\.created_at: hour must be 00-23/);
    expect(() => searchRequestFromJson({ query: { timestampTo: "2023-02-29T12:00:00Z" } })).toThrow(
      /^query\.timestampTo: /,
    );
    expect(
      searchRequestFromJson({ query: { timestamp_to: "2024-02-29T23:59:59.999999999Z" } }).query?.timestampTo,
    ).toEqual({
      seconds: 1709251199,
      nanos: 999999999,
    });
  });
});
