/**
 * Shared set-up of the client's integration tests: a distinctive fake PAT, the documentation's ten
 * entries plus four hand-made ones that exercise the filters the documentation's data leaves
 * uniform (other users, failures, IPv6, ties, nanoseconds, nodepool/team/user targets).
 */
import { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import type { AuditLogClientOptions } from "../../packages/client/src/client/config.js";
import type { AuditEntry } from "../../packages/client/src/domain/entry.js";
import type { ClarifaiError } from "../../packages/client/src/errors.js";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import type { FaultOptions } from "../../packages/emulator/src/options.js";

/** Distinctive, so a leak anywhere is found by a substring search. */
export const PAT = "pat-LEAKCHECK-3f9a1c7e5b2d4068a1b2";
export const OTHER_PAT = "pat-OTHER-USER-0123456789abcdef";
export const SEED_FILE = "test/fixtures/seed-entries.jsonl";

/** Four entries besides the documentation's (timestamps chosen around its 2025-01-15..17 span). */
export const EXTRA_ENTRIES: AuditLogEntry[] = [
  AuditLogEntry.fromPartial({
    timestamp: { seconds: 1737018000, nanos: 1 }, // 2025-01-16T09:00:00.000000001Z
    user: { id: "bob" },
    operation: 302,
    description: "Models deleted",
    targets: [{ model: { id: "dogs-vs-cats", appId: "testapp1" } }, { app: { id: "testapp1" } }],
    details: ["Delete model 'dogs-vs-cats'"],
    success: false,
    reqId: "req-bob-delete",
    sourceIp: "2001:db8::7",
  }),
  AuditLogEntry.fromPartial({
    timestamp: { seconds: 1737158400, nanos: 0 }, // 2025-01-18T00:00:00Z
    user: { id: "bob" },
    operation: 303,
    description: "Model versions created",
    targets: [
      { modelVersion: { id: "mv-1", appId: "testapp1" } },
      { model: { id: "dogs-vs-cats", appId: "testapp1" } },
    ],
    details: [],
    success: true,
    reqId: "req-bob-version",
    sourceIp: "10.1.2.3",
  }),
  AuditLogEntry.fromPartial({
    timestamp: { seconds: 1737158400, nanos: 0 }, // same instant: a tie
    user: { id: "carol" },
    operation: 1000,
    description: "Nodepools created",
    targets: [
      { nodepool: { id: "np-1", computeCluster: { id: "cc-1" } } },
      { computeCluster: { id: "cc-1" } },
    ],
    details: [],
    success: false,
    reqId: "req-carol-nodepool",
    sourceIp: "10.1.2.3",
  }),
  AuditLogEntry.fromPartial({
    timestamp: { seconds: 1737021600, nanos: 500_000_000 }, // 2025-01-16T10:00:00.5Z
    user: { id: "alfrick" },
    operation: 110,
    description: "Organization team members added",
    targets: [{ team: { id: "team-a" } }, { user: { id: "dave" } }],
    details: ["Add 'dave' to 'team-a'"],
    success: true,
    reqId: "req-team-add",
    sourceIp: "3.234.120.41",
  }),
];

/** An entry's identity in assertions: time and operation (unique in this data set). */
export const key = (entry: AuditEntry): string => `${entry.timestampIso} ${entry.operationName}`;

export interface Harness {
  emu: EmulatorHandle;
  client(options?: AuditLogClientOptions): AuditLogClient;
  close(): Promise<void>;
}

/** Starts an emulator (alfrick's log holds the data) and makes clients for it. */
export async function harness(
  opts: { entries?: AuditLogEntry[]; dataFiles?: string[]; faults?: Partial<FaultOptions> } = {},
): Promise<Harness> {
  const emu = await startEmulator({
    pats: { [PAT]: "alfrick", [OTHER_PAT]: "bob" },
    entries: opts.entries ?? EXTRA_ENTRIES,
    dataFiles: opts.dataFiles ?? [SEED_FILE],
    restPort: false,
    faults: opts.faults,
  });
  const clients: AuditLogClient[] = [];
  return {
    emu,
    client(options: AuditLogClientOptions = {}) {
      const c = new AuditLogClient({
        pat: PAT,
        userId: "alfrick",
        endpoint: emu.grpcAddress,
        insecure: true,
        retry: { initialDelayMs: 5, maxDelayMs: 50 },
        ...options,
      });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      await emu.close();
    },
  };
}

/** The error `p` rejects with (kept in `seen` when given, for a PAT check); fails when it resolves. */
export async function failure(p: Promise<unknown>, seen?: unknown[]): Promise<ClarifaiError> {
  try {
    await p;
  } catch (e) {
    seen?.push(e);
    return e as ClarifaiError;
  }
  throw new Error("expected the call to fail");
}
