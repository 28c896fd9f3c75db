import { EventType } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { pinOpenRange } from "../../packages/client/src/client/pagination.js";
import { buildSearchRequest, validateQuery } from "../../packages/client/src/client/query.js";
import {
  closestNames,
  levenshtein,
  operationName,
  parseOperation,
} from "../../packages/client/src/domain/operations.js";
import { parseTarget, TARGET_KINDS } from "../../packages/client/src/domain/targets.js";
import { ValidationError } from "../../packages/client/src/errors.js";

function validationError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return e as ValidationError;
  }
  throw new Error("expected a ValidationError");
}

describe("operations", () => {
  it("accepts names, codes, numeric strings and EventType values", () => {
    expect(parseOperation("MODEL_CREATE", "op")).toBe(300);
    expect(parseOperation("model-create", "op")).toBe(300);
    expect(parseOperation(300, "op")).toBe(300);
    expect(parseOperation("1102", "op")).toBe(1102);
    expect(parseOperation(EventType.WORKFLOW_VERSION_CREATE, "op")).toBe(403);
  });
  it("suggests the closest names for typos", () => {
    const e = validationError(() => parseOperation("MODEL_CRATE", "operations[1]"));
    expect(e.field).toBe("operations[1]");
    expect(e.value).toBe("MODEL_CRATE");
    expect(e.message).toContain("did you mean MODEL_CREATE");
    expect(closestNames("WORKFLOW_CREAT", ["WORKFLOW_CREATE", "MODEL_CREATE", "X"], 1)).toEqual([
      "WORKFLOW_CREATE",
    ]);
  });
  it("refuses unknown codes, EVENT_TYPE_NOT_SET and non-operations", () => {
    expect(validationError(() => parseOperation(999, "op")).message).toContain("unknown operation code");
    // Unknown codes get the names of the nearest codes as suggestions, like unknown names do.
    expect(validationError(() => parseOperation(306, "op")).message).toContain(
      "did you mean MODEL_VERSION_DELETE (305), MODEL_VERSION_UPDATE (304), MODEL_VERSION_CREATE (303)?",
    );
    expect(validationError(() => parseOperation(0, "op")).message).toContain("EVENT_TYPE_NOT_SET");
    expect(validationError(() => parseOperation("EVENT_TYPE_NOT_SET", "op")).message).toContain(
      "leave operations empty",
    );
    validationError(() => parseOperation(-1, "op"));
    validationError(() => parseOperation(300.5, "op"));
    validationError(() => parseOperation(true as never, "op"));
  });
  it("names operations, unknown codes as digits", () => {
    expect(operationName(300)).toBe("MODEL_CREATE");
    expect(operationName(4242)).toBe("4242");
    expect(levenshtein("kitten", "sitting")).toBe(3);
  });
});

describe("targets", () => {
  it("has all 13 kinds of the AuditLogTarget oneof", () => {
    expect(TARGET_KINDS).toHaveLength(13);
  });
  it.each([
    [{ user: "alfrick" }, "user", { id: "alfrick" }],
    [{ role: "r1" }, "role", { id: "r1" }],
    [{ team: { id: "t1" } }, "team", { id: "t1" }],
    [{ app: { id: "testapp1", userId: "u" } }, "app", { id: "testapp1", userId: "u" }],
    [{ module: { id: "m", app_id: "a" } }, "module", { id: "m", appId: "a" }],
    [{ module_version: { id: "v", moduleId: "m" } }, "moduleVersion", { id: "v", moduleId: "m" }],
    [{ workflow: "workflow-838250" }, "workflow", { id: "workflow-838250" }],
    [
      { workflowVersion: { id: "a72a", workflowId: "wf", appId: "app" } },
      "workflowVersion",
      { id: "a72a", workflowId: "wf", appId: "app" },
    ],
    [{ model: { id: "m1", appId: "a1" } }, "model", { id: "m1", appId: "a1" }],
    [{ model_version: "mv" }, "modelVersion", { id: "mv" }],
    [{ computeCluster: "cc" }, "computeCluster", { id: "cc" }],
    [
      { nodepool: { id: "np", computeClusterId: "cc" } },
      "nodepool",
      { id: "np", computeCluster: { id: "cc" } },
    ],
    [
      { nodepool: { id: "np", compute_cluster: { id: "cc" } } },
      "nodepool",
      { id: "np", computeCluster: { id: "cc" } },
    ],
    [{ deployment: "d" }, "deployment", { id: "d" }],
  ])("parses %j", (input, kind, expected) => {
    const t = parseTarget(input as never, "targets[0]") as Record<string, unknown>;
    expect(Object.keys(t)).toEqual([kind]);
    expect(t[kind]).toMatchObject(expected);
  });
  it("refuses unknown kinds, listing the allowed ones", () => {
    const e = validationError(() => parseTarget({ dataset: "d" } as never, "targets[2]"));
    expect(e.field).toBe("targets[2].dataset");
    expect(e.message).toContain("model_version");
    expect(e.message).toContain("computeCluster");
  });
  it("refuses fields the kind does not have, two kinds, empty ids", () => {
    expect(
      validationError(() => parseTarget({ modelVersion: { id: "v", modelId: "m" } } as never, "t")).message,
    ).toContain("no model_id");
    expect(validationError(() => parseTarget({ user: { id: "u", appId: "a" } } as never, "t")).field).toBe(
      "t.user.appId",
    );
    validationError(() => parseTarget({ user: "u", model: "m" } as never, "t"));
    validationError(() => parseTarget({} as never, "t"));
    validationError(() => parseTarget({ model: "" } as never, "t"));
    validationError(() => parseTarget({ model: { appId: "a" } } as never, "t"));
    validationError(() => parseTarget("model" as never, "t"));
    // A nodepool matches its compute cluster by id only: a cluster's user id must not vanish.
    const cc = validationError(() =>
      parseTarget({ nodepool: { id: "np", computeCluster: { id: "cc", userId: "u" } } }, "t"),
    );
    expect(cc.field).toBe("t.nodepool.computeCluster.userId");
    expect(cc.message).toContain("by id only");
  });
  it("accepts a decoded target whose other fields are empty", () => {
    const decoded = parseTarget({ model: { id: "m" } }, "t");
    expect(parseTarget(decoded, "t")).toEqual(decoded);
  });
});

describe("validateQuery / buildSearchRequest", () => {
  it("builds the request with explicit pagination", () => {
    const req = buildSearchRequest(
      {
        from: "2025-01-17T12:00:00Z",
        to: "2025-01-17T12:05:00.5Z",
        operations: ["MODEL_CREATE", 400],
        userIds: ["alfrick"],
        targets: [{ app: "testapp1" }],
        success: false,
        sourceIps: ["3.234.120.41", "::1"],
        perPage: 20,
        sortAscending: true,
      },
      "alfrick",
    );
    expect(req.userAppId).toEqual({ userId: "alfrick", appId: "" });
    expect(req.query?.timestampFrom).toEqual({ seconds: 1737115200, nanos: 0 });
    expect(req.query?.timestampTo).toEqual({ seconds: 1737115500, nanos: 500_000_000 });
    expect(req.query?.operations).toEqual([300, 400]);
    expect(req.query?.success).toBe(false);
    expect(req.pagination).toEqual({ page: 1, perPage: 20 });
    expect(req.sortAscending).toBe(true);
    expect(buildSearchRequest(undefined, "u").pagination).toEqual({ page: 1, perPage: 128 });
    expect(buildSearchRequest({}, "u").query?.success).toBeUndefined();
  });
  it("accepts a google-protobuf BoolValue", () => {
    expect(validateQuery({ success: { getValue: () => false } }).success).toBe(false);
  });
  it.each([
    [{ from: "2025-01-02T00:00:00Z", to: "2025-01-01T00:00:00Z" }, "from"],
    [{ perPage: 0 }, "perPage"],
    [{ perPage: 1001 }, "perPage"],
    [{ perPage: 1.5 }, "perPage"],
    [{ page: 0 }, "page"],
    [{ success: "false" }, "success"],
    [{ sourceIps: ["300.1.1.1"] }, "sourceIps[0]"],
    [{ userIds: [""] }, "userIds[0]"],
    [{ userIds: "alfrick" }, "userIds"],
    [{ operation: ["MODEL_CREATE"] }, "operation"],
    [{ sortAscending: "yes" }, "sortAscending"],
    [{ targets: [{ model: "m" }, { foo: "x" }] }, "targets[1].foo"],
  ])("refuses %j naming %s", (query, field) => {
    const e = validationError(() => validateQuery(query as never));
    expect(e.field).toBe(field);
    expect(e.message.startsWith(`${field}:`)).toBe(true);
  });
  it("refuses an empty user id", () => {
    expect(validationError(() => buildSearchRequest({}, "")).field).toBe("userId");
  });
});

describe("pinOpenRange", () => {
  const now = { seconds: 1_800_000_000, nanos: 123_000 };
  it("pins an open to, keeps a given one", () => {
    expect(pinOpenRange(validateQuery({}), now).to).toEqual(now);
    const given = validateQuery({ to: "2025-01-01T00:00:00Z" });
    expect(pinOpenRange(given, now)).toBe(given);
  });
  it("never produces from > to", () => {
    const q = validateQuery({ from: { seconds: 1_900_000_000, nanos: 0 } });
    expect(pinOpenRange(q, now).to).toEqual({ seconds: 1_900_000_000, nanos: 0 });
  });
});
