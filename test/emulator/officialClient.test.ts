/**
 * Two independent clients, one wire format: Clarifai's official Node client (ClarifaiStub.grpc(),
 * TLS, protobufjs codecs) and our ts-proto V2Client ask the emulator the same questions over TLS
 * and must get the same entries. The official client runs in a child process with the test CA in
 * GRPC_DEFAULT_SSL_ROOTS_FILE_PATH and the emulator in CLARIFAI_GRPC_BASE.
 */
import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { promisify } from "node:util";
import { credentials, Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect, test } from "@jest/globals";
import {
  type AuditLogEntry,
  AuditLogQuery,
  EventType,
} from "../../packages/client/generated/proto/clarifai/api/resources.js";
import type {
  MultiAuditLogEntryResponse,
  PostAuditLogSearchesRequest,
} from "../../packages/client/generated/proto/clarifai/api/service.js";
import { TARGET_KIND_JSON_NAMES, TARGET_KINDS } from "../../packages/client/src/domain/targets.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { V2Client } from "../../packages/emulator/src/v2Grpc.js";
import { makeTestTls, type TestTls } from "../helpers/tls.js";
import { fixtureEntries, PAT, USER } from "./helpers.js";

const run = promisify(execFile);
const SCRIPT = new URL("./officialClient.cjs", import.meta.url).pathname;

let tls: TestTls;
let emu: EmulatorHandle;
beforeAll(async () => {
  tls = makeTestTls();
  emu = await startEmulator({
    tls: { cert: tls.cert, key: tls.key },
    entries: [...fixtureEntries(), ...generateEntries(600, 11)],
  });
});
afterAll(async () => {
  await emu?.close();
  if (tls) rmSync(tls.dir, { recursive: true, force: true });
});

function normalize(e: AuditLogEntry) {
  return {
    seconds: String(e.timestamp?.seconds ?? 0),
    nanos: e.timestamp?.nanos ?? 0,
    user: e.user?.id ?? "",
    operation: e.operation,
    description: e.description,
    targets: e.targets.map((t) => {
      const i = TARGET_KINDS.findIndex((k) => t[k] !== undefined);
      const kind = TARGET_KINDS[i] as (typeof TARGET_KINDS)[number];
      return `${TARGET_KIND_JSON_NAMES[kind]}:${(t[kind] as { id: string }).id}`;
    }),
    details: e.details,
    success: e.success,
    req_id: e.reqId,
    source_ip: e.sourceIp,
  };
}

/** The same queries in both clients' request forms. */
const QUERIES: { official: Record<string, unknown>; ours: Partial<PostAuditLogSearchesRequest> }[] = [
  { official: {}, ours: {} },
  { official: { pagination: { page: 2, per_page: 50 } }, ours: { pagination: { page: 2, perPage: 50 } } },
  {
    official: { sort_ascending: true, pagination: { per_page: 1000 } },
    ours: { sortAscending: true, pagination: { page: 0, perPage: 1000 } },
  },
  {
    official: {
      query: { operations: [EventType.MODEL_CREATE, EventType.DEPLOYMENT_CREATE], success: { value: true } },
    },
    ours: {
      query: AuditLogQuery.fromPartial({
        operations: [EventType.MODEL_CREATE, EventType.DEPLOYMENT_CREATE],
        success: true,
      }),
    },
  },
  {
    official: {
      query: {
        timestamp_from: { seconds: "1737115206", nanos: 599812000 },
        timestamp_to: { seconds: "1737115495", nanos: 449860000 },
      },
    },
    ours: {
      query: AuditLogQuery.fromPartial({
        timestampFrom: { seconds: 1737115206, nanos: 599812000 },
        timestampTo: { seconds: 1737115495, nanos: 449860000 },
      }),
    },
  },
  {
    official: { query: { targets: [{ app: { id: "testapp1" } }], user_ids: ["alfrick"] } },
    ours: {
      query: AuditLogQuery.fromPartial({ targets: [{ app: { id: "testapp1" } }], userIds: ["alfrick"] }),
    },
  },
  {
    official: { query: { success: { value: false } } },
    ours: { query: AuditLogQuery.fromPartial({ success: false }) },
  },
];

test("the official clarifai-nodejs-grpc client and our generated client get the same entries over TLS", async () => {
  const official = await run(
    process.execPath,
    [SCRIPT, JSON.stringify(QUERIES.map((q) => ({ user_app_id: { user_id: USER }, ...q.official }))), PAT],
    {
      env: {
        ...process.env,
        NODE_OPTIONS: "",
        CLARIFAI_GRPC_BASE: `localhost:${emu.grpcAddress.split(":").pop()}`,
        GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: tls.caPath,
      },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const theirs = JSON.parse(official.stdout) as { code: number; entries: ReturnType<typeof normalize>[] }[];

  const client = new V2Client(`localhost:${emu.grpcAddress.split(":").pop()}`, credentials.createSsl(tls.ca));
  const md = new Metadata();
  md.set("authorization", `Key ${PAT}`);
  try {
    for (const [i, q] of QUERIES.entries()) {
      const req: PostAuditLogSearchesRequest = {
        userAppId: { userId: USER, appId: "" },
        query: undefined,
        sortAscending: false,
        pagination: undefined,
        ...q.ours,
      };
      const ours = await new Promise<MultiAuditLogEntryResponse>((resolve, reject) =>
        client.postAuditLogSearches(req, md, (err, r) => (err ? reject(err) : resolve(r))),
      );
      expect(theirs[i]?.code).toBe(10000);
      expect(ours.status?.code).toBe(10000);
      expect(ours.entries.length).toBeGreaterThan(0);
      expect(theirs[i]?.entries).toEqual(ours.entries.map(normalize));
    }
  } finally {
    client.close();
  }
});

test("REST is served over https with the same certificate", async () => {
  const url = new URL(`${emu.restUrl}/v2/users/${USER}/audit_log/searches`);
  expect(url.protocol).toBe("https:");
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(
      url,
      { method: "POST", ca: tls.ca, servername: "localhost", headers: { authorization: `Key ${PAT}` } },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => resolve(text));
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify({ pagination: { per_page: 5 } }));
  });
  const json = JSON.parse(body) as { status: { code: number }; entries: unknown[] };
  expect(json.status.code).toBe(10000);
  expect(json.entries.length).toBe(5);
});
