/**
 * `sync` into Splunk HEC as a library (runSync into createHecStore, the at-least-once delivery store
 * over the HEC transport) against the emulator and the test collector (test/helpers/hecServer.ts):
 * every entry arrives with its id and exact time, a second run re-reading the reconcile window
 * sends nothing again, nothing is marked delivered before the collector acknowledges it (a run
 * stopped between the send and the ack sends that commit again), and every refusal (no token, no
 * state file, an unreadable CA file, an invalid token, an unknown CA, a wrong host name) is one
 * line before anything is sent or written.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DestinationOptions } from "../../packages/cli/src/sync/destination.js";
import { epochSeconds } from "../../packages/cli/src/sync/hec/protocol.js";
import { createHecStore } from "../../packages/cli/src/sync/hec/store.js";
import { parseHecUrl } from "../../packages/cli/src/sync/hec/url.js";
import { SyncUsageError } from "../../packages/cli/src/sync/store.js";
import { runSync } from "../../packages/cli/src/sync/sync.js";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { exportEntryFromMessage } from "../../packages/client/src/export/exportEntry.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { tempDir } from "../cli/helpers.js";
import { type HecServer, startHecServer } from "../helpers/hecServer.js";
import { makeTestTls, type TestTls } from "../helpers/tls.js";
import { waitFor } from "../helpers/waitFor.js";

const USERS = ["all", "stop", "refused"] as const;
const pat = (u: string) => `hec-store-${u}-0123456789abcdef`;
const ENTRIES: Record<string, AuditLogEntry[]> = {
  all: generateEntries(240, 71),
  stop: generateEntries(120, 72),
  refused: generateEntries(10, 73),
};

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let tls: TestTls;
let hec: HecServer;

beforeAll(async () => {
  tmp = tempDir();
  tls = makeTestTls();
  [emu, hec] = await Promise.all([
    startEmulator({ pats: Object.fromEntries(USERS.map((u) => [pat(u), u])), entries: [], restPort: false }),
    startHecServer({ tls }),
  ]);
  for (const u of USERS) emu.append(ENTRIES[u] as AuditLogEntry[], u);
}, 60_000);

afterAll(async () => {
  await Promise.all([emu?.close(), hec?.close()]);
  tmp?.cleanup();
});

const client = (u: string) =>
  new AuditLogClient({ pat: pat(u), userId: u, endpoint: emu.grpcAddress, insecure: true });

function options(statePath: string, o: Partial<DestinationOptions> = {}): DestinationOptions {
  return { env: {}, format: "json", statePath, ca: tls.caPath, hecToken: hec.token, account: "prod", ...o };
}

const FAST = { timing: { ackPollMs: 5, backoffMs: 20, maxBackoffMs: 100 } };

async function sync(u: string, url: string, o: DestinationOptions, signal?: AbortSignal) {
  const c = client(u);
  try {
    return await runSync({
      client: c,
      store: await createHecStore(parseHecUrl(url), {
        ...o,
        ...FAST,
        ...(signal !== undefined ? { signal } : {}),
      }),
      settleMs: 0,
      reconcileMs: 3650 * 86_400_000,
      perPage: 25,
      commitEntries: 40,
      commitIntervalMs: 0,
      concurrency: 2,
      ...(signal !== undefined ? { signal } : {}),
    });
  } finally {
    c.close();
  }
}

/** id → expected `time` text, for `u`'s log. */
function expected(u: string): Map<string, string> {
  return new Map(
    (ENTRIES[u] as AuditLogEntry[]).map((m) => {
      const e = exportEntryFromMessage(m);
      return [e.key(), epochSeconds(e.timestamp)];
    }),
  );
}

/** How often each id of `u`'s account reached the collector, by channel-free id. */
function countsOf(ids: Iterable<string>): Map<string, number> {
  const want = new Set(ids);
  const out = new Map<string, number>();
  for (const e of hec.events) if (want.has(e.id)) out.set(e.id, (out.get(e.id) ?? 0) + 1);
  return out;
}

it("delivers every entry once with its id and exact time; a second run over the reconcile window sends nothing again", async () => {
  const state = join(tmp.dir, "all.json");
  const want = expected("all");
  const first = await sync("all", hec.url("batch_events=16"), options(state));
  expect(first.inserted).toBe(want.size);
  const counts = countsOf(want.keys());
  expect(counts.size).toBe(want.size);
  expect([...counts.values()].every((n) => n === 1)).toBe(true);
  const times = new Map(hec.events.filter((e) => want.has(e.id)).map((e) => [e.id, e.time]));
  expect([...times].filter(([id, t]) => want.get(id) !== t)).toEqual([]);

  const second = await sync("all", hec.url("batch_events=16"), options(state));
  expect(second.inserted).toBe(0);
  expect([...countsOf(want.keys()).values()].every((n) => n === 1)).toBe(true);
});

it("nothing is marked delivered before the ack: a run stopped between send and ack sends that commit again, and only it", async () => {
  const state = join(tmp.dir, "stop.json");
  const want = expected("stop");
  const bodies = hec.bodies.length;
  hec.setAckDelay(Number.POSITIVE_INFINITY);
  const stop = new AbortController();
  const run = sync("stop", hec.url(), options(state), stop.signal).catch((e: Error) => e);
  try {
    await waitFor(() => hec.bodies.length > bodies, { what: "the first commit's batch taken" });
  } finally {
    stop.abort();
    hec.setAckDelay(0);
  }
  expect(await run).toBeInstanceOf(Error);
  const unacked = countsOf(want.keys());
  expect(unacked.size).toBeGreaterThan(0);
  // One commit (40 entries) was sent, and it was not marked: the next run sends it again.
  expect(unacked.size).toBeLessThanOrEqual(40);

  const again = await sync("stop", hec.url(), options(state));
  expect(again.inserted).toBe(want.size);
  const counts = countsOf(want.keys());
  expect(counts.size).toBe(want.size);
  for (const [id, n] of counts) expect([id, n]).toEqual([id, unacked.has(id) ? 2 : 1]);
});

describe("refusals: one line, before anything is sent or written", () => {
  async function refused(o: DestinationOptions, url = hec.url()): Promise<string> {
    const posts = hec.requests.length;
    const before =
      o.statePath !== undefined && existsSync(o.statePath) ? readFileSync(o.statePath) : undefined;
    const error = await sync("refused", url, o).catch((e: Error) => e);
    expect(error).toBeInstanceOf(SyncUsageError);
    const message = (error as Error).message;
    expect(message).not.toContain("\n");
    expect(message).not.toContain(hec.token);
    expect(hec.requests.slice(posts).filter((r) => r.path.startsWith("/services/collector/event"))).toEqual(
      [],
    );
    // Nothing marked delivered: a file that was there is as it was; a new one (the store writes its
    // channel at once) holds no sync state.
    if (o.statePath !== undefined && before !== undefined) expect(readFileSync(o.statePath)).toEqual(before);
    else if (o.statePath !== undefined && existsSync(o.statePath))
      expect(JSON.parse(readFileSync(o.statePath, "utf8")).state).toBeUndefined();
    return message;
  }

  it("no token names CLARIFAI_AUDIT_HEC_TOKEN; no state file names `statePath`", async () => {
    const { hecToken: _t, ...noToken } = options(join(tmp.dir, "r1.json"));
    expect(await refused(noToken)).toMatch(/no HEC token: set CLARIFAI_AUDIT_HEC_TOKEN/);
    const { statePath: _s, ...noState } = options("");
    expect(await refused(noState)).toMatch(/local state file: give `statePath`/);
  });

  it("a CA file that is missing or holds no certificate", async () => {
    expect(await refused(options(join(tmp.dir, "r2.json"), { ca: join(tmp.dir, "none.pem") }))).toMatch(
      /`ca`: .*none\.pem does not exist/,
    );
    const junk = join(tmp.dir, "junk.pem");
    writeFileSync(junk, "not a certificate\n");
    expect(await refused(options(join(tmp.dir, "r2.json"), { ca: junk }))).toMatch(
      /holds no PEM certificate/,
    );
  });

  it("an invalid token, with a state file already there: left as it was", async () => {
    const state = join(tmp.dir, "r3.json");
    await sync("refused", hec.url(), options(state));
    const m = await refused(options(state, { hecToken: "0badc0de-0000-4000-8000-123456789abc" }));
    expect(m).toMatch(/the HEC token was refused \(HTTP 403, code 4 "Invalid token"\)/);
    expect(m).not.toContain("0badc0de-0000-4000-8000-123456789abc");
  });

  it("a certificate of an unknown CA, or for another host name", async () => {
    const { ca: _c, ...nodeRoots } = options(join(tmp.dir, "r4.json"));
    expect(await refused(nodeRoots)).toMatch(/the TLS connection was refused \(/);
    const other = await startHecServer({ tls, host: "127.0.0.2", tokens: [hec.token] });
    try {
      expect(await refused(options(join(tmp.dir, "r5.json")), other.url())).toMatch(
        /the TLS connection was refused \(ERR_TLS_CERT_ALTNAME_INVALID: /,
      );
    } finally {
      await other.close();
    }
  });
});
