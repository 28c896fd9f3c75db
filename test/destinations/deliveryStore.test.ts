/**
 * The at-least-once core of the stream destinations (packages/cli/src/sync/delivery/deliveryStore.ts)
 * fed by runSync against the emulator, through a small transport of this test over a real TCP
 * socket (one line per message, each batch confirmed by the receiver's line of its count): every
 * entry delivered once across runs with growth and late entries re-offered by the reconcile window;
 * a failed send marks nothing delivered and a later run delivers it; the state file's refusals (a
 * second writer, another destination or account, another identity, a damaged file) come before
 * anything is sent; format ocsf sends OCSF events. SIGKILL at the crash points: syslogCrash.test.ts
 * (a real rsyslog).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import {
  createDeliveryStore,
  type DeliveryMessage,
  type DeliveryTransport,
} from "../../packages/cli/src/sync/delivery/deliveryStore.js";
import { SyncUsageError } from "../../packages/cli/src/sync/store.js";
import { runSync } from "../../packages/cli/src/sync/sync.js";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { lineKey } from "../../packages/client/src/domain/entryKey.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { tempDir } from "../cli/helpers.js";
import { linesOf } from "../sync/syncHelpers.js";

/** A receiver of `ID BODY` lines that answers each `END n` with `OK n` (or drops the socket when told to). */
class LineReceiver {
  readonly lines: { id: string; body: string }[] = [];
  refuseNext = 0;
  private readonly server: Server;
  port = 0;

  constructor() {
    this.server = createServer((socket: Socket) => {
      let buf = "";
      let batch = 0;
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => {
        buf += chunk;
        let nl = buf.indexOf("\n");
        while (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          nl = buf.indexOf("\n");
          if (line.startsWith("END ")) {
            if (this.refuseNext > 0) {
              this.refuseNext--;
              this.lines.splice(this.lines.length - batch, batch);
              socket.destroy();
              return;
            }
            socket.write(`OK ${batch}\n`);
            batch = 0;
          } else {
            const sp = line.indexOf(" ");
            this.lines.push({ id: line.slice(0, sp), body: line.slice(sp + 1) });
            batch++;
          }
        }
      });
      socket.on("error", () => {});
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as { port: number }).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The transport of LineReceiver: one connection; a batch is confirmed by its `OK n`. */
function lineTransport(port: number, sent: DeliveryMessage[][]): DeliveryTransport {
  let socket: Socket | undefined;
  const connect = () =>
    new Promise<Socket>((resolve, reject) => {
      const s = netConnect(port, "127.0.0.1", () => resolve(s));
      s.once("error", reject);
    });
  return {
    description: `line://127.0.0.1:${port}`,
    async connect() {
      socket = await connect();
    },
    async send(messages) {
      socket ??= await connect();
      const s = socket;
      const confirmed = new Promise<void>((resolve, reject) => {
        s.setEncoding("utf8");
        s.once("data", (d: string) => (d.startsWith("OK ") ? resolve() : reject(new Error(d))));
        s.once("close", () => reject(new Error("the receiver dropped the connection")));
      });
      s.write(`${messages.map((m) => `${m.id} ${m.body}\n`).join("")}END ${messages.length}\n`);
      try {
        await confirmed;
      } catch (error) {
        socket = undefined;
        throw error;
      }
      s.removeAllListeners("close");
      sent.push([...messages]);
    },
    async close() {
      socket?.destroy();
      socket = undefined;
    },
  };
}

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let rx: LineReceiver;
const USERS = ["rounds", "fail", "refuse", "ocsf"];
const pat = (u: string) => `delivery-pat-${u}-0123456789abcdef`;

beforeAll(async () => {
  tmp = tempDir();
  rx = new LineReceiver();
  const pats: Record<string, string> = {};
  for (const u of USERS) pats[pat(u)] = u;
  [emu] = await Promise.all([startEmulator({ pats, entries: [], restPort: false }), rx.start()]);
}, 60_000);

afterAll(async () => {
  await emu?.close();
  await rx?.close();
  tmp?.cleanup();
});

let seed = 900;
/** `n` entries evenly over the `spanMs` ending `endsAgoMs` before now, a distinct microsecond each. */
function recent(n: number, spanMs: number, endsAgoMs: number): AuditLogEntry[] {
  const end = Date.now() - endsAgoMs;
  return generateEntries(n, ++seed).map((e, i) => {
    const us = Math.floor((end - spanMs + (spanMs * i) / Math.max(1, n - 1)) * 1000) + i;
    return { ...e, timestamp: { seconds: Math.floor(us / 1e6), nanos: (us % 1e6) * 1000 } };
  });
}

/**
 * `n` entries after `sinceMs` (a run's end) and before now: newer than every run's high-water mark,
 * growth at the head, never late.
 */
async function after(sinceMs: number, n: number): Promise<AuditLogEntry[]> {
  // Waits for the clock to pass the instant, not for any work to end.
  while (Date.now() < sinceMs + 2 * n + 4) await new Promise((resolve) => setTimeout(resolve, 2));
  const end = Date.now() - 1;
  return generateEntries(n, ++seed).map((e, i) => {
    const us = Math.floor((sinceMs + 1 + ((end - sinceMs - 1) * i) / n) * 1000) + i;
    return { ...e, timestamp: { seconds: Math.floor(us / 1e6), nanos: (us % 1e6) * 1000 } };
  });
}

const clientOf = (u: string) =>
  new AuditLogClient({ pat: pat(u), userId: u, endpoint: emu.grpcAddress, insecure: true });
const sync = (client: AuditLogClient, store: ReturnType<typeof createDeliveryStore>) =>
  runSync({
    client,
    store,
    settleMs: 0,
    reconcileMs: 60_000,
    perPage: 10,
    commitIntervalMs: 0,
    commitEntries: 7,
  });

it("delivers every entry once across runs with growth and late entries, as its JSON with its key", async () => {
  const client = clientOf("rounds");
  const statePath = join(tmp.dir, "rounds", "state.json");
  const sent: DeliveryMessage[][] = [];
  const store = () =>
    createDeliveryStore({
      statePath,
      transport: lineTransport(rx.port, sent),
      format: "json",
      destination: `line://127.0.0.1:${rx.port}`,
    });
  const start = rx.lines.length;
  const all: AuditLogEntry[] = [];
  const add = (e: AuditLogEntry[]) => {
    all.push(...e);
    emu.append(e, "rounds");
  };
  try {
    add(recent(40, 20_000, 5_000));
    expect((await sync(client, store())).inserted).toBe(40);
    add(await after(Date.now(), 15)); // growth at the head
    add(recent(9, 10_000, 3_000)); // late: behind the high-water mark, inside the reconcile window
    const second = await sync(client, store());
    expect(second.inserted).toBe(24);
    expect(second.late).toBe(9);
    expect((await sync(client, store())).inserted).toBe(0);
  } finally {
    client.close();
  }
  const got = rx.lines.slice(start);
  const want = linesOf(all);
  expect(got.map((l) => l.id).sort()).toEqual(want.map(lineKey).sort());
  expect(new Set(got.map((l) => l.body))).toEqual(new Set(want));
  // A commit holds less than commitEntries plus one page (the bound of a repeat after a crash).
  expect(Math.max(...sent.map((b) => b.length))).toBeLessThanOrEqual(7 + 10 - 1);
  const file = JSON.parse(readFileSync(statePath, "utf8"));
  expect(file).toMatchObject({
    kind: "clarifai-audit-delivery",
    schemaVersion: 1,
    destination: `line://127.0.0.1:${rx.port}`,
  });
  expect(file.state.totals).toEqual({ entries: 64, late: 9, runs: 3 });
  expect(file.channel).toMatch(/^[0-9a-f-]{36}$/);
});

it("marks nothing delivered when a send fails, and a later run delivers it", async () => {
  const client = clientOf("fail");
  const statePath = join(tmp.dir, "fail", "state.json");
  const destination = `line://127.0.0.1:${rx.port}`;
  const store = () =>
    createDeliveryStore({ statePath, transport: lineTransport(rx.port, []), format: "json", destination });
  const start = rx.lines.length;
  const entries = recent(20, 5_000, 1_000);
  emu.append(entries, "fail");
  try {
    rx.refuseNext = 1;
    await expect(sync(client, store())).rejects.toThrow(/dropped the connection/);
    const before = JSON.parse(readFileSync(statePath, "utf8"));
    // The pinned window was committed (no entries); the entries' batch was not.
    expect(before.state.totals.entries).toBe(0);
    expect(before.keys).toBe("");
    const channel = before.channel as string;
    expect((await sync(client, store())).inserted).toBe(20);
    expect(JSON.parse(readFileSync(statePath, "utf8")).channel).toBe(channel);
  } finally {
    client.close();
  }
  const ids = rx.lines.slice(start).map((l) => l.id);
  expect(ids.sort()).toEqual(linesOf(entries).map(lineKey).sort());
});

it("refuses a second writer, another destination's or account's file, another identity and a damaged file, before sending", async () => {
  const client = clientOf("refuse");
  const dir = join(tmp.dir, "refuse");
  const statePath = join(dir, "state.json");
  const destination = `line://127.0.0.1:${rx.port}`;
  const make = (o: { destination?: string; account?: string } = {}) =>
    createDeliveryStore({
      statePath,
      transport: lineTransport(rx.port, []),
      format: "json",
      destination: o.destination ?? destination,
      ...(o.account !== undefined ? { account: o.account } : {}),
    });
  emu.append(recent(5, 2_000, 1_000), "refuse");
  try {
    await sync(client, make());
    const start = rx.lines.length;
    const saved = readFileSync(statePath, "utf8");
    const identity = JSON.parse(saved).state.identity;

    const first = make();
    await first.open(identity);
    await expect(make().open(identity)).rejects.toThrow(/another sync is delivering to line:.*is locked/);
    await first.close();

    const other = make({ destination: "line://elsewhere:1" });
    await expect(other.open(identity)).rejects.toThrow(
      `${statePath} is the delivery state of destination ${destination}, not of destination line://elsewhere:1; nothing was changed`,
    );
    await expect(make({ account: "prod" }).open(identity)).rejects.toThrow(
      /not of account prod for destination/,
    );
    await expect(make().open({ ...identity, userId: "someone" })).rejects.toThrow(
      /holds the log of user refuse .*this sync asks for .*someone/,
    );
    writeFileSync(statePath, saved.replace(/"keys":"[^"]*"/, '"keys":"!!"'));
    const damaged = make().open(identity);
    await expect(damaged).rejects.toBeInstanceOf(SyncUsageError);
    await expect(damaged).rejects.toThrow(/field \/keys is not base64; nothing was sent/);
    writeFileSync(statePath, saved.replace('"clarifai-audit-delivery"', '"clarifai-audit-alerts"'));
    await expect(make().open(identity)).rejects.toBeInstanceOf(SyncUsageError);
    expect(rx.lines.length).toBe(start);
  } finally {
    client.close();
  }
});

it("format ocsf: each message is the entry's OCSF event, its metadata.uid the entry's key and its raw_data the entry's JSON", async () => {
  const client = clientOf("ocsf");
  const sent: DeliveryMessage[][] = [];
  const entries = recent(12, 10_000, 2_000);
  emu.append(entries, "ocsf");
  try {
    const store = createDeliveryStore({
      statePath: join(tmp.dir, "ocsf", "state.json"),
      transport: lineTransport(rx.port, sent),
      format: "ocsf",
      account: "acct-1",
      destination: `line://127.0.0.1:${rx.port}/ocsf`,
    });
    expect((await sync(client, store)).inserted).toBe(12);
  } finally {
    client.close();
  }
  const messages = sent.flat();
  const want = linesOf(entries);
  expect(messages.map((m) => m.id).sort()).toEqual(want.map(lineKey).sort());
  for (const m of messages) {
    const event = JSON.parse(m.body) as {
      metadata: { uid: string; version: string };
      raw_data: string;
      class_uid: number;
    };
    expect(event.metadata.uid).toBe(m.id);
    expect(event.metadata.version).toBe("1.8.0");
    expect(event.raw_data).toBe(m.entry.json());
    expect(event.class_uid).toBeGreaterThan(0);
    expect(m.body).toContain("acct-1");
  }
});
