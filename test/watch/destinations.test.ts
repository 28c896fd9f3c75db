/**
 * Webhook delivery (packages/cli/src/watch/destinations.ts) against an in-process HTTP server on 127.0.0.1, with
 * the waits between attempts on a ManualClock: which statuses are retried and after how long, what
 * is sent, that a redirect is not followed, and the dead-letter file, journal and start-up check.
 * The reply's 64 KiB bound, the attempt timeout and aborts are webhookBounds.test.ts's.
 * No child process, no wall-clock wait: a 60 s backoff costs nothing.
 */
import { once } from "node:events";
import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Alert } from "../../packages/cli/src/watch/alert.js";
import {
  checkWebhook,
  DeadLetter,
  DeliveryJournal,
  type DeliveryOptions,
  sendWithRetry,
  signature,
  webhookDestination,
} from "../../packages/cli/src/watch/destinations.js";
import { ManualClock } from "../helpers/manualClock.js";

const ALERT: Alert = {
  rule: "admin-deletes",
  title: "An app was deleted",
  severity: "high",
  time: "2024-01-01T00:00:00Z",
  key: "k1",
  group: null,
  entries: ['{"timestamp":"2024-01-01T00:00:00Z","operation":1,"user":{"id":"alice"}}'],
};
const JSON_BODY = '{"alert":"k1"}';

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A server answering request n (0-based) with `replies[min(n, last)]`; records what it was sent. */
interface Receiver {
  url: string;
  seen: Seen[];
  server: Server;
}

type Reply = number | { status: number; headers: Record<string, string> };

const receivers: Receiver[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
  for (const r of receivers.splice(0)) {
    r.server.closeAllConnections();
    await new Promise((resolve) => r.server.close(resolve));
  }
});

async function scratch(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "clarifai-audit-destinations-"));
  dirs.push(dir);
  return dir;
}

async function receiver(...replies: Reply[]): Promise<Receiver> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const reply = replies[Math.min(seen.length, replies.length - 1)] as Reply;
      seen.push({ path: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString() });
      const { status, headers } = typeof reply === "number" ? { status: reply, headers: {} } : reply;
      res.writeHead(status, headers).end("reply");
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const r = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, seen, server };
  receivers.push(r);
  return r;
}

/** Runs `sent` to its end, advancing the clock to each wait's end whenever the sender is waiting. */
async function drive<T>(clock: ManualClock, sent: Promise<T>): Promise<T> {
  let done = false;
  void sent.then(() => {
    done = true;
  });
  while (!done) {
    await Promise.race([clock.untilSleeping(), sent]);
    const at = clock.nextWakeAt;
    if (at !== undefined) await clock.advance(at - clock.now());
  }
  return sent;
}

function options(clock: ManualClock, more: Partial<DeliveryOptions> = {}): DeliveryOptions {
  return { attempts: 4, backoffMs: 1000, timeoutMs: 30_000, clock, ...more };
}

describe("webhook delivery", () => {
  it("a 2xx is delivered at the first attempt: the body, the alert key and the signature of the body", async () => {
    const r = await receiver(204);
    const clock = new ManualClock();
    const opts = options(clock, { secret: "s3cret" });
    const result = await sendWithRetry(webhookDestination(r.url, "json", opts), ALERT, JSON_BODY, opts);
    expect(result).toBeUndefined();
    expect(r.seen).toHaveLength(1);
    const [seen] = r.seen as [Seen];
    expect(seen.body).toBe(JSON_BODY);
    expect(seen.headers["content-type"]).toBe("application/json");
    expect(seen.headers["x-clarifai-audit-alert-key"]).toBe("k1");
    expect(seen.headers["x-clarifai-audit-signature"]).toBe(signature("s3cret", JSON_BODY));
    expect(seen.headers["x-clarifai-audit-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(clock.requested).toEqual([]);
  });

  it("a Slack webhook gets the alert as Slack's text, signed over what was sent", async () => {
    const r = await receiver(200);
    const clock = new ManualClock();
    const opts = options(clock, { secret: "s3cret" });
    expect(
      await sendWithRetry(webhookDestination(r.url, "slack", opts), ALERT, JSON_BODY, opts),
    ).toBeUndefined();
    const [seen] = r.seen as [Seen];
    const text = (JSON.parse(seen.body) as { text: string }).text;
    expect(text).toContain("*[HIGH] An app was deleted*");
    expect(text).toContain("by alice");
    expect(seen.headers["x-clarifai-audit-signature"]).toBe(signature("s3cret", seen.body));
  });

  it("5xx is retried after a backoff that doubles (±20 %), until delivered", async () => {
    const r = await receiver(500, 502, 503, 200);
    const clock = new ManualClock();
    const opts = options(clock);
    const sent = sendWithRetry(webhookDestination(r.url, "json", opts), ALERT, JSON_BODY, opts);
    // No second attempt before the shortest first backoff (800 ms) has passed.
    await clock.untilSleeping();
    await clock.advance(799);
    expect(r.seen).toHaveLength(1);
    expect(await drive(clock, sent)).toBeUndefined();
    expect(r.seen).toHaveLength(4);
    const waits = clock.requested;
    expect(waits).toHaveLength(3);
    waits.forEach((w, i) => {
      expect(w).toBeGreaterThanOrEqual(0.8 * 1000 * 2 ** i);
      expect(w).toBeLessThanOrEqual(1.2 * 1000 * 2 ** i);
    });
  });

  it("the backoff is capped at 60 s", async () => {
    const r = await receiver(500);
    const clock = new ManualClock();
    const opts = options(clock, { attempts: 4, backoffMs: 40_000 });
    const result = await drive(
      clock,
      sendWithRetry(webhookDestination(r.url, "json", opts), ALERT, JSON_BODY, opts),
    );
    expect(result).toEqual({ error: "HTTP 500", attempts: 4 });
    const [, second, third] = clock.requested as [number, number, number];
    expect(second).toBeLessThanOrEqual(1.2 * 60_000);
    expect(third).toBeLessThanOrEqual(1.2 * 60_000);
    expect(third).toBeGreaterThanOrEqual(0.8 * 60_000);
  });

  it("429 and 503 with Retry-After wait exactly that long (capped at 60 s); 408 is retried", async () => {
    const r = await receiver(
      { status: 429, headers: { "retry-after": "7" } },
      { status: 503, headers: { "retry-after": "3600" } },
      408,
      201,
    );
    const clock = new ManualClock();
    const opts = options(clock);
    const result = await drive(
      clock,
      sendWithRetry(webhookDestination(r.url, "json", opts), ALERT, JSON_BODY, opts),
    );
    expect(result).toBeUndefined();
    expect(r.seen).toHaveLength(4);
    expect(clock.requested.slice(0, 2)).toEqual([7000, 60_000]);
  });

  it.each([400, 401, 403, 404, 410, 422])("%i is permanent: one attempt, no wait", async (status) => {
    const r = await receiver(status, 200);
    const clock = new ManualClock();
    const opts = options(clock);
    const result = await sendWithRetry(webhookDestination(r.url, "json", opts), ALERT, JSON_BODY, opts);
    expect(result).toEqual({ error: `HTTP ${status}`, attempts: 1 });
    expect(r.seen).toHaveLength(1);
    expect(clock.requested).toEqual([]);
  });

  it("a redirect is not followed: the Location is never asked, each attempt fails as HTTP 3xx", async () => {
    const r = await receiver({ status: 302, headers: { location: "/elsewhere" } });
    const clock = new ManualClock();
    const opts = options(clock, { attempts: 2 });
    const result = await drive(
      clock,
      sendWithRetry(webhookDestination(r.url, "json", opts), ALERT, JSON_BODY, opts),
    );
    expect(result).toEqual({ error: "HTTP 302", attempts: 2 });
    expect(r.seen.map((s) => s.path)).toEqual(["/hook", "/hook"]);
  });

  it("a refused connection is retried and reported by its code", async () => {
    const r = await receiver(200);
    const url = r.url;
    r.server.close();
    await once(r.server, "close");
    const clock = new ManualClock();
    const opts = options(clock, { attempts: 3 });
    const result = await drive(
      clock,
      sendWithRetry(webhookDestination(url, "json", opts), ALERT, JSON_BODY, opts),
    );
    expect(result).toEqual({ error: "ECONNREFUSED", attempts: 3 });
    expect(clock.requested).toHaveLength(2);
  });

  it("the failure reason hides URL credentials and terminal controls", async () => {
    const clock = new ManualClock();
    const opts = options(clock, { attempts: 1 });
    const dest = {
      name: "custom",
      send: async () => {
        throw new Error("failed posting to https://user:hunter2@example.test/x \u001b[31mred");
      },
    };
    const result = await sendWithRetry(dest, ALERT, JSON_BODY, opts);
    expect(result?.error).not.toContain("hunter2");
    expect(result?.error).not.toContain("\u001b");
    expect(result?.attempts).toBe(1);
  });
});

describe("dead letters and the delivery journal", () => {
  it("a dead letter is one JSON line: destination (credentials hidden), reason, attempts and the alert", async () => {
    const dead = new DeadLetter(join(await scratch(), "dead.jsonl"));
    await dead.append(
      "exec:curl https://bob:pw123@example.test/in",
      { error: "exit code 7", attempts: 3 },
      JSON_BODY,
    );
    await dead.append(
      "webhook:http://127.0.0.1:1/hook#abcd1234",
      { error: "HTTP 500", attempts: 5 },
      JSON_BODY,
    );
    const lines = (await readFile(dead.path, "utf8")).split("\n");
    expect(lines.pop()).toBe("");
    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>) as [
      Record<string, unknown>,
      Record<string, unknown>,
    ];
    expect(first.destination).not.toContain("pw123");
    expect(first).toMatchObject({ error: "exit code 7", attempts: 3, alert: { alert: "k1" } });
    expect(Number.isNaN(Date.parse(String(first.failed_at)))).toBe(false);
    expect(second).toMatchObject({ destination: "webhook:http://127.0.0.1:1/hook#abcd1234", attempts: 5 });
  });

  it("the journal survives a restart, ignores a torn last line and is emptied by clear", async () => {
    const path = join(await scratch(), "journal.jsonl");
    const first = new DeliveryJournal(path);
    await first.load();
    await first.record("k1", "webhook:a");
    await first.record("k2", "exec:b");
    await appendFile(path, '{"key":"k3","de');
    const again = new DeliveryJournal(path);
    await again.load();
    expect([again.has("k1", "webhook:a"), again.has("k2", "exec:b"), again.has("k1", "exec:b")]).toEqual([
      true,
      true,
      false,
    ]);
    expect(again.has("k3", "")).toBe(false);
    await again.clear();
    expect(await readFile(path, "utf8")).toBe("");
    const third = new DeliveryJournal(path);
    await third.load();
    expect(third.has("k1", "webhook:a")).toBe(false);
  });
});

describe("checkWebhook", () => {
  it("accepts a listening http URL, names what is wrong with the others", async () => {
    const r = await receiver(200);
    expect(await checkWebhook(r.url, 5000)).toBeUndefined();
    expect(r.seen).toHaveLength(0);
    expect(await checkWebhook("not a url", 5000)).toBe("not a URL");
    expect(await checkWebhook("ftp://127.0.0.1/x", 5000)).toBe("the scheme must be http or https");
    r.server.close();
    await once(r.server, "close");
    expect(await checkWebhook(r.url, 5000)).toMatch(/^cannot connect to 127\.0\.0\.1:\d+ \(ECONNREFUSED\)$/);
  });
});
