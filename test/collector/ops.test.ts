/**
 * The collector's operations surface: metrics as Prometheus scrapes them (read back from the text
 * over a real HTTP server on 127.0.0.1), /healthz and /readyz following health(), the listener's
 * bounds (404/405, nothing echoed, a slow client cut and not blocking others, close() not held by a
 * keep-alive socket, a busy port refused in one line), and the log in both formats with secrets
 * redacted and control characters escaped.
 */
import { once } from "node:events";
import http from "node:http";
import { connect, type Socket } from "node:net";
import { register as globalRegistry } from "prom-client";
import { createLogger } from "../../packages/cli/src/collector/ops/logger.js";
import { CollectorMetrics, metricLabel } from "../../packages/cli/src/collector/ops/metrics.js";
import {
  type Health,
  OpsListenError,
  type OpsServer,
  type OpsServerOptions,
  startOpsServer,
} from "../../packages/cli/src/collector/ops/server.js";
import { clearSecrets, registerSecret } from "../../packages/client/src/domain/redact.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (format 0.0.4). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g))
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_s, c: string) => (c === "n" ? "\n" : c));
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(labels).length === Object.keys(s.labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name}`);
  return found[0]?.value;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(address: string, path: string, method = "GET", agent?: http.Agent): Promise<Reply> {
  const [host, port] = address.split(":") as [string, string];
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port: Number(port), path, method, agent: agent ?? false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function rawConnect(address: string): Promise<Socket> {
  const [host, port] = address.split(":") as [string, string];
  const socket = connect({ host, port: Number(port) });
  return once(socket, "connect").then(() => socket);
}

/** A raw connection, and everything the server sent on it once the server has closed it. */
async function rawClient(address: string): Promise<{ socket: Socket; received: Promise<string> }> {
  const socket = await rawConnect(address);
  let raw = "";
  socket.setEncoding("utf8");
  socket.on("data", (c: string) => {
    raw += c;
  });
  return { socket, received: once(socket, "close").then(() => raw) };
}

const HEALTHY = (): Health => ({ live: true, ready: true, problems: [] });

/** A listener on 127.0.0.1:0 with empty metrics. */
function startTestServer(options: Partial<OpsServerOptions> = {}): Promise<OpsServer> {
  return startOpsServer({
    host: "127.0.0.1",
    port: 0,
    metrics: new CollectorMetrics({ processMetrics: false }),
    health: HEALTHY,
    ...options,
  });
}

const stats = (served: number, throttled: number) => ({
  requests: served + throttled,
  served,
  throttled,
  inFlight: 0,
  waiting: 0,
  seconds: 1,
  averageRate: 1,
  waitedMs: 0,
  idleMs: 0,
  limit: undefined,
  learnedLimit: undefined,
  rate: Number.POSITIVE_INFINITY,
  decreases: 0,
  widenings: 0,
});

describe("CollectorMetrics over /metrics", () => {
  test("counters, gauges and scrape-time lag read back from the exposition, on its own registry", async () => {
    let nowMs = Date.parse("2026-01-01T00:10:00Z");
    const metrics = new CollectorMetrics({ now: () => nowMs });
    const server = await startTestServer({ metrics });
    try {
      expect(server.address).toMatch(/^127\.0\.0\.1:[1-9]\d*$/);
      metrics.entries("prod", "lake", 5);
      metrics.entries("prod", "lake", 3);
      metrics.entries("staging", "db", 0);
      metrics.committed("prod", "lake", new Date("2026-01-01T00:09:30Z"), "2026-01-01T00:08:00.5Z");
      metrics.failing("prod", "lake", undefined);
      metrics.failing("staging", "db", new Date("2026-01-01T00:09:00Z"));
      metrics.deliveryFailure("staging", "db");
      metrics.deliveryFailure("staging", "db");
      metrics.alerts("prod", "alerts", true);
      metrics.alerts("prod", "alerts", true);
      metrics.alerts("prod", "alerts", false);
      const client1 = {};
      metrics.requests("prod", stats(10, 2), client1);
      metrics.requests("prod", stats(15, 2), client1);
      // A reload replaced the client: its totals start again from 0 and count whole.
      const client2 = {};
      metrics.requests("prod", stats(20, 1), client2);
      // Without a client given, counters going down are a new client's.
      metrics.requests("staging", stats(4, 0));
      metrics.requests("staging", stats(1, 1));
      metrics.lease("prod", true);
      metrics.lease("staging", false);

      const reply = await request(server.address, "/metrics");
      expect(reply.status).toBe(200);
      expect(reply.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
      expect(reply.headers["content-type"]).toBe(metrics.contentType);
      const s = parseExposition(reply.body);
      const prodLake = { account: "prod", destination: "lake" };
      const stagingDb = { account: "staging", destination: "db" };
      expect(value(s, "clarifai_audit_entries_total", prodLake)).toBe(8);
      expect(value(s, "clarifai_audit_entries_total", stagingDb)).toBe(0);
      expect(value(s, "clarifai_audit_destination_lag_seconds", prodLake)).toBeCloseTo(119.5, 6);
      // No commit yet: no lag series (not 0, which would read as "caught up").
      expect(value(s, "clarifai_audit_destination_lag_seconds", stagingDb)).toBeUndefined();
      expect(value(s, "clarifai_audit_last_commit_timestamp_seconds", prodLake)).toBe(
        Date.parse("2026-01-01T00:09:30Z") / 1000,
      );
      expect(value(s, "clarifai_audit_destination_up", prodLake)).toBe(1);
      expect(value(s, "clarifai_audit_destination_up", stagingDb)).toBe(0);
      // A pair never said failing is up.
      expect(value(s, "clarifai_audit_destination_up", { account: "prod", destination: "alerts" })).toBe(1);
      expect(value(s, "clarifai_audit_destination_failing_seconds", stagingDb)).toBe(60);
      expect(value(s, "clarifai_audit_destination_failing_seconds", prodLake)).toBe(0);
      expect(value(s, "clarifai_audit_delivery_failures_total", stagingDb)).toBe(2);
      const alerts = { account: "prod", destination: "alerts" };
      expect(value(s, "clarifai_audit_alerts_total", { ...alerts, outcome: "delivered" })).toBe(2);
      expect(value(s, "clarifai_audit_alerts_total", { ...alerts, outcome: "dead_lettered" })).toBe(1);
      expect(value(s, "clarifai_audit_requests_total", { account: "prod", outcome: "served" })).toBe(35);
      expect(value(s, "clarifai_audit_requests_total", { account: "prod", outcome: "throttled" })).toBe(3);
      expect(value(s, "clarifai_audit_requests_total", { account: "staging", outcome: "served" })).toBe(5);
      expect(value(s, "clarifai_audit_requests_total", { account: "staging", outcome: "throttled" })).toBe(1);
      expect(value(s, "clarifai_audit_account_lease", { account: "prod" })).toBe(1);
      expect(value(s, "clarifai_audit_account_lease", { account: "staging" })).toBe(0);
      expect(value(s, "process_resident_memory_bytes", {})).toBeGreaterThan(0);

      // The lag and the failing time age at each scrape, with no call in between.
      nowMs += 30_000;
      const later = parseExposition(await metrics.text());
      expect(value(later, "clarifai_audit_destination_lag_seconds", prodLake)).toBeCloseTo(149.5, 6);
      expect(value(later, "clarifai_audit_destination_failing_seconds", stagingDb)).toBe(90);
      // A commit without a position keeps the last one; a newer position shrinks the lag.
      metrics.committed("prod", "lake", new Date(nowMs));
      expect(
        value(parseExposition(await metrics.text()), "clarifai_audit_destination_lag_seconds", prodLake),
      ).toBeCloseTo(149.5, 6);
      metrics.committed("prod", "lake", new Date(nowMs), "2026-01-01T00:10:20Z");
      metrics.failing("staging", "db", undefined);
      const recovered = parseExposition(await metrics.text());
      expect(value(recovered, "clarifai_audit_destination_lag_seconds", prodLake)).toBe(10);
      expect(value(recovered, "clarifai_audit_destination_failing_seconds", stagingDb)).toBe(0);
      expect(value(recovered, "clarifai_audit_destination_up", stagingDb)).toBe(1);

      // forget() drops an account's series (a reload removed it): no lag left to grow.
      metrics.forget("prod");
      const forgotten = parseExposition(await metrics.text());
      expect(forgotten.filter((x) => x.labels.account === "prod")).toEqual([]);
      expect(value(forgotten, "clarifai_audit_entries_total", stagingDb)).toBe(0);

      // Its own registry: nothing on prom-client's global one, nothing shared with another collector.
      expect(await globalRegistry.metrics()).not.toContain("clarifai_audit");
      const other = new CollectorMetrics({ processMetrics: false });
      expect(await other.text()).not.toMatch(/^clarifai_audit_entries_total\{/m);
    } finally {
      await server.close();
    }
  });

  test("a label value that is not an id is made one: bounded, no quote or line break", async () => {
    expect(metricLabel("prod-1.eu_west")).toBe("prod-1.eu_west");
    expect(metricLabel('a"b\nc\\d')).toBe("a_b_c_d");
    expect(metricLabel("x".repeat(200))).toHaveLength(64);
    expect(metricLabel("")).toBe("_");
    const metrics = new CollectorMetrics({ processMetrics: false });
    metrics.entries('evil"} 1\nclarifai_audit_fake 9', "lake", 1);
    const s = parseExposition(await metrics.text());
    expect(s.map((x) => x.name)).not.toContain("clarifai_audit_fake");
    expect(
      value(s, "clarifai_audit_entries_total", {
        account: "evil___1_clarifai_audit_fake_9",
        destination: "lake",
      }),
    ).toBe(1);
  });
});

describe("the ops listener", () => {
  test("/healthz and /readyz follow health(); problems one per line, redacted and escaped", async () => {
    registerSecret("ops-test-secret-123");
    let health: Health = { live: true, ready: true, problems: [] };
    const server = await startTestServer({
      health: () => health,
    });
    try {
      expect(await request(server.address, "/healthz")).toMatchObject({ status: 200, body: "ok\n" });
      expect(await request(server.address, "/readyz")).toMatchObject({ status: 200, body: "ok\n" });
      health = {
        live: true,
        ready: false,
        problems: [
          "destination db (prod) failing for 6m: postgres://auditor:hunter22@db/ops refused",
          "destination lake (prod) failing: ops-test-secret-123 \u001b[2Jcleared\nforged line",
        ],
      };
      const notReady = await request(server.address, "/readyz?verbose=1");
      expect(notReady.status).toBe(503);
      expect(notReady.headers["content-type"]).toBe("text/plain; charset=utf-8");
      const lines = notReady.body.split("\n");
      expect(lines).toHaveLength(3);
      expect(lines[2]).toBe("");
      expect(lines[0]).toBe(
        "destination db (prod) failing for 6m: postgres://auditor:[REDACTED]@db/ops refused",
      );
      expect(lines[1]).toBe("destination lake (prod) failing: [REDACTED] \\x1b[2Jcleared\\nforged line");
      expect(await request(server.address, "/healthz")).toMatchObject({ status: 200 });
      health = { live: false, ready: false, problems: [] };
      expect(await request(server.address, "/healthz")).toMatchObject({ status: 503 });
      expect(await request(server.address, "/readyz")).toMatchObject({ status: 503, body: "not ready\n" });
      health = { live: true, ready: true, problems: [] };
      expect(await request(server.address, "/readyz")).toMatchObject({ status: 200 });
    } finally {
      await server.close();
      clearSecrets();
    }
  });

  test("404 and 405 echo nothing of the request; HEAD has no body; a body is refused", async () => {
    const server = await startTestServer();
    try {
      const missing = await request(server.address, "/metrics/<script>MARKER</script>");
      expect(missing).toMatchObject({ status: 404, body: "not found\n" });
      const post = await request(server.address, "/metrics?MARKER", "POST");
      expect(post.status).toBe(405);
      expect(post.headers.allow).toBe("GET, HEAD");
      expect(post.body).not.toContain("MARKER");
      expect((await request(server.address, "/healthz", "DELETE")).status).toBe(405);
      const head = await request(server.address, "/metrics", "HEAD");
      expect(head.status).toBe(200);
      expect(head.body).toBe("");
      // A GET with a body: refused, its body never read.
      const withBody = await rawClient(server.address);
      withBody.socket.write("GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\npartial");
      expect(await withBody.received).toMatch(/^HTTP\/1\.1 413 /);
      // Oversized headers: refused with 431.
      const big = await rawClient(server.address);
      big.socket.write(`GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`);
      expect(await big.received).toMatch(/^HTTP\/1\.1 431 /);
    } finally {
      await server.close();
    }
  });

  test("a slow client does not block another request, and is cut by the headers timeout", async () => {
    const server = await startTestServer({
      limits: { headersTimeoutMs: 300, requestTimeoutMs: 600, checkIntervalMs: 50 },
    });
    try {
      const { socket: slow, received } = await rawClient(server.address);
      // Slowloris: a head that never ends, one header at a time.
      slow.write("GET /metrics HTTP/1.1\r\nHost: x\r\n");
      const trickle = setInterval(() => {
        if (!slow.destroyed) slow.write("X-A: b\r\n");
      }, 50);
      try {
        expect(await request(server.address, "/healthz")).toMatchObject({ status: 200 });
        expect((await request(server.address, "/metrics")).status).toBe(200);
        expect(await received).toMatch(/^HTTP\/1\.1 408 /);
      } finally {
        clearInterval(trickle);
      }
    } finally {
      await server.close();
    }
  });

  test("close() resolves with a keep-alive connection and an idle socket open", async () => {
    const server = await startTestServer({
      // Far beyond the test's timeout: only close() ending the connections lets it pass.
      limits: {
        keepAliveTimeoutMs: 120_000,
        socketIdleMs: 120_000,
        headersTimeoutMs: 60_000,
        requestTimeoutMs: 120_000,
      },
    });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await request(server.address, "/healthz", "GET", agent);
      expect(first.headers.connection).toBe("keep-alive");
      const idle = await rawConnect(server.address);
      const idleClosed = once(idle, "close");
      await server.close();
      await idleClosed;
      await expect(request(server.address, "/healthz")).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      agent.destroy();
    }
  }, 8_000);

  test("a port in use is refused in one line naming the address", async () => {
    const first = await startTestServer();
    try {
      const port = Number(first.address.split(":")[1]);
      const second = startTestServer({ port });
      await expect(second).rejects.toBeInstanceOf(OpsListenError);
      const error = (await second.catch((e: unknown) => e)) as Error;
      expect(error.message).toBe(
        `listen 127.0.0.1:${port}: the address is in use (another collector, or another service, listens there)`,
      );
      expect(error.message).not.toContain("\n");
    } finally {
      await first.close();
    }
  });
});

describe("createLogger", () => {
  const SECRET = "pat-0123456789abcdef";
  const at = new Date("2026-01-02T03:04:05.678Z");
  afterEach(() => clearSecrets());

  function lines(format: "json" | "text"): string[] {
    registerSecret(SECRET);
    const out: string[] = [];
    const log = createLogger({ format, write: (l) => out.push(l), now: () => at });
    log.warn(`destination db failing: https://bob:pw-xyz@hooks.example/a ${SECRET}\u001b[31m\nINFO forged`, {
      account: "prod",
      destination: "db",
      error: new Error(`connect to postgres://auditor:hunter22@db/ops failed: ${SECRET}`),
      entry: { actor: "mallory\u001b]0;title\u0007", note: `token ${SECRET}` },
      count: 3,
      msg: "a field named msg",
      skipped: undefined,
    });
    log.info("started");
    log.error("stopped", { code: 2 });
    return out;
  }

  /** Three lines, each ending its only line break, with no secret and no raw control character. */
  function expectSafeLines(out: string[]): void {
    expect(out).toHaveLength(3);
    for (const line of out) {
      expect(line.endsWith("\n")).toBe(true);
      expect(line.slice(0, -1)).not.toMatch(/\p{Cc}/u);
      expect(line).not.toContain(SECRET);
      expect(line).not.toContain("hunter22");
      expect(line).not.toContain("pw-xyz");
    }
  }

  test("json: one object a line with time, level, msg and the fields, secrets redacted", () => {
    const out = lines("json");
    expectSafeLines(out);
    const first = JSON.parse(out[0] as string);
    expect(first).toEqual({
      time: "2026-01-02T03:04:05.678Z",
      level: "warn",
      msg: "destination db failing: https://[REDACTED]@hooks.example/a [REDACTED]\u001b[31m\nINFO forged",
      account: "prod",
      destination: "db",
      error: "connect to postgres://auditor:[REDACTED]@db/ops failed: [REDACTED]",
      entry: { actor: "mallory\u001b]0;title\u0007", note: "token [REDACTED]" },
      count: 3,
      msg_: "a field named msg",
    });
    expect(JSON.parse(out[1] as string)).toEqual({ time: at.toISOString(), level: "info", msg: "started" });
    expect(JSON.parse(out[2] as string)).toMatchObject({ level: "error", code: 2 });
  });

  test("text: TIME LEVEL msg key=value, control characters escaped, secrets redacted", () => {
    const out = lines("text");
    expectSafeLines(out);
    expect(out[0]).toBe(
      "2026-01-02T03:04:05.678Z WARN destination db failing: https://[REDACTED]@hooks.example/a [REDACTED]\\x1b[31m\\nINFO forged" +
        ' account=prod destination=db error="connect to postgres://auditor:[REDACTED]@db/ops failed: [REDACTED]"' +
        ' entry="{\\"actor\\":\\"mallory\\\\u001b]0;title\\\\u0007\\",\\"note\\":\\"token [REDACTED]\\"}"' +
        ' count=3 msg_="a field named msg"\n',
    );
    expect(out[1]).toBe("2026-01-02T03:04:05.678Z INFO started\n");
    expect(out[2]).toBe("2026-01-02T03:04:05.678Z ERROR stopped code=2\n");
  });
});
