/**
 * Realistic audit-log pages for the decode benchmarks: microsecond timestamps, a full `User`,
 * 2–3 targets of all kinds, one or two details, IPv4 and IPv6 sources. Deterministic per seed.
 */
import {
  AuditLogEntry,
  type AuditLogTarget,
  type DeepPartial,
  type User,
} from "@clarifai-audit/client/internal/generated/proto/clarifai/api/resources.js";
import { MultiAuditLogEntryResponse } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/service.js";
import { Status } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/status/status.js";
import { Rng } from "@clarifai-audit/emulator/internal/rng.js";

/** The emulator's seeded PRNG, as a function. */
function rng(seed: number): () => number {
  const g = new Rng(seed);
  return () => g.next();
}

const FIRST = ["Alfrick", "Maria", "Kwame", "Sofia", "Wei", "Priya", "Jonas", "Amara", "Ana", "Tom"];
const LAST = ["Opidi", "Chen", "Mensah", "Rossi", "Li", "Nair", "Berg", "Okafor", "Silva", "Reed"];
const OPS = [100, 107, 110, 200, 203, 300, 301, 303, 400, 403, 600, 601, 700, 800, 900, 1000, 1100];

function hex(r: () => number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += "0123456789abcdef"[Math.floor(r() * 16)];
  return s;
}

function fullUser(r: () => number, i: number): DeepPartial<User> {
  const first = FIRST[i % FIRST.length] as string;
  const last = LAST[(i * 7) % LAST.length] as string;
  const id = `${first.toLowerCase()}-${last.toLowerCase()}-${i}`;
  const ts = (base: number) => ({
    seconds: base + Math.floor(r() * 1e7),
    nanos: Math.floor(r() * 1e6) * 1000,
  });
  return {
    id,
    primaryEmail: `${id}@example.com`,
    firstName: first,
    lastName: last,
    companyName: "Clarifai",
    jobTitle: "Dev",
    jobRole: "Data Science / Machine Learning",
    intention: "Train a custom model",
    referralSource: "search",
    billType: "enterprise",
    createdAt: ts(1704067200),
    dateGdprConsent: ts(1704067200),
    dateTosConsent: ts(1704067200),
    dateMarketingConsent: ts(1704067200),
    twoFactorAuthEnabled: r() < 0.5,
    teamsCount: Math.floor(r() * 5),
    visibility: { gettable: 10 },
  };
}

function target(r: () => number, app: string): DeepPartial<AuditLogTarget> {
  const id = `${["dogs", "cats", "general", "retail", "ocr"][Math.floor(r() * 5)]}-${hex(r, 6)}`;
  switch (Math.floor(r() * 13)) {
    case 0:
      return { user: { id } };
    case 1:
      return { role: { id } };
    case 2:
      return { team: { id, name: `Team ${id}` } };
    case 3:
      return { app: { id: app } };
    case 4:
      return { module: { id, appId: app } };
    case 5:
      return { moduleVersion: { id: hex(r, 32), appId: app } };
    case 6:
      return { workflow: { id, appId: app } };
    case 7:
      return { workflowVersion: { id: hex(r, 32), appId: app } };
    case 8:
      return { model: { id, appId: app } };
    case 9:
      return { modelVersion: { id: hex(r, 32), appId: app } };
    case 10:
      return { computeCluster: { id } };
    case 11:
      return { nodepool: { id } };
    default:
      return { deployment: { id } };
  }
}

/** `count` realistic entries, newest first as the API returns them. */
export function benchEntries(count: number, seed = 1): AuditLogEntry[] {
  const r = rng(seed);
  const users = Array.from({ length: 20 }, (_, i) => fullUser(r, i));
  const out: AuditLogEntry[] = [];
  let t = 1737115495;
  for (let i = 0; i < count; i++) {
    t -= Math.floor(r() * 30);
    const app = `app-${hex(r, 4)}`;
    const nTargets = 2 + Math.floor(r() * 2);
    const ipv6 = r() < 0.2;
    out.push(
      AuditLogEntry.fromPartial({
        timestamp: { seconds: t, nanos: Math.floor(r() * 1e6) * 1000 },
        user: users[Math.floor(r() * users.length)],
        operation: OPS[Math.floor(r() * OPS.length)],
        description: "Models created",
        targets: Array.from({ length: nTargets }, () => target(r, app)),
        details:
          r() < 0.5 ? [`Create model '${hex(r, 8)}'`] : [`Update '${hex(r, 8)}'`, 'Changed: name, "notes"'],
        success: r() < 0.9,
        reqId: `webportal-${hex(r, 32)}`,
        sourceIp: ipv6 ? `2001:db8::${hex(r, 4)}` : `3.${Math.floor(r() * 255)}.120.${Math.floor(r() * 255)}`,
      }),
    );
  }
  return out;
}

/** The serialized `MultiAuditLogEntryResponse` of a page of `entries`. */
export function pageBytes(entries: AuditLogEntry[]): Buffer {
  const bytes = MultiAuditLogEntryResponse.encode({
    status: Status.fromPartial({ code: 10000, description: "Ok", reqId: `bench-${entries.length}` }),
    entries,
  }).finish();
  return Buffer.from(bytes);
}
