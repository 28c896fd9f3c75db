/**
 * The collector's alert store (packages/cli/src/collector/alertStore.ts) fed by runSync against the
 * emulator, delivering to real HTTP receivers on 127.0.0.1: alerts exactly once per destination
 * across rounds with growth and late entries (the reconcile window offers entries again), a
 * receiver down then back (retries, dead letters, nothing lost), a child process killed at every
 * commit step and at random instants, and forgotten keys under a wider reconcile window
 * (refusals: alertStoreRefusals.test.ts).
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { build, type Plugin } from "esbuild";
import { createAlertStore } from "../../packages/cli/src/collector/alertStore.js";
import { runSync } from "../../packages/cli/src/sync/sync.js";
import { alertKey } from "../../packages/cli/src/watch/alert.js";
import { Evaluator } from "../../packages/cli/src/watch/evaluator.js";
import type { RestEntry } from "../../packages/cli/src/watch/rules.js";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { collect, tempDir } from "../cli/helpers.js";
import { type Receiver, startReceiver } from "../cli/watchHelpers.js";
import { linesOf } from "../sync/syncHelpers.js";
import { alertsPlan, type ChildConfig } from "./alertFixtures.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let child: string;
const pat = (name: string) => `alerts-pat-${name}-0123456789abcdef`;
const USERS = ["rounds", "down", "crash", "wider"];

/** Maps the workspace's package names to their sources, as jest.config.js does. */
const sources: Plugin = {
  name: "workspace-sources",
  setup(b) {
    b.onResolve({ filter: /^@clarifai-audit\/client\/internal\// }, (args) => {
      const rest = args.path.replace(/^@clarifai-audit\/client\/internal\//, "").replace(/\.js$/, ".ts");
      const root = join(process.cwd(), "packages", "client");
      return { path: rest.startsWith("generated/") ? join(root, rest) : join(root, "src", rest) };
    });
  },
};

beforeAll(async () => {
  tmp = tempDir();
  const pats: Record<string, string> = {};
  for (const u of USERS) pats[pat(u)] = u;
  [emu] = await Promise.all([
    startEmulator({ pats, entries: [], restPort: false }),
    build({
      entryPoints: [join(process.cwd(), "test", "collector", "alertStoreChild.ts")],
      outfile: join(tmp.dir, "child.mjs"),
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      logLevel: "error",
      plugins: [sources],
      banner: {
        js: 'import { createRequire as __createRequire } from "node:module";\nconst require = __createRequire(import.meta.url);',
      },
    }),
  ]);
  child = join(tmp.dir, "child.mjs");
}, 60_000);

afterAll(async () => {
  await emu?.close();
  tmp?.cleanup();
});

let seed = 500;
/** Generated entries for `user`, dated at the given instants (ms), a distinct microsecond each. */
function entriesAt(times: number[]): AuditLogEntry[] {
  return generateEntries(times.length, ++seed).map((e, i) => {
    const us = Math.floor((times[i] as number) * 1000) + i;
    return { ...e, timestamp: { seconds: Math.floor(us / 1e6), nanos: (us % 1e6) * 1000 } };
  });
}

/**
 * `n` instants after `sinceMs` (a run's end, or its kill) and before now: newer than the high-water
 * mark of every run so far, so that they are growth at the head, never late.
 */
async function after(sinceMs: number, n: number): Promise<number[]> {
  // Waits for the clock to pass the instant, not for any work to end.
  while (Date.now() < sinceMs + 2 * n + 4) await new Promise((resolve) => setTimeout(resolve, 2));
  const end = Date.now() - 1;
  return Array.from({ length: n }, (_, i) => sinceMs + 1 + ((end - sinceMs - 1) * i) / n);
}

/** `n` instants evenly over the `spanMs` ending `endsAgoMs` before now. */
function recent(n: number, spanMs: number, endsAgoMs: number): number[] {
  const end = Date.now() - endsAgoMs;
  return Array.from({ length: n }, (_, i) => end - spanMs + (spanMs * i) / Math.max(1, n - 1));
}

const keyOf = (body: string) => (JSON.parse(body) as { key: string }).key;
const keysAt = (r: Receiver) => r.received.map((x) => keyOf(x.body));

/** The plain rules' alert keys of `entries`: each entry fires exactly one of op-ok, op-failed. */
function plainKeys(entries: readonly AuditLogEntry[]): string[] {
  return linesOf(entries).map((line) =>
    alertKey((JSON.parse(line) as RestEntry).success === false ? "op-failed" : "op-ok", null, [line]),
  );
}

/** Every alert of `entries` evaluated once each, oldest first (what a walk in window order gives). */
function expectedKeys(entries: readonly AuditLogEntry[]): string[] {
  const evaluator = new Evaluator(alertsPlan({ webhooks: [], stateDir: "" }).rules);
  const ns = (e: AuditLogEntry) =>
    BigInt(e.timestamp?.seconds ?? 0) * 1_000_000_000n + BigInt(e.timestamp?.nanos ?? 0);
  const sorted = [...entries].sort((a, b) => (ns(a) < ns(b) ? -1 : ns(a) > ns(b) ? 1 : 0));
  return linesOf(sorted).flatMap((line) =>
    evaluator.evaluate({ json: JSON.parse(line), line }).map((a) => a.key),
  );
}

function clientOf(user: string): AuditLogClient {
  return new AuditLogClient({ pat: pat(user), userId: user, endpoint: emu.grpcAddress, insecure: true });
}

const counts = (keys: string[]) => {
  const m = new Map<string, number>();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
};

it("delivers every alert once per destination across rounds with growth and late entries re-offered by the reconcile window", async () => {
  const [a, b] = await Promise.all([startReceiver(), startReceiver()]);
  const client = clientOf("rounds");
  const path = join(tmp.dir, "rounds", "prod.json");
  const outcomes: boolean[] = [];
  const warnings: string[] = [];
  const all: AuditLogEntry[] = [];
  const add = (entries: AuditLogEntry[]) => {
    all.push(...entries);
    emu.append(entries, "rounds");
  };
  const round = () =>
    runSync({
      client,
      store: createAlertStore({
        path,
        account: "prod",
        destination: alertsPlan({
          webhooks: [a.url, b.url],
          stateDir: tmp.dir,
          secret: "alert-signing-secret-1",
        }),
        env: {},
        warn: (line) => warnings.push(line),
        onAlert: (delivered) => outcomes.push(delivered),
      }),
      settleMs: 0,
      reconcileMs: 60_000,
      perPage: 7,
      commitEntries: 5,
      commitIntervalMs: 0,
    });
  try {
    // Ten minutes of log: a reconcile of one minute makes the store forget most keys.
    add(entriesAt(recent(40, 600_000, 5000)));
    const first = await round();
    expect(first).toMatchObject({ inserted: 40, late: 0 });
    // Growth at the head, and late entries behind the high-water mark (inside the reconcile window).
    add(entriesAt(await after(Date.now(), 10)));
    add(entriesAt(recent(6, 20_000, 3000)));
    const second = await round();
    expect(second).toMatchObject({ inserted: 16, late: 6 });
    expect(second.walked).toBeGreaterThan(16);
    // Nothing new: the reconcile window is offered again, and nothing is evaluated twice.
    const third = await round();
    expect(third).toMatchObject({ inserted: 0, late: 0 });
    expect(third.walked).toBeGreaterThan(0);
    add(entriesAt(await after(Date.now(), 5)));
    expect(await round()).toMatchObject({ inserted: 5, late: 0, totals: { entries: 61, late: 6, runs: 4 } });

    for (const r of [a, b]) {
      const got = counts(keysAt(r));
      expect([...got.values()].filter((n) => n !== 1)).toEqual([]);
      for (const k of plainKeys(all)) expect(got.get(k)).toBe(1);
      // Signed with the plan's secret, keyed in a header as watch does.
      expect(r.received[0]?.headers["x-clarifai-audit-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
      expect(r.received.every((x) => x.headers["x-clarifai-audit-alert-key"] === keyOf(x.body))).toBe(true);
    }
    expect(a.received.length).toBeGreaterThan(61);
    expect(outcomes).toEqual(Array(a.received.length + b.received.length).fill(true));
    expect(warnings).toEqual([]);
    // The outbox of the last commit is delivered; the journal holds only its pairs.
    const cp = JSON.parse(readFileSync(path, "utf8")) as { outbox: unknown[]; keysFrom?: string };
    expect(cp.keysFrom).toBeDefined();
    expect(existsSync(`${path}.dead-letter.jsonl`)).toBe(false);
  } finally {
    client.close();
    await Promise.all([a.close(), b.close()]);
  }
}, 30_000);

it("a receiver down (5xx) is retried; what still fails is dead-lettered once, the others go on, nothing is lost", async () => {
  const [up, down] = await Promise.all([startReceiver(), startReceiver()]);
  const client = clientOf("down");
  const path = join(tmp.dir, "down", "prod.json");
  const warnings: string[] = [];
  const outcomes: boolean[] = [];
  const all: AuditLogEntry[] = [];
  const add = (entries: AuditLogEntry[]) => {
    all.push(...entries);
    emu.append(entries, "down");
  };
  const round = async () => {
    const store = createAlertStore({
      path,
      account: "prod",
      destination: alertsPlan({ webhooks: [up.url, down.url], stateDir: tmp.dir, attempts: 3, backoffMs: 5 }),
      env: {},
      warn: (line) => warnings.push(line),
      onAlert: (delivered) => outcomes.push(delivered),
    });
    await runSync({ client, store, settleMs: 0, reconcileMs: 60_000, perPage: 10, commitIntervalMs: 0 });
    return store;
  };
  try {
    // Down for good during the first round: three attempts each, then the dead-letter file.
    down.behave = () => 503;
    add(entriesAt(recent(4, 10_000, 2000)).map((e) => ({ ...e, success: false })));
    const first = await round();
    expect(first.deadLettered).toBe(4);
    // Back, failing twice now and then: retried within the attempts, delivered.
    let n = 0;
    down.behave = () => (n++ % 3 < 2 ? 503 : 200);
    add(entriesAt(await after(Date.now(), 3)).map((e) => ({ ...e, success: false })));
    const second = await round();
    expect(second.deadLettered).toBe(0);
    const keys = plainKeys(all);
    expect(keysAt(up).sort()).toEqual([...keys].sort());
    expect(keysAt(down).sort()).toEqual(keys.slice(4).sort());
    const dead = readFileSync(`${path}.dead-letter.jsonl`, "utf8")
      .trim()
      .split("\n")
      .map(
        (l) =>
          JSON.parse(l) as { destination: string; attempts: number; error: string; alert: { key: string } },
      );
    expect(dead.map((d) => d.alert.key).sort()).toEqual(keys.slice(0, 4).sort());
    expect(dead.every((d) => d.attempts === 3 && d.error === "HTTP 503")).toBe(true);
    expect(warnings).toHaveLength(4);
    expect(warnings[0]).toMatch(
      /^clarifai-audit: warning: alerts alerts \(account prod\): alert \S+ \(op-failed\) not delivered to webhook:http:\/\/127\.0\.0\.1:\d+\/hook#[0-9a-f]{8} after 3 attempt\(s\): HTTP 503; written to .*dead-letter\.jsonl$/,
    );
    expect(outcomes.filter((d) => !d)).toHaveLength(4);
    expect(outcomes.filter((d) => d)).toHaveLength(7 + 3);
  } finally {
    client.close();
    await Promise.all([up.close(), down.close()]);
  }
}, 30_000);

it("killed at every commit step and at random instants, the next run goes on: every alert reaches each destination once (at most the pair in flight per kill again)", async () => {
  const [a, b] = await Promise.all([startReceiver(), startReceiver()]);
  const path = join(tmp.dir, "crash", "prod.json");
  const cfg: ChildConfig = {
    endpoint: emu.grpcAddress,
    pat: pat("crash"),
    userId: "crash",
    path,
    webhooks: [a.url, b.url],
    stateDir: tmp.dir,
    reconcileMs: 3_600_000,
    perPage: 6,
    commitEntries: 4,
  };
  const all: AuditLogEntry[] = [];
  let since = Date.now();
  const grow = async (n: number) => {
    const entries = entriesAt(await after(since, n));
    all.push(...entries);
    emu.append(entries, "crash");
  };
  const start = (crash?: string) =>
    collect(
      spawn(process.execPath, [child, JSON.stringify(cfg)], {
        env: { PATH: process.env.PATH ?? "", ...(crash ? { CLARIFAI_AUDIT_CRASH_AT: crash } : {}) },
        stdio: ["ignore", "pipe", "pipe"],
      }),
    );
  let kills = 0;
  try {
    const points = [
      "sync.window-pinned",
      "alerts.outbox-written:2",
      "alerts.delivered-one:3",
      "alerts.outbox-written:1",
      "alerts.delivered-one:2",
      "sync.window-walked",
      "sync.run-ended",
      "sync.closed",
    ];
    for (const point of points) {
      await grow(9);
      const r = await start(point);
      since = Date.now();
      expect({ point, signal: r.signal, stderr: r.stderr }).toEqual({ point, signal: "SIGKILL", stderr: "" });
      kills++;
    }
    let rand = 11;
    for (let i = 0; i < 4; i++) {
      await grow(9);
      const run = spawn(process.execPath, [child, JSON.stringify(cfg)], {
        env: { PATH: process.env.PATH ?? "" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      const done = collect(run);
      rand = (rand * 1103515245 + 12345) % 2147483648;
      // Killed once it has delivered a few alerts, at a random count of them.
      const at = a.received.length + 1 + (rand % 12);
      const timer = setInterval(() => {
        if (a.received.length >= at) run.kill("SIGKILL");
      }, 1);
      const r = await done.finally(() => clearInterval(timer));
      since = Date.now();
      if (r.signal === "SIGKILL") kills++;
      else expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    }
    // The random instants fell inside runs (a run may end before its count is reached).
    expect(kills).toBeGreaterThan(points.length);
    const last = await start();
    expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });
    const expected = expectedKeys(all);
    expect(expected.length).toBeGreaterThan(all.length);
    for (const r of [a, b]) {
      const got = keysAt(r);
      expect([...new Set(got)].sort()).toEqual([...new Set(expected)].sort());
      expect(got.length - new Set(got).size).toBeLessThanOrEqual(kills);
    }
    expect(existsSync(`${path}.dead-letter.jsonl`)).toBe(false);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}, 60_000);

it("a later round with a wider reconcile window than the keys kept: older entries are taken as evaluated (one warning), never alerted twice; keepKeysMs keeps them", async () => {
  const receiver = await startReceiver();
  const client = clientOf("wider");
  const warnings: string[] = [];
  const store = (path: string, keepKeysMs?: number) =>
    createAlertStore({
      path,
      account: "prod",
      destination: alertsPlan({ webhooks: [receiver.url], stateDir: tmp.dir }),
      env: {},
      warn: (line) => warnings.push(line),
      ...(keepKeysMs !== undefined ? { keepKeysMs } : {}),
    });
  const round = (path: string, reconcileMs: number, keepKeysMs?: number) =>
    runSync({
      client,
      store: store(path, keepKeysMs),
      settleMs: 0,
      reconcileMs,
      perPage: 10,
      commitIntervalMs: 0,
    });
  try {
    const entries = entriesAt(recent(20, 600_000, 5000));
    emu.append(entries, "wider");
    const plain = join(tmp.dir, "wider", "plain.json");
    const kept = join(tmp.dir, "wider", "kept.json");
    expect(await round(plain, 60_000)).toMatchObject({ inserted: 20 });
    expect(await round(kept, 60_000, 3_600_000)).toMatchObject({ inserted: 20 });
    expect(warnings).toEqual([]);
    // An hour back now: the first store forgot the keys older than a minute, the second kept them.
    expect(await round(plain, 3_600_000)).toMatchObject({ inserted: 0, walked: 20 });
    expect(warnings).toEqual([
      expect.stringMatching(
        /^clarifai-audit: warning: alerts alerts \(account prod\): this run re-reads entries older than the keys the alert checkpoint keeps; those are taken as evaluated/,
      ),
    ]);
    expect(await round(kept, 3_600_000, 3_600_000)).toMatchObject({ inserted: 0, walked: 20 });
    expect(warnings).toHaveLength(1);
    const got = counts(keysAt(receiver));
    expect([...got.values()].every((n) => n === 2)).toBe(true);
    for (const k of plainKeys(entries)) expect(got.get(k)).toBe(2);
  } finally {
    client.close();
    await receiver.close();
  }
});
