/**
 * `clarifai-audit run --config FILE` as a service, the built bin in a child process: /metrics with
 * the documented series and right values (a removed destination's dropped), /healthz, /readyz failing
 * while a destination has failed longer than unhealthy_after and passing once it works again or a
 * reload removed it; a reload while an alert is being delivered delivers it (not dead-lettered); SIGHUP applying a valid file (a
 * destination added fills up) and refusing an invalid one in one line while the collector goes on;
 * SIGTERM draining to exit 0 with its summary, a second SIGTERM during a slow drain ending it with
 * 130; and no secret (PATs, PostgreSQL passwords of `to:` and coordination.url, the alert secret) in
 * its output, in either log format, nor in /metrics, even where an error quotes a URL.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "@jest/globals";
import type pg from "pg";
import { tempDir } from "../cli/helpers.js";
import { freePort, type PostgresServer, startPostgres } from "../helpers/postgres.js";
import { waitFor } from "../helpers/waitFor.js";
import {
  type AccountsEmulator,
  type AlertReceiver,
  type BinProcess,
  type CollectorSpec,
  checkLake,
  checkPostgres,
  spawnCollector,
  startAccounts,
  startAlertReceiver,
  untilExactlyOnce,
  writeCollectorConfig,
} from "./harness.js";

let tmp: ReturnType<typeof tempDir>;
let accounts: AccountsEmulator;
let server: PostgresServer;
let receiver: AlertReceiver;
let url: string;
let db: pg.Client;
let n = 0;

beforeAll(async () => {
  tmp = tempDir();
  [accounts, server, receiver] = await Promise.all([
    startAccounts([
      { id: "prod", count: 150, growth: false },
      { id: "staging", count: 90, growth: false },
    ]),
    startPostgres(),
    startAlertReceiver(),
  ]);
  url = await server.createDatabase("runproc");
  db = await server.client("runproc");
}, 120_000);

afterAll(async () => {
  await db?.end();
  await Promise.all([accounts?.close(), server?.stop(), receiver?.close()]);
  tmp?.cleanup();
});

function folder(): string {
  return join(tmp.dir, `p${++n}`);
}

function write(dir: string, spec: CollectorSpec): string {
  const file = writeCollectorConfig(dir, accounts, spec);
  chmodSync(file, 0o600);
  return file;
}

function get(address: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(`http://${address}${path}`, { agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

/** The value of the one sample of `name` with exactly `labels`, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`)
    .join(",");
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const got = (m[2] ?? "")
      .split(",")
      .filter((p) => p !== "")
      .sort()
      .join(",");
    if (got === want) return Number(m[3]);
  }
  return undefined;
}

/** Polls `f` until it returns something other than undefined (test/helpers/waitFor.ts's bound). */
async function until<T>(what: string, f: () => Promise<T | undefined>): Promise<T> {
  let value: T | undefined;
  await waitFor(
    async () => {
      value = await f();
      return value !== undefined;
    },
    { what, intervalMs: 50 },
  );
  return value as T;
}

async function addressOf(p: BinProcess): Promise<string> {
  const line = await p.waitForLine(/listening on http:\/\/\S+/);
  return (/http:\/\/([^\s/]+)/.exec(line) as RegExpExecArray)[1] as string;
}

test("metrics, health and readiness of a running collector; SIGHUP applies a valid file and refuses an invalid one; SIGTERM drains to 0", async () => {
  const dir = folder();
  const closed = await freePort();
  const down = `postgres://nobody@127.0.0.1:${closed}/none`;
  const spec: CollectorSpec = {
    destinations: [
      { id: "lake", lake: "lake" },
      { id: "down", postgres: down, accounts: ["prod"] },
    ],
    settings: { unhealthy_after: "200ms" },
  };
  const file = write(dir, spec);
  const p = spawnCollector(file, accounts.env());
  try {
    const address = await addressOf(p);
    await untilExactlyOnce(() => checkLake(join(dir, "lake"), accounts.expected()));
    expect((await get(address, "/healthz")).status).toBe(200);
    const notReady = await until("readyz 503", async () => {
      const r = await get(address, "/readyz");
      return r.status === 503 ? r : undefined;
    });
    expect(notReady.body).toMatch(/down/);
    const metrics = await until("entries of the lake", async () => {
      const t = (await get(address, "/metrics")).body;
      const ok = ["prod", "staging"].every(
        (a) =>
          sample(t, "clarifai_audit_entries_total", { account: a, destination: "lake" }) ===
          accounts.keys(a).length,
      );
      return ok ? t : undefined;
    });
    for (const a of ["prod", "staging"]) {
      expect(
        sample(metrics, "clarifai_audit_requests_total", { account: a, outcome: "served" }),
      ).toBeGreaterThan(0);
      expect(sample(metrics, "clarifai_audit_destination_up", { account: a, destination: "lake" })).toBe(1);
      expect(
        sample(metrics, "clarifai_audit_last_commit_timestamp_seconds", { account: a, destination: "lake" }),
      ).toBeGreaterThan(0);
    }
    expect(sample(metrics, "clarifai_audit_destination_up", { account: "prod", destination: "down" })).toBe(
      0,
    );
    expect(
      sample(metrics, "clarifai_audit_delivery_failures_total", { account: "prod", destination: "down" }),
    ).toBeGreaterThan(0);
    expect(
      sample(metrics, "clarifai_audit_entries_total", { account: "staging", destination: "down" }),
    ).toBeUndefined();
    // Nothing new is committed (the logs do not grow): the lag of what the lake holds grows.
    const lag = sample(metrics, "clarifai_audit_destination_lag_seconds", {
      account: "prod",
      destination: "lake",
    });
    expect(lag).toBeGreaterThan(0);
    await until("a larger lag", async () => {
      const t = (await get(address, "/metrics")).body;
      const later = sample(t, "clarifai_audit_destination_lag_seconds", {
        account: "prod",
        destination: "lake",
      });
      return later !== undefined && later > (lag as number) ? later : undefined;
    });

    // A valid file: the failing destination removed, a PostgreSQL table added; it fills up.
    write(dir, {
      ...spec,
      destinations: [
        { id: "lake", lake: "lake" },
        { id: "db", postgres: url },
      ],
    });
    // Sent while a request of a round is in flight (held 1.5 s by the emulator): the reload stops
    // that round, which is no failure of its destinations.
    accounts.emu.setFaults({ latencyMs: 1500 });
    const calls = accounts.emu.calls;
    await until("a request in flight", async () => (accounts.emu.calls > calls ? true : undefined));
    const reloadFrom = p.lines.length;
    p.signal("SIGHUP");
    await p.waitForLine(/reloaded .*2 account\(s\), 2 destination\(s\)/);
    accounts.emu.setFaults({ latencyMs: 0 });
    expect(p.lines.slice(reloadFrom).filter((l) => / failed: /.test(l))).toEqual([]);
    await untilExactlyOnce(() => checkPostgres(db, accounts.expected()));
    await until("readyz 200", async () =>
      (await get(address, "/readyz")).status === 200 ? true : undefined,
    );
    // The removed destination's series are dropped (no stale lag or failure left to alert on).
    const after = (await get(address, "/metrics")).body;
    expect(after).not.toMatch(/destination="down"/);
    expect(sample(after, "clarifai_audit_entries_total", { account: "staging", destination: "db" })).toBe(
      accounts.keys("staging").length,
    );

    // An invalid file: one line, and the running configuration goes on committing.
    writeFileSync(file, "accounts: [\n");
    const before = p.lines.length;
    p.signal("SIGHUP");
    await p.waitForLine(/reload refused: /);
    accounts.setGrowth("prod", { count: 3, everyMs: 50, lateFraction: 0 });
    await until("a round stored after the refusal", async () =>
      p.lines.slice(before).some((l) => /account prod: stored .*\blake \+\d+/.test(l)) &&
      p.lines.slice(before).some((l) => /account prod: stored .*\bdb \+\d+/.test(l))
        ? true
        : undefined,
    );
    accounts.setGrowth("prod", undefined);
    const refusals = p.lines.filter((l) => /reload refused/.test(l));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatch(
      new RegExp(`reload refused: config file ${file}:\\d+: .+; the running configuration goes on$`),
    );
    await untilExactlyOnce(async () => [
      ...(await checkLake(join(dir, "lake"), accounts.expected())),
      ...(await checkPostgres(db, accounts.expected())),
    ]);
  } finally {
    accounts.setGrowth("prod", undefined);
    p.signal("SIGTERM");
  }
  const exit = await p.exit;
  expect({ code: exit.code, stdout: exit.stdout }).toEqual({ code: 0, stdout: "" });
  expect(p.lines.filter((l) => / INFO SIGTERM: draining /.test(l))).toHaveLength(1);
  expect(p.lines.filter((l) => l !== "").at(-1)).toMatch(
    /^run: \d+ round\(s\) over 2 account\(s\): \d+ entries stored across 2 destination\(s\), \d+ requests$/,
  );
}, 60_000);

test("/readyz fails while a destination has failed longer than unhealthy_after, and passes once it works again", async () => {
  const dir = folder();
  // PostgreSQL through a port nothing listens on yet: the destination is down until a relay to
  // the real server listens there.
  const port = await freePort();
  const file = write(dir, {
    accounts: ["prod"],
    destinations: [
      {
        id: "db",
        postgres: server.url("runproc").replace(`:${server.port}/`, `:${port}/`),
        table: "recovers",
      },
    ],
    settings: { unhealthy_after: "200ms" },
  });
  const p = spawnCollector(file, accounts.env());
  const sockets = new Set<Socket>();
  const relay = createServer((socket) => {
    const upstream = connect(server.port, "127.0.0.1");
    sockets.add(socket).add(upstream);
    socket.pipe(upstream).pipe(socket);
    socket.on("error", () => upstream.destroy());
    upstream.on("error", () => socket.destroy());
  });
  try {
    const address = await addressOf(p);
    // 503 "starting" first, then the failing destination.
    const failing = await until("readyz 503 naming db", async () => {
      const r = await get(address, "/readyz");
      return r.status === 503 && /destination db/.test(r.body) ? r.body : undefined;
    });
    expect(failing).toMatch(/account prod, destination db: failing for \d+ s: cannot reach PostgreSQL/);
    expect((await get(address, "/healthz")).status).toBe(200);
    await new Promise<void>((resolve) => relay.listen(port, "127.0.0.1", resolve));
    await p.waitForLine(/account prod: destination db works again/);
    await until("readyz 200", async () =>
      (await get(address, "/readyz")).status === 200 ? true : undefined,
    );
    await untilExactlyOnce(() => checkPostgres(db, accounts.expected(["prod"]), "recovers"));
  } finally {
    p.signal("SIGTERM");
  }
  expect((await p.exit).code).toBe(0);
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => relay.close(resolve));
}, 60_000);

test("a reload while an alert is being delivered neither cuts nor dead-letters it: it is delivered once", async () => {
  const dir = folder();
  const destination = "reload-alerts";
  const file = write(dir, {
    accounts: ["prod"],
    destinations: [
      {
        id: "alerts",
        alerts: { rules: ["builtin"], webhooks: [receiver.url(destination)], backoff: "50ms" },
      },
    ],
    listen: false,
  });
  // Each attempt answers within a second at most (the receiver hangs the first one).
  writeFileSync(
    file,
    readFileSync(file, "utf8").replace("  - id: alerts\n", "  - id: alerts\n    alert_timeout: 1s\n"),
  );
  let hung: string | undefined;
  receiver.receiver.behave = (_n, body) => {
    if (hung !== undefined) return 200;
    hung = (JSON.parse(body) as { key: string }).key;
    return "hang";
  };
  const p = spawnCollector(file, accounts.env());
  try {
    await until("a delivery in flight", async () => hung);
    const at = p.lines.length;
    p.signal("SIGHUP");
    await p.waitForLine(/reloaded /);
    await until("the hung alert delivered", async () =>
      receiver.deliveries(destination).includes(hung as string) ? true : undefined,
    );
    expect(p.lines.slice(at).filter((l) => /not delivered|dead-letter/.test(l))).toEqual([]);
  } finally {
    receiver.receiver.behave = () => 200;
    p.signal("SIGTERM");
  }
  expect((await p.exit).code).toBe(0);
  const delivered = receiver.deliveries(destination);
  expect(delivered.length).toBeGreaterThan(1);
  expect(new Set(delivered).size).toBe(delivered.length);
  expect(existsSync(join(dir, "state", "alerts", "alerts", "prod.json.dead-letter.jsonl"))).toBe(false);
}, 60_000);

test("a second SIGTERM during a drain held up by a locked table ends the collector with 130", async () => {
  const dir = folder();
  const file = write(dir, {
    destinations: [{ id: "db", postgres: url, table: "slow", accounts: ["prod"] }],
    accounts: ["prod"],
    listen: false,
  });
  const p = spawnCollector(file, accounts.env());
  const locker = await server.client("runproc");
  try {
    await untilExactlyOnce(() => checkPostgres(locker, accounts.expected(["prod"]), "slow"));
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE slow IN ACCESS EXCLUSIVE MODE");
    accounts.setGrowth("prod", { count: 3, everyMs: 50, lateFraction: 0 });
    // The collector's commit waits on the lock.
    await until("a commit waiting on the lock", async () => {
      const r = await db.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'slow' AND NOT l.granted",
      );
      return Number(r.rows[0]?.n) > 0 ? true : undefined;
    });
    p.signal("SIGTERM");
    await p.waitForLine(/SIGTERM: draining /);
    expect(p.exited).toBe(false);
    p.signal("SIGTERM");
    const exit = await p.exit;
    expect(exit.code).toBe(130);
  } finally {
    accounts.setGrowth("prod", undefined);
    p.signal("SIGKILL");
    await locker.query("ROLLBACK").catch(() => undefined);
    await locker.end();
  }
}, 60_000);

test.each(["text", "json"])(
  "no secret in the output (--log-format %s) nor in /metrics, even where errors quote URLs",
  async (format) => {
    const dir = folder();
    const prod = accounts.account("prod");
    const staging = accounts.account("staging");
    const wrongPassword = `wrong-pw-${format}-5f1d2c`;
    const refusing = server.url("runproc", server.user, wrongPassword);
    const alertSecret = `alert-secret-${format}-93be1a`;
    const file = write(dir, {
      accounts: ["prod", { id: "staging", pat: staging.pat }],
      destinations: [
        { id: "db", postgres: url, table: `secret_${format}` },
        { id: "refusing", postgres: refusing, accounts: ["prod"] },
        {
          id: "alerts",
          alerts: { rules: ["builtin"], webhooks: [receiver.url(`a-${format}`)], secretEnv: "ALERT_SECRET" },
        },
      ],
      coordination: { url: server.url("runproc"), lease: "2s", poll: "200ms" },
      settings: { unhealthy_after: "100ms" },
    });
    // The harness names PATs by pat_env; staging's is inline (`pat:`, in a 0600 file) instead.
    writeFileSync(file, readFileSync(file, "utf8").replace(/ {4}pat_env: CLARIFAI_PAT_STAGING\n/, ""));
    const env = { ...accounts.env({ ALERT_SECRET: alertSecret }) };
    delete env[staging.patEnv];
    const p = spawnCollector(file, env, { args: ["--log-format", format, "-v"] });
    let metrics = "";
    try {
      const address = await addressOf(p);
      await untilExactlyOnce(() => checkPostgres(db, accounts.expected(), `secret_${format}`));
      await p.waitForLine(/destination refusing failed/);
      // /readyz lists the failing destination with its error.
      const ready = await until("readyz 503", async () => {
        const r = await get(address, "/readyz");
        return r.status === 503 ? r.body : undefined;
      });
      expect(ready).toMatch(/refusing/);
      metrics = `${(await get(address, "/metrics")).body}\n${ready}`;
      expect(metrics).toMatch(/clarifai_audit_entries_total/);
    } finally {
      p.signal("SIGTERM");
    }
    const exit = await p.exit;
    expect(exit.code).toBe(0);
    const all = `${exit.stdout}\n${exit.stderr}\n${metrics}`;
    expect(all).toMatch(/refusing/);
    // The refusal quotes the database's URL (without its password) and says why.
    expect(exit.stderr).toMatch(/password authentication failed/);
    for (const secret of [prod.pat, staging.pat, server.password, wrongPassword, alertSecret])
      expect({ secret, found: all.includes(secret) }).toEqual({ secret, found: false });
    if (format === "json")
      for (const line of exit.stderr.trimEnd().split("\n").slice(0, -1))
        expect(() => JSON.parse(line)).not.toThrow();
  },
  60_000,
);
