/**
 * Data loading (`--data` JSONL, all or nothing, errors as file:line: reason) and the generator's
 * promises: deterministic, every EventType, all 13 target kinds, failures, IPv4 and IPv6, shared
 * req_ids, equal timestamps, microsecond precision, and a lossless JSON round trip.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "@jest/globals";
import { auditLogEntryFromJson, auditLogEntryToJson } from "../../packages/client/src/codec/restJson.js";
import { TARGET_KINDS } from "../../packages/client/src/domain/targets.js";
import { streamEntriesFile } from "../../packages/emulator/src/dataFile.js";
import {
  DataFileError,
  generateEntries,
  loadEntriesFile,
  startEmulator,
} from "../../packages/emulator/src/index.js";
import { AuditLog } from "../../packages/emulator/src/store.js";
import { ALL_EVENT_TYPES } from "../../packages/emulator/src/vocabulary.js";
import { FIXTURE } from "./helpers.js";

const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-data-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const lines = readFileSync(FIXTURE, "utf8").trim().split("\n");

function file(name: string, content: string): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

describe("loadEntriesFile", () => {
  test("reads the documentation's ten entries, skipping blank lines", () => {
    const p = file("ok.jsonl", `${lines.slice(0, 3).join("\n")}\n\n${lines.slice(3).join("\n")}\n`);
    const entries = loadEntriesFile(p);
    expect(entries.length).toBe(10);
    expect(entries.map((e) => JSON.stringify(auditLogEntryToJson(e)))).toEqual(
      lines.map((l) => JSON.stringify(JSON.parse(l))),
    );
  });
  test.each([
    ["malformed JSON", '{"timestamp": ', /:3: malformed JSON/],
    ["unknown field", '{"colour": "red"}', /:3: not an AuditLogEntry: .*colour/],
    ["bad timestamp", '{"timestamp": "2025-13-45T00:00:00Z"}', /:3: not an AuditLogEntry: .*RFC 3339/],
    ["not an object", "[1, 2]", /:3: expected one AuditLogEntry JSON object per line/],
    // Date.parse rolls these over (March 2, the next day); they must not load as other instants.
    [
      "impossible date",
      '{"timestamp": "2025-02-30T12:00:00Z"}',
      /:3: not an AuditLogEntry: timestamp: 2025-02/,
    ],
    [
      "impossible nested date",
      '{"timestamp": "2025-01-17T12:00:00Z", "user": {"id": "u", "created_at": "2025-01-17T24:00:00Z"}}',
      /:3: not an AuditLogEntry: user\.created_at: hour must be 00-23/,
    ],
  ])("%s → `file:line: reason`, nothing returned", (_name, bad, why) => {
    const p = file("bad.jsonl", `${lines[0]}\n${lines[1]}\n${bad}\n${lines[2]}\n`);
    expect(() => loadEntriesFile(p)).toThrow(DataFileError);
    expect(() => loadEntriesFile(p)).toThrow(why);
    try {
      loadEntriesFile(p);
    } catch (e) {
      expect((e as DataFileError).message.startsWith(`${p}:3: `)).toBe(true);
      expect((e as DataFileError).line).toBe(3);
    }
  });
  test("a missing file names the file", () => {
    expect(() => loadEntriesFile(join(dir, "nope.jsonl"))).toThrow(/nope\.jsonl: cannot read: ENOENT/);
  });
  test("startEmulator refuses the whole load when any file is bad, and binds nothing", async () => {
    const good = file("good.jsonl", `${lines.join("\n")}\n`);
    const bad = file("bad2.jsonl", `${lines[0]}\nnot json\n`);
    await expect(startEmulator({ dataFiles: [good, bad] })).rejects.toThrow(`${bad}:2: malformed JSON`);
  });
  test("dataUserId chooses whose log the data goes to", async () => {
    const emu = await startEmulator({
      pats: { a: "alice", b: "bob" },
      dataFiles: [FIXTURE],
      dataUserId: "bob",
      restPort: false,
    });
    try {
      expect(emu.size("bob")).toBe(10);
      expect(emu.size("alice")).toBe(0);
      expect(emu.size()).toBe(10);
    } finally {
      await emu.close();
    }
  });
});

describe("streamEntriesFile", () => {
  test("stores exactly what adding the decoded entries stores: bytes, columns, targets, order", async () => {
    // Out of order (late entries merge), pre-1970 and nanosecond timestamps, every target kind,
    // one line in another spelling (the reference path) among the exporter's lines.
    const entries = generateEntries(3000, 29);
    for (let i = 0; i < entries.length; i += 7) {
      (entries[i] as { timestamp: { seconds: number; nanos: number } }).timestamp = {
        seconds: -86400 * (i + 1),
        nanos: i,
      };
    }
    entries.reverse();
    const printed = entries.map((e) => JSON.stringify(auditLogEntryToJson(e)));
    const odd = JSON.parse(printed[3] as string) as Record<string, unknown>;
    odd.sourceIp = odd.source_ip;
    delete odd.source_ip;
    printed[3] = JSON.stringify(odd);
    const p = file("stream.jsonl", `${printed.join("\n")}\n`);
    const streamed = new AuditLog();
    expect(await streamEntriesFile(p, streamed, 256)).toBe(3000);
    const added = new AuditLog();
    for (let i = 0; i < entries.length; i += 256) added.add(entries.slice(i, i + 256));
    expect(streamed.size).toBe(added.size);
    const columns = (log: AuditLog) => ({
      secs: log.secs.subarray(0, log.size),
      nanos: log.nanos.subarray(0, log.size),
      user: Array.from(log.user.subarray(0, log.size), (u) => log.users.values[u]),
      ip: Array.from(log.ip.subarray(0, log.size), (u) => log.ips.values[u]),
      op: log.op.subarray(0, log.size),
      success: log.success.subarray(0, log.size),
      targets: Array.from({ length: log.size }, (_, id) =>
        Array.from(
          log.tpool.subarray(log.tStart[id], (log.tStart[id] as number) + (log.tCount[id] as number)),
          (t) => log.targets[t],
        ),
      ),
      order: log.order.subarray(0, log.size),
      bytes: Array.from({ length: log.size }, (_, id) => log.bytesOf(id).toString("hex")),
    });
    expect(columns(streamed)).toEqual(columns(added));
    expect(
      new Set(
        columns(streamed)
          .targets.flat()
          .map((t) => t?.kind),
      ).size,
    ).toBe(TARGET_KINDS.length);
  });
});

describe("generateEntries", () => {
  const entries = generateEntries(5000, 17);

  test("is deterministic per seed and differs across seeds", () => {
    expect(generateEntries(300, 17)).toEqual(entries.slice(0, 300));
    expect(generateEntries(300, 18)).not.toEqual(entries.slice(0, 300));
  });
  test("covers every EventType, including compute clusters, nodepools and deployments", () => {
    expect(new Set(entries.map((e) => e.operation))).toEqual(new Set(ALL_EVENT_TYPES));
  });
  test("covers all 13 target kinds, in multi-target combinations", () => {
    const kinds = new Set(
      entries.flatMap((e) => e.targets.map((t) => TARGET_KINDS.find((k) => t[k] !== undefined))),
    );
    expect(kinds).toEqual(new Set(TARGET_KINDS));
    expect(entries.some((e) => e.targets.length >= 3)).toBe(true);
    expect(entries.some((e) => e.targets.some((t) => t.team) && e.targets.some((t) => t.user))).toBe(true);
    expect(entries.some((e) => e.targets.some((t) => t.model?.appId) && e.targets.some((t) => t.app))).toBe(
      true,
    );
  });
  test("mostly successful, some failures, several users, IPv4 and IPv6", () => {
    const failed = entries.filter((e) => !e.success).length;
    expect(failed).toBeGreaterThan(entries.length * 0.02);
    expect(failed).toBeLessThan(entries.length * 0.2);
    expect(new Set(entries.map((e) => e.user?.id)).size).toBeGreaterThanOrEqual(5);
    expect(entries.some((e) => e.sourceIp.includes(":"))).toBe(true);
    expect(entries.some((e) => /^\d+\.\d+\.\d+\.\d+$/.test(e.sourceIp))).toBe(true);
    expect(entries.every((e) => e.details.length > 0 && e.description !== "")).toBe(true);
  });
  test("one request → several entries with one req_id; some timestamps are equal", () => {
    const perReq = new Map<string, number>();
    for (const e of entries) perReq.set(e.reqId, (perReq.get(e.reqId) ?? 0) + 1);
    expect([...perReq.values()].some((n) => n >= 2)).toBe(true);
    const stamps = entries.map((e) => `${e.timestamp?.seconds}.${e.timestamp?.nanos}`);
    expect(new Set(stamps).size).toBeLessThan(stamps.length);
  });
  test("microsecond precision, oldest first, from startSeconds", () => {
    const g = generateEntries(200, 1, { startSeconds: 1_600_000_000, userIds: ["u1", "u2"] });
    expect(g[0]?.timestamp?.seconds).toBeGreaterThanOrEqual(1_600_000_000);
    expect(new Set(g.map((e) => e.user?.id))).toEqual(new Set(["u1", "u2"]));
    for (const e of entries) expect((e.timestamp?.nanos ?? 1) % 1000).toBe(0);
    expect(entries.some((e) => (e.timestamp?.nanos ?? 0) % 1_000_000 !== 0)).toBe(true);
    for (let i = 1; i < entries.length; i++) {
      const a = entries[i - 1]?.timestamp as { seconds: number; nanos: number };
      const b = entries[i]?.timestamp as { seconds: number; nanos: number };
      expect(a.seconds < b.seconds || (a.seconds === b.seconds && a.nanos <= b.nanos)).toBe(true);
    }
  });
  test("survives the REST JSON round trip unchanged (what --data reads)", () => {
    for (const e of entries.slice(0, 500)) {
      expect(auditLogEntryFromJson(auditLogEntryToJson(e))).toEqual(e);
    }
  });
});
