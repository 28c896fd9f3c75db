/** Shared helpers of the emulator tests: the fixture, a raw generated gRPC client, REST calls. */
import { credentials, Metadata } from "@grpc/grpc-js";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import type {
  MultiAuditLogEntryResponse,
  PostAuditLogSearchesRequest,
} from "../../packages/client/generated/proto/clarifai/api/service.js";
import { loadEntriesFile } from "../../packages/emulator/src/index.js";
import { V2Client } from "../../packages/emulator/src/v2Grpc.js";

export const FIXTURE = new URL("../fixtures/seed-entries.jsonl", import.meta.url).pathname;
export const PAT = "emulator-pat";
export const USER = "emulator-user";

export function fixtureEntries(): AuditLogEntry[] {
  return loadEntriesFile(FIXTURE);
}

/** RFC 3339 with microseconds, computed without Date so precision is visible in assertions. */
export function tsOf(e: AuditLogEntry): string {
  const t = e.timestamp;
  if (t === undefined) return "none";
  return `${t.seconds}.${String(t.nanos).padStart(9, "0")}`;
}

export function request(partial: Partial<PostAuditLogSearchesRequest> = {}): PostAuditLogSearchesRequest {
  return {
    userAppId: { userId: USER, appId: "" },
    query: undefined,
    sortAscending: false,
    pagination: undefined,
    ...partial,
  };
}

export function grpcClient(address: string): V2Client {
  return new V2Client(address, credentials.createInsecure(), {
    "grpc.max_receive_message_length": 1024 * 1024 * 1024,
  });
}

export function grpcSearch(
  client: V2Client,
  req: PostAuditLogSearchesRequest,
  pat: string | null = PAT,
): Promise<MultiAuditLogEntryResponse> {
  const md = new Metadata();
  if (pat !== null) md.set("authorization", `Key ${pat}`);
  return new Promise((resolve, reject) => {
    client.postAuditLogSearches(req, md, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

export async function restSearch(
  restUrl: string,
  body: unknown,
  opts: { user?: string; pat?: string | null; raw?: string } = {},
): Promise<{ http: number; json: { status: Record<string, unknown>; entries?: Record<string, unknown>[] } }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  const pat = opts.pat === undefined ? PAT : opts.pat;
  if (pat !== null) headers.authorization = `Key ${pat}`;
  const res = await fetch(`${restUrl}/v2/users/${opts.user ?? USER}/audit_log/searches`, {
    method: "POST",
    headers,
    body: opts.raw ?? JSON.stringify(body),
  });
  return { http: res.status, json: (await res.json()) as never };
}
