/**
 * Helpers for the watch tests: crafted entries and a real webhook receiver (node:http on loopback)
 * that can fail, hang, and records what it got.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { generateEntries } from "../../packages/emulator/src/index.js";
import { waitFor } from "../helpers/waitFor.js";

const template = generateEntries(1, 1)[0] as AuditLogEntry;
/** 2025-03-01T00:00:00Z: crafted entries are at BASE + offset seconds. */
export const BASE_SECONDS = 1740787200;
export const BASE_ISO = "2025-03-01T00:00:00Z";

let serial = 0;
/** One crafted entry. */
export function entry(
  offsetSeconds: number,
  fields: { operation: number; user?: string; success?: boolean; ip?: string },
): AuditLogEntry {
  serial++;
  return {
    ...template,
    timestamp: { seconds: BASE_SECONDS + offsetSeconds, nanos: (serial % 1000) * 1000 },
    operation: fields.operation,
    user: { ...(template.user as NonNullable<AuditLogEntry["user"]>), id: fields.user ?? "alice" },
    success: fields.success ?? true,
    sourceIp: fields.ip ?? "10.1.2.3",
    reqId: `watch-test-${serial}`,
    details: [`crafted ${serial}`],
  };
}

/** A request the receiver got. */
export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  /** The request's path (and query), e.g. `/hook/alerts-a`. */
  path: string;
}

/** A webhook receiver; `behave` decides each request's fate (default: 200). */
export interface Receiver {
  url: string;
  received: Received[];
  /** Per request (0-based count of requests so far): a status to answer, or "hang" (never answer). */
  behave: (n: number, body: string) => number | "hang";
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const hanging: Array<() => void> = [];
  let count = 0;
  const r: Receiver = {
    url: "",
    received: [],
    behave: () => 200,
    close: () =>
      new Promise<void>((resolve) => {
        for (const end of hanging) end();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d: string) => {
      body += d;
    });
    req.on("end", () => {
      const fate = r.behave(count++, body);
      if (fate === "hang") {
        hanging.push(() => res.destroy());
        return;
      }
      if (fate >= 200 && fate < 300) r.received.push({ headers: req.headers, body, path: req.url ?? "" });
      res.writeHead(fate, { "content-type": "text/plain" }).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return r;
}

/** Resolves when `pred` holds, or rejects after `ms` (see test/helpers/waitFor.ts). */
export function until(pred: () => boolean, ms = 20_000, what = "condition"): Promise<void> {
  return waitFor(pred, { timeoutMs: ms, what });
}
