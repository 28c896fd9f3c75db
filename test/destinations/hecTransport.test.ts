/**
 * The Splunk HEC transport (packages/cli/src/sync/hec/transport.ts) against the test collector
 * (test/helpers/hecServer.ts, Splunk's documented protocol over HTTPS on 127.0.0.1): events carry
 * the entry id and the exact time; with indexer acknowledgement a send resolves only once every
 * batch is acknowledged, and a batch whose ack never comes is sent again; busy collectors (503,
 * 429) are waited for as Retry-After says; refusals (token, TLS, ack=on without acks, index) are
 * one-line SyncUsageErrors at connect, before any event is sent. URL parsing and the envelope's
 * pieces are checked here too.
 */
import type { DeliveryMessage } from "../../packages/cli/src/sync/delivery/deliveryStore.js";
import { epochSeconds, splitBatches } from "../../packages/cli/src/sync/hec/protocol.js";
import {
  createHecTransport,
  type HecTransport,
  retryAfterMs,
} from "../../packages/cli/src/sync/hec/transport.js";
import { parseHecUrl } from "../../packages/cli/src/sync/hec/url.js";
import { SyncUsageError } from "../../packages/cli/src/sync/store.js";
import { formatTimestampExact } from "../../packages/client/src/domain/time.js";
import { exportEntryFromMessage } from "../../packages/client/src/export/exportEntry.js";
import { generateEntries } from "../../packages/emulator/src/index.js";
import { type HecServer, splitEvents, startHecServer } from "../helpers/hecServer.js";
import { makeTestTls, type TestTls } from "../helpers/tls.js";
import { waitFor } from "../helpers/waitFor.js";

let tls: TestTls;
let acked: HecServer;
let unacked: HecServer;

beforeAll(async () => {
  tls = makeTestTls();
  [acked, unacked] = await Promise.all([
    startHecServer({ tls, indexes: ["main", "audit"] }),
    startHecServer({ tls, ack: false }),
  ]);
}, 30_000);

afterAll(async () => {
  await Promise.all([acked?.close(), unacked?.close()]);
});

let seed = 40;
function messages(n: number): DeliveryMessage[] {
  return generateEntries(n, ++seed).map((m) => {
    const e = exportEntryFromMessage(m);
    return { id: e.key(), timestamp: formatTimestampExact(e.timestamp), body: e.json(), entry: e };
  });
}

const FAST = { backoffMs: 20, maxBackoffMs: 100, ackPollMs: 5, ackTimeoutMs: 2_000, requestTimeoutMs: 5_000 };

function transport(
  server: HecServer,
  query: string,
  o: { token?: string; ca?: Buffer | null; timing?: object; url?: string } = {},
): HecTransport {
  return createHecTransport({
    target: parseHecUrl(o.url ?? server.url(query)),
    token: o.token ?? server.token,
    ...(o.ca === null ? {} : { ca: o.ca ?? tls.ca }),
    sourcetype: "clarifai:audit",
    account: "prod",
    timing: { ...FAST, ...o.timing },
  });
}

/** Sends and always closes. */
async function deliver(t: HecTransport, msgs: DeliveryMessage[]): Promise<void> {
  try {
    await t.connect();
    await t.send(msgs);
  } finally {
    await t.close();
  }
}

const eventPosts = (s: HecServer, from = 0) =>
  s.requests.slice(from).filter((r) => r.method === "POST" && r.path.startsWith("/services/collector/event"));

describe("URL", () => {
  it("reads host, port (8088 by default, 443 when written), index, source, sourcetype, ack and batch bounds", () => {
    expect(parseHecUrl("splunk+https://splunk.example.com?index=main")).toEqual({
      host: "splunk.example.com",
      port: 8088,
      plain: false,
      index: "main",
      ack: "auto",
      batchEvents: 1000,
      batchBytes: 1048576,
      description: "splunk+https://splunk.example.com:8088 (index main)",
    });
    expect(parseHecUrl("splunk+https://h:443/").port).toBe(443);
    expect(
      parseHecUrl(
        "splunk+https://[::1]:9000?source=s&sourcetype=t&host=x&ack=off&batch_events=5&batch_bytes=2048",
      ),
    ).toMatchObject({
      host: "::1",
      port: 9000,
      source: "s",
      sourcetype: "t",
      eventHost: "x",
      ack: "off",
      batchEvents: 5,
      batchBytes: 2048,
    });
    expect(parseHecUrl("splunk+http://127.0.0.1:8088").plain).toBe(true);
    expect(parseHecUrl("splunk+http://localhost").plain).toBe(true);
  });

  it.each([
    ["splunk+http://splunk.example.com", /plain HTTP would send the HEC token in clear/],
    [
      "splunk+https://user:s3cretpass@h",
      /holds user info; the HEC token is read from CLARIFAI_AUDIT_HEC_TOKEN/,
    ],
    ["splunk+https://h?token=s3cretpass", /never from the URL/],
    ["splunk+https://h?indx=main", /unknown parameter "indx"/],
    ["splunk+https://h?index=Main", /not a Splunk index name/],
    ["splunk+https://h?ack=yes", /ack="yes" is not one of auto, on, off/],
    ["splunk+https://h?batch_events=0", /batch_events="0" is not a whole number in 1-100000/],
    ["splunk+https://h/services/collector", /the URL takes no path/],
    ["splunk+https://h?index=a&index=b", /given twice/],
    ["splunk+https://h:99999", /not a URL/],
  ])("refuses %s in one line without the secret", (url, pattern) => {
    let error: unknown;
    try {
      parseHecUrl(url);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SyncUsageError);
    const message = (error as Error).message;
    expect(message).toMatch(pattern);
    expect(message).not.toContain("\n");
    expect(message).not.toContain("s3cretpass");
  });
});

describe("envelope", () => {
  it("writes epoch seconds with every digit, before and after 1970", () => {
    expect(epochSeconds({ seconds: 1712345678, nanos: 123456789 })).toBe("1712345678.123456789");
    expect(epochSeconds({ seconds: 1712345678, nanos: 120000000 })).toBe("1712345678.12");
    expect(epochSeconds({ seconds: 0, nanos: 0 })).toBe("0");
    expect(epochSeconds({ seconds: -1, nanos: 999999999 })).toBe("-0.000000001");
    expect(epochSeconds({ seconds: 253402300799, nanos: 999999999 })).toBe("253402300799.999999999");
    expect(epochSeconds({ seconds: -62135596800, nanos: 0 })).toBe("-62135596800");
  });

  it("splits batches by events and bytes, an oversized event alone, in order", () => {
    const e = ["a".repeat(10), "b".repeat(10), "c".repeat(30), "d".repeat(5)];
    expect(splitBatches(e, 2, 25)).toEqual([[e[0], e[1]], [e[2]], [e[3]]]);
    expect(splitBatches(e, 3, 1000)).toEqual([[e[0], e[1], e[2]], [e[3]]]);
    expect(splitEvents('{"time":"1.5","event":{"time":2}} {"event":"x","time":-3}')).toEqual([
      { text: '{"time":"1.5","event":{"time":2}}', time: "1.5" },
      { text: '{"event":"x","time":-3}', time: "-3" },
    ]);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs("2")).toBe(2000);
    expect(retryAfterMs(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(retryAfterMs("soon")).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe("delivery", () => {
  it("delivers every entry once with its id, exact time, index, sourcetype and account, batched, acknowledged", async () => {
    const msgs = messages(25);
    const from = acked.events.length;
    const posts = eventPosts(acked).length;
    const t = transport(acked, "index=audit&batch_events=10&source=clarifai");
    await deliver(t, msgs);
    expect(t.acknowledged).toBe(true);
    const got = acked.events.slice(from);
    expect(got.map((e) => e.id)).toEqual(msgs.map((m) => m.id));
    expect(got.map((e) => e.time)).toEqual(msgs.map((m) => epochSeconds(m.entry.timestamp)));
    // Nanoseconds survive: the time text read back is the entry's timestamp.
    expect(got.map((e) => e.envelope.event)).toEqual(msgs.map((m) => JSON.parse(m.body)));
    for (const e of got)
      expect(e.envelope).toMatchObject({
        index: "audit",
        source: "clarifai",
        sourcetype: "clarifai:audit",
        fields: { clarifai_entry_id: e.id, account: "prod" },
      });
    expect(eventPosts(acked).length - posts).toBe(3);
    expect(acked.pendingAcks()).toBe(0);
    expect(t.stats).toMatchObject({ batches: 3, resent: 0 });
  });

  it("with acknowledgement on, a send resolves only once the collector acknowledges every batch", async () => {
    const msgs = messages(12);
    const bodies = acked.bodies.length;
    acked.setAckDelay(Number.POSITIVE_INFINITY);
    const t = transport(acked, "batch_events=5&ack=on", { timing: { ackTimeoutMs: 60_000 } });
    let settled = false;
    try {
      await t.connect();
      const sent = t.send(msgs).finally(() => {
        settled = true;
      });
      await waitFor(() => acked.bodies.length - bodies === 3, { what: "the three batches taken" });
      // Polls keep coming back false: the send waits.
      const polls = t.stats.polls;
      await waitFor(() => t.stats.polls >= polls + 3, { what: "three more ack polls" });
      expect(settled).toBe(false);
      acked.setAckDelay(0);
      await sent;
    } finally {
      acked.setAckDelay(0);
      await t.close();
    }
    expect(t.stats.resent).toBe(0);
  });

  it("a batch whose ack never comes is sent again after the ack timeout; giving up is a plain Error", async () => {
    const msgs = messages(10);
    const from = acked.events.length;
    acked.lose(1);
    const t = transport(acked, "batch_events=4", { timing: { ackTimeoutMs: 200 } });
    await deliver(t, msgs);
    expect(t.stats.resent).toBe(1);
    expect(
      acked.events
        .slice(from)
        .map((e) => e.id)
        .sort(),
    ).toEqual(msgs.map((m) => m.id).sort());

    acked.lose(3);
    const gives = transport(acked, "", { timing: { ackTimeoutMs: 100, ackResends: 2 } });
    const error = await deliver(gives, messages(3)).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(SyncUsageError);
    expect(String(error)).toMatch(/a batch was not acknowledged within 100 ms, 3 times sent/);
  });

  it("acks off at the collector: ack=auto delivers on the 200, ack=on is refused at connect before any event", async () => {
    const msgs = messages(7);
    const from = unacked.events.length;
    const t = transport(unacked, "batch_events=3");
    await deliver(t, msgs);
    expect(t.acknowledged).toBe(false);
    expect(unacked.events.slice(from).map((e) => e.id)).toEqual(msgs.map((m) => m.id));

    const posts = eventPosts(unacked).length;
    const on = transport(unacked, "ack=on");
    const error = await deliver(on, msgs).catch((e: Error) => e);
    expect(error).toBeInstanceOf(SyncUsageError);
    expect((error as Error).message).toMatch(
      /indexer acknowledgement is off for this HEC token, and the URL says ack=on/,
    );
    expect(eventPosts(unacked).length).toBe(posts);
  });

  it("ack=off with a collector that acknowledges: delivered on the 200, no ack polls", async () => {
    const t = transport(acked, "ack=off");
    await deliver(t, messages(4));
    expect(t.acknowledged).toBe(false);
    expect(t.stats.polls).toBe(0);
  });

  it("503 and 429 wait as Retry-After says, then go on; without Retry-After, backoff; too many, a plain Error", async () => {
    const msgs = messages(5);
    const from = acked.requests.length;
    acked.fail(1, { status: 503, retryAfter: "1" });
    acked.fail(1, { status: 429, retryAfter: "1" });
    acked.fail(1, { status: 503 });
    const t = transport(acked, "");
    await deliver(t, msgs);
    const posts = eventPosts(acked, from);
    expect(posts.map((p) => p.status)).toEqual([503, 429, 503, 200]);
    // Retry-After: 1 honoured: each retry after a Retry-After came at least a second later.
    expect((posts[1]?.at ?? 0) - (posts[0]?.at ?? 0)).toBeGreaterThanOrEqual(990);
    expect((posts[2]?.at ?? 0) - (posts[1]?.at ?? 0)).toBeGreaterThanOrEqual(990);
    expect(t.stats.retries).toBe(3);
    expect(acked.counts().get(msgs[0]?.id as string)).toBe(1);

    acked.fail(4, { status: 503 });
    const gives = transport(acked, "", { timing: { attempts: 3 } });
    const error = await deliver(gives, messages(1)).catch((e: Error) => e);
    expect(error).not.toBeInstanceOf(SyncUsageError);
    expect(String(error)).toMatch(/no success after 3 attempts \(last: HTTP 503, code 9 "Server is busy"\)/);
    // The fourth fault is still queued: let a request take it.
    await deliver(transport(acked, ""), messages(1));
  }, 20_000);

  it("plain HTTP on loopback", async () => {
    const plain = await startHecServer({ plain: true, tls });
    try {
      const msgs = messages(3);
      await deliver(transport(plain, "", { ca: null }), msgs);
      expect(plain.events.map((e) => e.id)).toEqual(msgs.map((m) => m.id));
    } finally {
      await plain.close();
    }
  });
});

describe("refusals at connect: one line, the token never shown, no event sent", () => {
  async function refused(t: HecTransport, server: HecServer): Promise<string> {
    const before = eventPosts(server).length;
    const error = await deliver(t, messages(2)).catch((e: Error) => e);
    expect(error).toBeInstanceOf(SyncUsageError);
    expect(eventPosts(server).length).toBe(before);
    // Refused at once, not after the retries of a transient failure.
    expect(t.stats.retries).toBe(0);
    const message = (error as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }

  it("an invalid token (403 code 4)", async () => {
    const token = "0badc0de-0000-4000-8000-123456789abc";
    const m = await refused(transport(acked, "", { token }), acked);
    expect(m).toMatch(
      /the HEC token was refused \(HTTP 403, code 4 "Invalid token"\); check CLARIFAI_AUDIT_HEC_TOKEN/,
    );
    expect(m).not.toContain(token);
    expect(m).toContain(acked.url().replace("splunk+https://", ""));
  });

  it("a disabled token (403 code 1)", async () => {
    const s = await startHecServer({ tls, disabledTokens: ["disabled-token-0123456789"] });
    try {
      const m = await refused(transport(s, "", { token: "disabled-token-0123456789" }), s);
      expect(m).toMatch(/code 1 "Token disabled"/);
    } finally {
      await s.close();
    }
  });

  it("a certificate of an unknown CA (Node's roots only)", async () => {
    const m = await refused(transport(acked, "", { ca: null }), acked);
    expect(m).toMatch(
      /the TLS connection was refused \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY): /,
    );
  });

  it("a certificate of another CA", async () => {
    const other = makeTestTls();
    const m = await refused(transport(acked, "", { ca: other.ca }), acked);
    expect(m).toMatch(/the TLS connection was refused \(/);
  });

  it("a certificate for another host name", async () => {
    const s = await startHecServer({ tls, host: "127.0.0.2" });
    try {
      const m = await refused(transport(s, ""), s);
      expect(m).toMatch(/the TLS connection was refused \(ERR_TLS_CERT_ALTNAME_INVALID: /);
      expect(s.requests).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it("an index the token may not write (400 code 7) is refused at the first batch", async () => {
    const before = acked.events.length;
    const error = await deliver(transport(acked, "index=secret"), messages(2)).catch((e: Error) => e);
    expect(error).toBeInstanceOf(SyncUsageError);
    expect((error as Error).message).toMatch(
      /refuses the index secret \(HTTP 400, code 7 "Incorrect index", invalid event #0\)/,
    );
    expect(acked.events.length).toBe(before);
  });
});
