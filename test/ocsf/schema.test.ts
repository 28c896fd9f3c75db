/**
 * The compiled OCSF schema (test/ocsf/compileOcsf.ts) refuses what OCSF refuses, so that a validation
 * that passes every mapped event is known to be able to fail: each case spoils one valid event.
 */
import { describe, expect, test } from "@jest/globals";
import { AuditLogTarget, EventType } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { entryOf, errorsOf, eventOf, validators } from "./ocsfHelpers.js";

describe("the compiled schema refuses", () => {
  const valid = (): Record<string, unknown> =>
    eventOf(
      entryOf(EventType.MODEL_UPDATE, { targets: [AuditLogTarget.fromPartial({ model: { id: "m" } })] }),
    );
  const cases: [string, (e: Record<string, unknown>) => void][] = [
    [
      "a wrong type",
      (e) => {
        e.time = "yesterday";
      },
    ],
    [
      "a missing required attribute",
      (e) => {
        delete e.severity_id;
      },
    ],
    [
      "a missing required attribute of an object",
      (e) => {
        delete (e.metadata as Record<string, unknown>).product;
      },
    ],
    [
      "a misspelled attribute",
      (e) => {
        e.actr = e.actor;
        delete e.actor;
      },
    ],
    [
      "a misspelled attribute of an object",
      (e) => {
        ((e.actor as Record<string, unknown>).user as Record<string, unknown>).uidd = "x";
      },
    ],
    [
      "an attribute of a profile the event does not apply",
      (e) => {
        e.cloud = { provider: "aws" };
      },
    ],
    [
      "an activity the class does not have",
      (e) => {
        e.activity_id = 14;
        e.type_uid = 300414;
      },
    ],
    [
      "a type_uid of another activity",
      (e) => {
        e.type_uid = 300401;
      },
    ],
    [
      "a class_uid of another class",
      (e) => {
        e.class_uid = 3005;
      },
    ],
    [
      "a category of another class",
      (e) => {
        e.category_uid = 6;
      },
    ],
    [
      "a status caption that contradicts status_id",
      (e) => {
        e.status = "Failure";
      },
    ],
    [
      "an enum value OCSF does not define",
      (e) => {
        e.severity_id = 7;
      },
    ],
    [
      "a source IP that is not one",
      (e) => {
        e.src_endpoint = { ip: "gateway.example" };
      },
    ],
    [
      "a time_dt that is not RFC 3339",
      (e) => {
        e.time_dt = "2025-01-17 12:04";
      },
    ],
    [
      "an entity without any identifier",
      (e) => {
        e.entity = { type: "Model" };
      },
    ],
  ];
  test("the unmodified event (the control)", () => {
    expect(errorsOf(valid())).toEqual([]);
  });
  test.each(cases)("%s", (_name, spoil) => {
    const event = valid();
    spoil(event);
    expect(errorsOf(event)).not.toEqual([]);
  });
  test("an event checked against another class", () => {
    const event = valid();
    expect(validators().get(3006)?.(event)).toBe(false);
  });
});
