/**
 * Our ts-proto stubs against Clarifai's own google-protobuf classes (shipped in clarifai-nodejs-grpc):
 * two independent code generators, one wire format. Requests go ours → theirs, responses theirs → ours,
 * and each side re-encodes what it decoded to the very same bytes.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { AuditLogEntry, EventType } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import {
  MultiAuditLogEntryResponse,
  PostAuditLogSearchesRequest,
} from "../../packages/client/generated/proto/clarifai/api/service.js";
import { auditLogEntryFromJson } from "../../packages/client/src/codec/restJson.js";

type Pb = any;

const officialRequire = createRequire(
  createRequire(import.meta.url).resolve("clarifai-nodejs-grpc/proto/clarifai/api/service_pb"),
);
const servicePb: Pb = officialRequire("./service_pb.js");
const resourcesPb: Pb = officialRequire("./resources_pb.js");
const statusPb: Pb = officialRequire("./status/status_pb.js");
const { Timestamp }: Pb = officialRequire("google-protobuf/google/protobuf/timestamp_pb.js");

const seed = JSON.parse(readFileSync(new URL("../fixtures/seed-response.json", import.meta.url), "utf8"));

describe("request: ts-proto encode → official google-protobuf decode", () => {
  const request: PostAuditLogSearchesRequest = {
    userAppId: { userId: "alfrick", appId: "" },
    query: {
      timestampFrom: { seconds: 1714521600, nanos: 123456789 },
      timestampTo: { seconds: 1717199999, nanos: 999999 },
      userIds: ["alfrick", "bob"],
      operations: [EventType.MODEL_CREATE, EventType.WORKFLOW_VERSION_CREATE, EventType.DEPLOYMENT_DELETE],
      targets: [
        { model: { ...emptyModel(), id: "dogs-vs-cats", appId: "testapp1" } },
        { app: { ...emptyApp(), id: "testapp1" } },
        { workflowVersion: { ...emptyWorkflowVersion(), id: "a72a9f65", workflowId: "workflow-838250" } },
        { user: { ...emptyUser(), id: "someone" } },
      ] as never,
      success: false,
      sourceIps: ["3.234.120.41", "2001:db8::1"],
    },
    sortAscending: true,
    pagination: { page: 3, perPage: 1000 },
  };
  const bytes = PostAuditLogSearchesRequest.encode(request).finish();
  const decoded: Pb = servicePb.PostAuditLogSearchesRequest.deserializeBinary(bytes);
  const q: Pb = decoded.getQuery();

  it("carries the user, sort and pagination", () => {
    expect(decoded.getUserAppId().getUserId()).toBe("alfrick");
    expect(decoded.getSortAscending()).toBe(true);
    expect(decoded.getPagination().getPage()).toBe(3);
    expect(decoded.getPagination().getPerPage()).toBe(1000);
  });

  it("carries timestamps to the nanosecond", () => {
    expect(q.getTimestampFrom().getSeconds()).toBe(1714521600);
    expect(q.getTimestampFrom().getNanos()).toBe(123456789);
    expect(q.getTimestampTo().getSeconds()).toBe(1717199999);
    expect(q.getTimestampTo().getNanos()).toBe(999999);
  });

  it("carries success=false as a present BoolValue, not an absent field", () => {
    expect(q.hasSuccess()).toBe(true);
    expect(q.getSuccess().getValue()).toBe(false);
  });

  it("carries users, operations, source IPs", () => {
    expect(q.getUserIdsList()).toEqual(["alfrick", "bob"]);
    expect(q.getOperationsList()).toEqual([300, 403, 1102]);
    expect(q.getSourceIpsList()).toEqual(["3.234.120.41", "2001:db8::1"]);
  });

  it("carries targets of several oneof kinds with their scoping ids", () => {
    const t: Pb[] = q.getTargetsList();
    const kinds = t.map((x) => x.getTargetCase());
    const C = resourcesPb.AuditLogTarget.TargetCase;
    expect(kinds).toEqual([C.MODEL, C.APP, C.WORKFLOW_VERSION, C.USER]);
    expect(t[0].getModel().getId()).toBe("dogs-vs-cats");
    expect(t[0].getModel().getAppId()).toBe("testapp1");
    expect(t[1].getApp().getId()).toBe("testapp1");
    expect(t[2].getWorkflowVersion().getId()).toBe("a72a9f65");
    expect(t[2].getWorkflowVersion().getWorkflowId()).toBe("workflow-838250");
    expect(t[3].getUser().getId()).toBe("someone");
  });

  it("re-encodes to the same bytes on the official side", () => {
    expect(Buffer.from(decoded.serializeBinary())).toEqual(Buffer.from(bytes));
  });

  it("an open query (no success filter) stays open on the official side", () => {
    const open = PostAuditLogSearchesRequest.encode({
      userAppId: { userId: "u", appId: "" },
      query: { userIds: [], operations: [], targets: [], sourceIps: [], success: undefined } as never,
      sortAscending: false,
      pagination: undefined,
    }).finish();
    const d: Pb = servicePb.PostAuditLogSearchesRequest.deserializeBinary(open);
    expect(d.getQuery().hasSuccess()).toBe(false);
    expect(d.hasPagination()).toBe(false);
  });
});

describe("response: official google-protobuf encode → ts-proto decode", () => {
  const official: Pb = new servicePb.MultiAuditLogEntryResponse();
  const status: Pb = new statusPb.Status();
  status.setCode(seed.status.code);
  status.setDescription(seed.status.description);
  status.setReqId(seed.status.req_id);
  official.setStatus(status);
  for (const e of seed.entries) official.addEntries(buildOfficialEntry(e));
  const bytes: Uint8Array = official.serializeBinary();
  const ours = MultiAuditLogEntryResponse.decode(bytes);

  it("decodes the status", () => {
    expect(ours.status?.code).toBe(10000);
    expect(ours.status?.description).toBe("Ok");
    expect(ours.status?.reqId).toBe("c0c3788f56734a07ac468cffc9f96b82");
  });

  it("decodes every field of every entry of the documentation's example", () => {
    expect(ours.entries).toHaveLength(seed.entries.length);
    seed.entries.forEach((json: Pb, i: number) => {
      const e = ours.entries[i] as AuditLogEntry;
      const [secs, frac] = isoToSecondsNanos(json.timestamp);
      expect(e.timestamp).toEqual({ seconds: secs, nanos: frac });
      expect(e.user?.id).toBe(json.user.id);
      expect(e.user?.firstName).toBe(json.user.first_name);
      expect(e.user?.lastName).toBe(json.user.last_name);
      expect(e.user?.companyName).toBe(json.user.company_name);
      expect(e.user?.jobTitle).toBe(json.user.job_title);
      expect(e.user?.jobRole).toBe(json.user.job_role);
      expect(e.user?.intention).toBe(json.user.intention);
      const [cs, cn] = isoToSecondsNanos(json.user.created_at);
      expect(e.user?.createdAt).toEqual({ seconds: cs, nanos: cn });
      expect(e.user?.visibility?.gettable).toBe(json.user.visibility.gettable);
      expect(e.operation).toBe(json.operation);
      expect(e.description).toBe(json.description);
      expect(e.details).toEqual(json.details);
      expect(e.success).toBe(json.success);
      expect(e.reqId).toBe(json.req_id);
      expect(e.sourceIp).toBe(json.source_ip);
      expect(e.targets.map(targetSummary)).toEqual(json.targets.map(jsonTargetSummary));
    });
  });

  it("agrees with the entries parsed from the REST JSON form", () => {
    expect(ours.entries).toEqual(seed.entries.map((j: Pb) => auditLogEntryFromJson(j)));
  });

  it("re-encodes to the same bytes on our side", () => {
    expect(Buffer.from(MultiAuditLogEntryResponse.encode(ours).finish())).toEqual(Buffer.from(bytes));
  });
});

/** Integer-only ISO → (seconds, nanos) for the fixture's UTC "Z" timestamps; independent of src/. */
function isoToSecondsNanos(iso: string): [number, number] {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/.exec(iso);
  if (!m) throw new Error(`fixture timestamp ${iso}`);
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const seconds = Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
  return [seconds, Number((m[7] ?? "").padEnd(9, "0"))];
}

function officialTimestamp(iso: string): Pb {
  const [s, n] = isoToSecondsNanos(iso);
  const ts: Pb = new Timestamp();
  ts.setSeconds(s);
  ts.setNanos(n);
  return ts;
}

function buildOfficialEntry(j: Pb): Pb {
  const e: Pb = new resourcesPb.AuditLogEntry();
  e.setTimestamp(officialTimestamp(j.timestamp));
  const u: Pb = new resourcesPb.User();
  u.setId(j.user.id);
  u.setFirstName(j.user.first_name);
  u.setLastName(j.user.last_name);
  u.setCompanyName(j.user.company_name);
  u.setJobTitle(j.user.job_title);
  u.setJobRole(j.user.job_role);
  u.setIntention(j.user.intention);
  u.setCreatedAt(officialTimestamp(j.user.created_at));
  const v: Pb = new resourcesPb.Visibility();
  v.setGettable(j.user.visibility.gettable);
  u.setVisibility(v);
  e.setUser(u);
  e.setOperation(j.operation);
  e.setDescription(j.description);
  for (const t of j.targets) e.addTargets(buildOfficialTarget(t));
  e.setDetailsList(j.details);
  e.setSuccess(j.success);
  e.setReqId(j.req_id);
  e.setSourceIp(j.source_ip);
  return e;
}

function buildOfficialTarget(t: Pb): Pb {
  const target: Pb = new resourcesPb.AuditLogTarget();
  const [kind, body] = Object.entries(t)[0] as [string, Pb];
  switch (kind) {
    case "app": {
      const m: Pb = new resourcesPb.App();
      m.setId(body.id);
      target.setApp(m);
      break;
    }
    case "model": {
      const m: Pb = new resourcesPb.Model();
      m.setId(body.id);
      m.setAppId(body.app_id);
      target.setModel(m);
      break;
    }
    case "workflow": {
      const m: Pb = new resourcesPb.Workflow();
      m.setId(body.id);
      target.setWorkflow(m);
      break;
    }
    case "workflow_version": {
      const m: Pb = new resourcesPb.WorkflowVersion();
      m.setId(body.id);
      target.setWorkflowVersion(m);
      break;
    }
    default:
      throw new Error(`fixture has an unexpected target kind ${kind}`);
  }
  return target;
}

function targetSummary(t: Pb): string {
  const [kind, body] = Object.entries(t).find(([, v]) => v !== undefined) as [string, Pb];
  return `${kind}:${body.id}:${body.appId ?? ""}`;
}

function jsonTargetSummary(t: Pb): string {
  const [kind, body] = Object.entries(t)[0] as [string, Pb];
  const camel = kind.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());
  return `${camel}:${body.id}:${body.app_id ?? ""}`;
}

function emptyModel() {
  return AuditLogEntry.fromPartial({ targets: [{ model: {} }] }).targets[0]?.model;
}
function emptyApp() {
  return AuditLogEntry.fromPartial({ targets: [{ app: {} }] }).targets[0]?.app;
}
function emptyWorkflowVersion() {
  return AuditLogEntry.fromPartial({ targets: [{ workflowVersion: {} }] }).targets[0]?.workflowVersion;
}
function emptyUser() {
  return AuditLogEntry.fromPartial({ targets: [{ user: {} }] }).targets[0]?.user;
}
