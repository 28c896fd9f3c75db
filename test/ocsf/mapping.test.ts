/**
 * The OCSF mapping (packages/client/src/ocsf/) against the OCSF 1.8.0 schema compiled from the
 * vendored sources (test/ocsf/compileOcsf.ts): every EventType and every target kind gives an event
 * valid for its class, the exact mappings hold, the time keeps every digit, and the JSON-line path
 * gives the same event as the decoded path.
 */
import { readFileSync } from "node:fs";
import { describe, expect, test } from "@jest/globals";
import { AuditLogTarget, EventType } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { entryToJsonLine } from "../../packages/client/src/codec/index.js";
import { lineKey } from "../../packages/client/src/domain/entryKey.js";
import { OPERATIONS } from "../../packages/client/src/domain/operations.js";
import { TARGET_KINDS } from "../../packages/client/src/domain/targets.js";
import {
  formatTimestamp,
  MAX_TIMESTAMP_SECONDS,
  MIN_TIMESTAMP_SECONDS,
} from "../../packages/client/src/domain/time.js";
import { ocsfClassOf, PRODUCT } from "../../packages/client/src/ocsf/index.js";
import { generateEntries } from "../../packages/emulator/src/index.js";
import { entryOf, errorsOf, eventOf, validators } from "./ocsfHelpers.js";

const CODES = [...OPERATIONS.values()];

describe("every operation", () => {
  test("the protos' EventTypes are the ones mapped (a new code is a decision, not a silent fallback)", () => {
    expect(CODES.length).toBe(47);
    for (const code of CODES) expect(ocsfClassOf(code).classUid).not.toBe(6003);
    expect(ocsfClassOf(0).classUid).toBe(6003);
    expect(ocsfClassOf(4242)).toEqual({ classUid: 6003, className: "API Activity", categoryUid: 6 });
  });

  test.each([...CODES, 0, 4242])(
    "operation %i, with every target kind or none, is a valid event of its class",
    (code) => {
      const full = eventOf(entryOf(code));
      const bare = eventOf(
        entryOf(code, {
          targets: [],
          user: undefined,
          success: false,
          reqId: "",
          sourceIp: "not-an-ip",
          timestamp: undefined,
          details: [],
          description: "",
        }),
        { account: "", entryId: "" },
      );
      for (const event of [full, bare]) {
        expect(errorsOf(event)).toEqual([]);
        const cls = ocsfClassOf(code);
        expect(event.class_uid).toBe(cls.classUid);
        expect(event.category_uid).toBe(cls.categoryUid);
        expect(event.type_uid).toBe(cls.classUid * 100 + (event.activity_id as number));
        const caption = validators()
          .get(cls.classUid)
          ?.compiled.activities.get(event.activity_id as number);
        expect(caption).toBeDefined();
        if (event.activity_id !== 99) expect(event.activity_name).toBe(caption);
        expect((event.metadata as Record<string, unknown>).event_code).toBe(
          code === 0
            ? "EVENT_TYPE_NOT_SET"
            : OPERATIONS.has(EventType[code] ?? "")
              ? EventType[code]
              : String(code),
        );
      }
      expect(bare.status_id).toBe(2);
      expect(bare.unmapped).toEqual({ source_ip: "not-an-ip" });
    },
  );

  test("every target kind becomes a resource of its type (API Activity keeps them all)", () => {
    const event = eventOf(entryOf(4242));
    const resources = event.resources as Record<string, unknown>[];
    expect(resources.map((r) => r.type)).toEqual([
      "User",
      "Role",
      "Team",
      "Application",
      "Module",
      "Module Version",
      "Workflow",
      "Workflow Version",
      "Model",
      "Model Version",
      "Compute Cluster",
      "Nodepool",
      "Deployment",
    ]);
    expect(resources.map((r) => r.uid)).toEqual(TARGET_KINDS.map((k) => `${k}-1`));
    expect(resources[5]).toEqual({
      type: "Module Version",
      uid: "moduleVersion-1",
      name: "moduleVersion-1",
      data: { app_id: "app-1", user_id: "owner", module_id: "module-1" },
    });
    expect(resources[9]?.data).toEqual({ app_id: "app-1", user_id: "owner", model_id: "model-1" });
    expect(resources[11]?.data).toEqual({ compute_cluster_id: "cluster-1" });
    expect(resources[2]).toEqual({ type: "Team", uid: "team-1", name: "The team" });
  });
});

describe("exact mappings", () => {
  test("MODEL_CREATE: Entity Management / Create, the model as entity placed in its app, actor, IP, request, outcome, ids", () => {
    const model = AuditLogTarget.fromPartial({ model: { id: "dogs-vs-cats", appId: "" } });
    const app = AuditLogTarget.fromPartial({ app: { id: "testapp1" } });
    const entry = entryOf(EventType.MODEL_CREATE, { targets: [model, app] });
    const line = entryToJsonLine(entry);
    const event = eventOf(entry);
    expect(event).toMatchObject({
      class_uid: 3004,
      class_name: "Entity Management",
      category_uid: 3,
      activity_id: 1,
      activity_name: "Create",
      type_uid: 300401,
      type_name: "Entity Management: Create",
      severity_id: 1,
      status_id: 1,
      status: "Success",
      message: "Something happened",
      actor: {
        user: {
          uid: "alfrick",
          name: "alfrick",
          full_name: "Alfrick Opidi",
          email_addr: "alfrick@example.com",
          org: { uid: "acme" },
        },
      },
      src_endpoint: { ip: "3.234.120.41" },
      entity: {
        type_id: 99,
        type: "Model",
        uid: "dogs-vs-cats",
        name: "dogs-vs-cats",
        data: { app_id: "testapp1" },
      },
      unmapped: { details: ["Changed 'x'"] },
    });
    expect(event.metadata).toEqual({
      version: "1.8.0",
      product: { name: "clarifai-audit", vendor_name: "Clarifai", version: PRODUCT.version },
      profiles: ["datetime"],
      event_code: "MODEL_CREATE",
      uid: lineKey(line),
      tenant_uid: "acme",
      correlation_uid: "req-123",
      original_time: "2025-01-17T12:04:55.449860123Z",
    });
    // raw_data is the entry's JSON line, character for character.
    expect(event.raw_data).toBe(line);
  });

  test("a failed team member addition: Group Management / Add User, the team as group, the member as user", () => {
    const targets = [
      AuditLogTarget.fromPartial({ team: { id: "ml-team", name: "ML team" } }),
      AuditLogTarget.fromPartial({ user: { id: "maria-chen" } }),
    ];
    const event = eventOf(entryOf(EventType.ORGANIZATION_TEAM_MEMBER_ADD, { targets, success: false }));
    expect(event).toMatchObject({
      class_uid: 3006,
      activity_id: 3,
      type_uid: 300603,
      status_id: 2,
      status: "Failure",
    });
    expect(event.group).toEqual({ uid: "ml-team", name: "ML team", type: "Team" });
    expect(event.user).toEqual({ uid: "maria-chen", name: "maria-chen" });
  });

  test("organization members: the account is the group; a role change assigns the role as privilege", () => {
    const targets = [
      AuditLogTarget.fromPartial({ user: { id: "kwame" } }),
      AuditLogTarget.fromPartial({ role: { id: "org-admin", name: "org-admin" } }),
    ];
    const added = eventOf(entryOf(EventType.ORGANIZATION_MEMBER_ADD, { targets }));
    expect(added).toMatchObject({
      class_uid: 3006,
      activity_id: 3,
      group: { uid: "acme", type: "Organization" },
    });
    expect(added).toMatchObject({ user: { uid: "kwame" }, privileges: ["org-admin"] });
    const changed = eventOf(entryOf(EventType.ORGANIZATION_MEMBER_CHANGE, { targets }));
    expect(changed).toMatchObject({
      class_uid: 3005,
      activity_id: 1,
      user: { uid: "kwame" },
      privileges: ["org-admin"],
    });
  });

  test("collaborators: User Access Management on the app; USER_UPDATE: Account Change / Other (Update)", () => {
    const targets = [
      AuditLogTarget.fromPartial({ app: { id: "app-9" } }),
      AuditLogTarget.fromPartial({ user: { id: "priya" } }),
    ];
    const removed = eventOf(entryOf(EventType.COLLABORATOR_REMOVE, { targets }));
    expect(removed).toMatchObject({
      class_uid: 3005,
      activity_id: 2,
      type_uid: 300502,
      user: { uid: "priya" },
    });
    expect(removed.privileges).toEqual(["collaborator"]);
    expect(removed.resources).toEqual([{ type: "Application", uid: "app-9", name: "app-9" }]);
    const user = eventOf(
      entryOf(EventType.USER_UPDATE, { targets: [AuditLogTarget.fromPartial({ user: { id: "priya" } })] }),
    );
    expect(user).toMatchObject({
      class_uid: 3001,
      activity_id: 99,
      activity_name: "Update",
      type_uid: 300199,
      user: { uid: "priya" },
    });
  });

  test("an operation newer than the protos: API Activity with the code as operation and the request id", () => {
    const event = eventOf(entryOf(4242, { targets: [] }));
    expect(event).toMatchObject({
      class_uid: 6003,
      activity_id: 0,
      type_uid: 600300,
      api: { operation: "4242", request: { uid: "req-123" } },
    });
    expect(event.resources).toBeUndefined();
  });

  test("metadata.product names this package's version", () => {
    const pkg = JSON.parse(readFileSync("packages/client/package.json", "utf8")) as { version: string };
    expect(PRODUCT.version).toBe(pkg.version);
  });
});

describe("time", () => {
  test("every digit of the time is kept from year 1 to 9999; time is the millisecond floor", () => {
    const seconds = [MIN_TIMESTAMP_SECONDS, -1, 0, 1_737_115_495, 4_102_444_800, MAX_TIMESTAMP_SECONDS];
    for (let i = 0; i < 200; i++)
      seconds.push(
        MIN_TIMESTAMP_SECONDS +
          Math.floor((((i * 7919) % 200) / 200) * (MAX_TIMESTAMP_SECONDS - MIN_TIMESTAMP_SECONDS)),
      );
    const nanos = [0, 1, 999_999_999, 123_000_000, 449_860_000, 449_860_123, 500_000];
    for (const [i, s] of seconds.entries()) {
      const n = nanos[i % nanos.length] as number;
      const event = eventOf(entryOf(EventType.APPLICATION_UPDATE, { timestamp: { seconds: s, nanos: n } }));
      const iso = formatTimestamp({ seconds: s, nanos: n });
      expect(event.time_dt).toBe(iso);
      expect((event.metadata as Record<string, unknown>).original_time).toBe(iso);
      const ns = BigInt(s) * 1_000_000_000n + BigInt(n);
      const ms = ns >= 0n ? ns / 1_000_000n : -((-ns + 999_999n) / 1_000_000n);
      expect(BigInt(event.time as number)).toBe(ms);
      expect(errorsOf(event)).toEqual([]);
    }
  });

  test("an entry without time: time 0, time_dt the epoch, no original_time", () => {
    const event = eventOf(entryOf(EventType.APPLICATION_UPDATE, { timestamp: undefined }));
    expect(event.time).toBe(0);
    expect(event.time_dt).toBe("1970-01-01T00:00:00Z");
    expect((event.metadata as Record<string, unknown>).original_time).toBeUndefined();
  });
});

describe("the emulator's log", () => {
  test("every generated entry maps to a valid event, the same from the line as from the decoded entry", () => {
    const entries = generateEntries(1500, 24);
    const seen = new Set<number>();
    for (const entry of entries) {
      const event = eventOf(entry);
      expect(errorsOf(event)).toEqual([]);
      seen.add(entry.operation);
    }
    // The generated log covers every operation, so the check above covered every real target shape.
    expect([...seen].sort((a, b) => a - b)).toEqual([...CODES].sort((a, b) => a - b));
  });
});

test("docs/ocsf.md's table names every operation with the class, activity and type_uid it gets", () => {
  const doc = readFileSync("docs/ocsf.md", "utf8");
  for (const code of [...CODES, 0]) {
    const event = eventOf(entryOf(code));
    const name = code === 0 ? "any other code, and `EVENT_TYPE_NOT_SET`" : `\`${EventType[code]}\``;
    const row = `| ${name} (${code}) | ${event.class_name} (${event.class_uid}) | ${event.activity_name} (${event.activity_id}) | ${event.type_uid} |`;
    expect({ code, found: doc.includes(row) }).toEqual({ code, found: true });
  }
});
