import type { DescField, DescMessage } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { entryToJsonLine } from "../../packages/client/src/codec/entryPrinter.js";
import { auditLogEntryBytesToJson } from "../../packages/client/src/codec/jsonlTranscoder.js";
import { messageDesc } from "../../packages/client/src/codec/registry.js";
import { auditLogEntryToJson } from "../../packages/client/src/codec/restJson.js";
import { outcome } from "./wireArbitrary.js";

/** Fields from AuditLogEntry into a message cycle (e.g. through clarifai.api.Data), then the cycle. */
function cyclePath(): { prefix: DescField[]; cycle: DescField[] } {
  const path: DescField[] = [];
  const types: string[] = [];
  const finished = new Set<string>();
  const visit = (d: DescMessage): { prefix: DescField[]; cycle: DescField[] } | undefined => {
    types.push(d.typeName);
    for (const f of d.fields) {
      if (!f.message || f.fieldKind === "map" || f.message.typeName.startsWith("google.protobuf.")) continue;
      path.push(f);
      const at = types.indexOf(f.message.typeName);
      if (at !== -1) return { prefix: path.slice(0, at), cycle: path.slice(at) };
      if (!finished.has(f.message.typeName)) {
        const found = visit(f.message);
        if (found) return found;
      }
      path.pop();
    }
    types.pop();
    finished.add(d.typeName);
    return undefined;
  };
  const found = visit(messageDesc("clarifai.api.AuditLogEntry"));
  if (!found) throw new Error("no message cycle in the AuditLogEntry closure");
  return found;
}

/** An entry nested `levels` messages deep along that cycle. */
function nested(levels: number): Uint8Array {
  const { prefix, cycle } = cyclePath();
  const path = [...prefix];
  while (path.length < levels) path.push(...cycle);
  let inner: Uint8Array = new Uint8Array(0);
  for (let i = levels - 1; i >= 0; i--) {
    const w = new BinaryWriter();
    w.tag((path[i] as DescField).number, WireType.LengthDelimited).bytes(inner);
    inner = w.finish();
  }
  return inner;
}

describe("deeply nested data goes to the reference paths", () => {
  it.each([10, 45, 60, 99, 120])("nesting %i deep: every fast path equals its reference", (levels) => {
    const bytes = nested(levels);
    const reference = outcome(() => JSON.stringify(auditLogEntryToJson(AuditLogEntry.decode(bytes))));
    // Deep enough data makes the reference throw; the fast paths must throw too, not print.
    if (levels >= 120) expect(reference).toEqual({ threw: true });
    expect(outcome(() => auditLogEntryBytesToJson(bytes))).toEqual(reference);
    const decoded = outcome(() => AuditLogEntry.decode(bytes));
    if ("ok" in decoded) {
      const entry = decoded.ok as AuditLogEntry;
      expect(outcome(() => entryToJsonLine(entry))).toEqual(
        outcome(() => JSON.stringify(auditLogEntryToJson(entry))),
      );
    }
  });
});
