/**
 * `clarifai-audit watch` against the emulator, with crafted entries appended while it runs and a real
 * webhook receiver on loopback: alerts exactly once across SIGKILL and restart (a threshold
 * half-reached before the kill included, and kills at random points), signed webhooks, retries,
 * timeouts and the dead-letter file, Slack and exec destinations, and start-up refusals.
 */
import { createHmac } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Evaluator } from "../../packages/cli/src/watch/evaluator.js";
import { parseRules } from "../../packages/cli/src/watch/rules.js";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { entryToJsonLine } from "../../packages/client/src/codec/index.js";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import {
  byTime,
  collect,
  connection,
  PAT,
  runCli,
  runMain,
  spawnCli,
  tempDir,
  USER,
  waitForStderr,
} from "./helpers.js";
import { BASE_ISO, entry, type Receiver, startReceiver, until } from "./watchHelpers.js";

const MODEL_CREATE = 300;
const MODEL_DELETE = 302;
const RULES = `rules:
  - id: model-deleted
    title: A model was deleted
    severity: high
    match: { operations: [MODEL_DELETE] }
  - id: failure-burst
    severity: medium
    match: { success: false }
    threshold: { count: 3, within: 10m, by: user_id }
  - id: new-ip
    title: New source IP for a user
    severity: low
    new_value: { field: source_ip, by: user_id, learn: 1h }
`;
const SECRET = "s3cret-hmac-key";

let tmp: ReturnType<typeof tempDir>;
let rulesFile: string;
beforeAll(() => {
  tmp = tempDir();
  rulesFile = join(tmp.dir, "rules.yaml");
  writeFileSync(rulesFile, RULES);
});
afterAll(() => tmp.cleanup());

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l);
}
function keyOf(json: string): string {
  return (JSON.parse(json) as { key: string }).key;
}
/** What the rules raise on `entries` evaluated oldest first, in-process. */
function expectedKeys(entries: AuditLogEntry[]): string[] {
  const ev = new Evaluator(parseRules("rules.yaml", RULES));
  return [...entries]
    .sort(byTime)
    .flatMap((e) => {
      const line = entryToJsonLine(e);
      return ev.evaluate({ json: JSON.parse(line), line });
    })
    .map((a) => a.key);
}

function watchArgs(
  emu: EmulatorHandle,
  checkpoint: string,
  receiver: Receiver,
  extra: string[] = [],
): string[] {
  return [
    "watch",
    ...connection(emu.grpcAddress),
    "--rules",
    rulesFile,
    "--checkpoint",
    checkpoint,
    "--from",
    BASE_ISO,
    "--interval",
    "40ms",
    "--per-page",
    "50",
    "--alert-webhook",
    receiver.url,
    "--alert-secret",
    SECRET,
    "--alert-backoff",
    "20ms",
    ...extra,
  ];
}

/** Learning traffic: alice and bob from their usual IPs during the learn hour. */
function learning(): AuditLogEntry[] {
  return [
    entry(10, { operation: MODEL_CREATE, user: "alice", ip: "10.1.2.3" }),
    entry(20, { operation: MODEL_CREATE, user: "bob", ip: "10.9.9.9" }),
  ];
}

describe("across SIGKILL and restart", () => {
  let emu: EmulatorHandle;
  let receiver: Receiver;
  let initial: AuditLogEntry[];
  beforeEach(async () => {
    initial = learning();
    emu = await startEmulator({ pats: { [PAT]: USER }, entries: initial, restPort: false });
    receiver = await startReceiver();
  });
  afterEach(async () => {
    await receiver.close();
    await emu.close();
  });

  it("a threshold half-reached before the kill fires once after it; nothing repeats; bodies are signed", async () => {
    const checkpoint = join(tmp.dir, "half.checkpoint.json");
    const args = watchArgs(emu, checkpoint, receiver);
    const first = spawnCli(args);
    const firstDone = collect(first);
    await waitForStderr(first, (t) => /watch starting/.test(t));
    const running = [
      entry(4000, { operation: MODEL_DELETE, user: "alice", ip: "10.1.2.3" }),
      entry(4010, { operation: MODEL_CREATE, user: "bob", success: false, ip: "10.9.9.9" }),
      entry(4020, { operation: MODEL_CREATE, user: "bob", success: false, ip: "10.9.9.9" }),
    ];
    emu.append(running);
    // Killed once the model-deleted alert is delivered (the checkpoint's outbox is empty again) and
    // two of the three failures are in the checkpoint's threshold window.
    await until(
      () => {
        try {
          const ck = JSON.parse(readFileSync(checkpoint, "utf8")) as {
            outbox: unknown[];
            rules: Record<string, { windows?: Array<[string, unknown[]]> }>;
          };
          return ck.outbox.length === 0 && ck.rules["failure-burst"]?.windows?.[0]?.[1].length === 2;
        } catch {
          return false;
        }
      },
      20_000,
      "two failures in the checkpoint's window",
    );
    expect(receiver.received).toHaveLength(1);
    first.kill("SIGKILL");
    const r1 = await firstDone;
    expect(r1.signal).toBe("SIGKILL");

    const down = [
      entry(4030, { operation: MODEL_CREATE, user: "bob", success: false, ip: "10.9.9.9" }),
      entry(4040, { operation: MODEL_CREATE, user: "alice", ip: "192.0.2.9" }),
    ];
    emu.append(down);
    const second = spawnCli(args);
    const secondDone = collect(second);
    await until(() => receiver.received.length >= 3, 20_000, "the alerts after the restart");
    second.kill("SIGTERM");
    const r2 = await secondDone;
    expect(r2.code).toBe(0);
    expect(r2.stderr).toMatch(/^watch resuming at /);

    const bodies = receiver.received.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    expect(bodies.map((b) => b.rule)).toEqual(["model-deleted", "failure-burst", "new-ip"]);
    const burst = bodies[1] as { group: string; entries: Array<{ success: boolean }>; time: string };
    expect(burst.group).toBe("bob");
    expect(burst.entries).toHaveLength(3);
    expect(burst.entries.every((e) => e.success === false)).toBe(true);
    expect((bodies[2] as { group: string }).group).toBe("alice");
    for (const r of receiver.received) {
      const sig = createHmac("sha256", SECRET).update(r.body).digest("hex");
      expect(r.headers["x-clarifai-audit-signature"]).toBe(`sha256=${sig}`);
      expect(r.headers["x-clarifai-audit-alert-key"]).toBe(keyOf(r.body));
      expect(r.headers["content-type"]).toBe("application/json");
    }
    // stdout (both runs) carries the same alerts, each once, byte-identical to the webhook bodies.
    expect([...lines(r1.stdout), ...lines(r2.stdout)]).toEqual(receiver.received.map((r) => r.body));
    expect(receiver.received.map((r) => keyOf(r.body))).toEqual(
      expectedKeys([...initial, ...running, ...down]),
    );

    // A third run finds nothing new.
    const r3 = await runCli([...args, "--once", "--quiet"]);
    expect({ code: r3.code, stdout: r3.stdout, stderr: r3.stderr }).toEqual({
      code: 0,
      stdout: "",
      stderr: "",
    });
    expect(receiver.received).toHaveLength(3);
  }, 120_000);

  it("kills at random points lose no alert and repeat at most the one in flight", async () => {
    const checkpoint = join(tmp.dir, "random.checkpoint.json");
    const args = watchArgs(emu, checkpoint, receiver, ["--quiet", "--interval", "20ms"]);
    const all: AuditLogEntry[] = [...initial];
    const users = ["alice", "bob", "carol"];
    let offset = 4000;
    let stdout: string[] = [];
    const kills = 5;
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    for (let round = 0; round < kills; round++) {
      const batch: AuditLogEntry[] = [];
      for (let i = 0; i < 12; i++) {
        const user = users[Math.floor(rand() * users.length)] as string;
        const kind = rand();
        offset += 7;
        batch.push(
          entry(offset, {
            operation: kind < 0.3 ? MODEL_DELETE : MODEL_CREATE,
            user,
            success: kind < 0.3 || kind > 0.6,
            ip: rand() < 0.15 ? `192.0.2.${Math.floor(rand() * 250)}` : "10.1.2.3",
          }),
        );
      }
      all.push(...batch);
      emu.append(batch);
      const child = spawnCli(args);
      const done = collect(child);
      await new Promise((resolve) => setTimeout(resolve, 80 + rand() * 400));
      child.kill("SIGKILL");
      stdout = [...stdout, ...lines((await done).stdout)];
    }
    const last = await runCli([...args, "--once"]);
    expect({ code: last.code, stderr: last.stderr }).toEqual({ code: 0, stderr: "" });
    stdout = [...stdout, ...lines(last.stdout)];

    const expected = expectedKeys(all);
    expect(expected.length).toBeGreaterThan(15);
    const got = receiver.received.map((r) => keyOf(r.body));
    expect([...new Set(got)].sort()).toEqual([...new Set(expected)].sort());
    expect(got.length - new Set(got).size).toBeLessThanOrEqual(kills);
    const printed = stdout.map(keyOf);
    expect([...new Set(printed)].sort()).toEqual([...new Set(expected)].sort());
    expect(printed.length - new Set(printed).size).toBeLessThanOrEqual(kills);
  }, 120_000);
});

describe("destinations", () => {
  let emu: EmulatorHandle;
  beforeAll(async () => {
    emu = await startEmulator({
      pats: { [PAT]: USER },
      entries: [...learning(), entry(4000, { operation: MODEL_DELETE, user: "alice" })],
      restPort: false,
    });
  });
  afterAll(() => emu.close());

  it("retries a failing webhook, dead-letters one that times out, posts Slack's format, runs exec", async () => {
    const flaky = await startReceiver();
    flaky.behave = (n) => (n < 2 ? 503 : 200);
    // The deadline is generous (2 s) so that, on a loaded machine, only the hanging one misses it.
    const hanging = await startReceiver();
    hanging.behave = () => "hang";
    const slack = await startReceiver();
    const execOut = join(tmp.dir, "exec.jsonl");
    const deadLetter = join(tmp.dir, "dead.jsonl");
    try {
      const r = await runCli([
        "watch",
        ...connection(emu.grpcAddress),
        "--rules",
        rulesFile,
        "--from",
        BASE_ISO,
        "--once",
        "--quiet",
        "--alert-webhook",
        flaky.url,
        "--alert-webhook",
        hanging.url,
        "--alert-slack",
        slack.url,
        "--alert-exec",
        `cat >> '${execOut}'`,
        "--alert-attempts",
        "3",
        "--alert-backoff",
        "20ms",
        "--alert-timeout",
        "2s",
        "--dead-letter",
        deadLetter,
      ]);
      // A dead-lettered alert: exit 5, so that a cron job sees it.
      expect(r.code).toBe(5);
      const out = lines(r.stdout);
      expect(out).toHaveLength(1);
      const alert = JSON.parse(out[0] as string) as { key: string; rule: string; title: string };
      expect(alert.rule).toBe("model-deleted");
      expect(flaky.received.map((x) => x.body)).toEqual(out);
      expect(flaky.received[0]?.headers["x-clarifai-audit-signature"]).toBeUndefined();
      const dead = lines(readFileSync(deadLetter, "utf8")).map(
        (l) => JSON.parse(l) as Record<string, unknown>,
      );
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({
        attempts: 3,
        error: "no answer within 2000 ms",
        alert: { key: alert.key },
      });
      expect(String(dead[0]?.destination)).toMatch(/^webhook:http:\/\/127\.0\.0\.1:\d+\/hook#[0-9a-f]{8}$/);
      expect(lines(r.stderr)).toHaveLength(2);
      expect(r.stderr).toMatch(
        /^clarifai-audit: warning: watch: alert .* not delivered to webhook:.* after 3 attempt\(s\): no answer within 2000 ms; written to /,
      );
      expect(lines(r.stderr)[1]).toBe(
        `clarifai-audit: error: watch: 1 alert delivery(ies) failed; written to ${deadLetter}`,
      );
      const text = (JSON.parse(slack.received[0]?.body ?? "{}") as { text: string }).text;
      expect(text).toMatch(
        /^\*\[HIGH\] A model was deleted\*\nrule `model-deleted`, .*MODEL_DELETE by alice/s,
      );
      expect(lines(readFileSync(execOut, "utf8"))).toEqual(out);
    } finally {
      await Promise.all([flaky.close(), hanging.close(), slack.close()]);
    }
  });

  it("--format text prints one readable line per alert", async () => {
    const r = await runCli([
      "watch",
      ...connection(emu.grpcAddress),
      "--rules",
      rulesFile,
      "--from",
      BASE_ISO,
      "--once",
      "--quiet",
      "--format",
      "text",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^2025-03-01T01:06:40(\.\d+)?Z HIGH {5}model-deleted: A model was deleted \(1 entry\) key \S{22}\n$/,
    );
  });

  it("refuses an unreachable webhook, a bad rules file and a held checkpoint at start-up: one line, exit 2", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const bad = join(tmp.dir, "bad.yaml");
    writeFileSync(
      bad,
      "rules:\n  - id: x\n    severity: high\n    threshold: { count: 3, within: 10 minutes }\n",
    );
    const base = ["watch", ...connection(emu.grpcAddress), "--from", BASE_ISO, "--once"];
    const callsBefore = emu.calls;
    const cases: Array<[string[], RegExp]> = [
      [
        ["--rules", rulesFile, "--alert-webhook", `http://127.0.0.1:${port}/x`],
        new RegExp(
          `^clarifai-audit: error: --alert-webhook: http://127\\.0\\.0\\.1:${port}/x: cannot connect to 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`,
        ),
      ],
      [
        ["--rules", rulesFile, "--alert-webhook", "ftp://example.com/x"],
        /^clarifai-audit: error: --alert-webhook: "ftp:\/\/example\.com\/x" is not an http\(s\) URL\n$/,
      ],
      [
        ["--rules", bad],
        /^clarifai-audit: error: .*bad\.yaml: rule "x" \(rules\[0\]\): threshold\.within: not a duration: "10 minutes"/,
      ],
      [
        ["--rules", join(tmp.dir, "missing.yaml")],
        /^clarifai-audit: error: --rules: cannot read .*missing\.yaml \(ENOENT\)/,
      ],
      [["--rules", rulesFile, "--rules", rulesFile], /rule "model-deleted": id: already defined in /],
    ];
    for (const [extra, message] of cases) {
      const r = await runMain([...base, ...extra]);
      expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
      expect(r.stderr).toMatch(message);
      expect(lines(r.stderr)).toHaveLength(1);
    }
    expect(emu.calls).toBe(callsBefore);

    const checkpoint = join(tmp.dir, "held.checkpoint.json");
    writeFileSync(
      `${checkpoint}.lock`,
      JSON.stringify({ pid: process.pid, host: (await import("node:os")).hostname() }),
    );
    const held = await runCli([...base, "--rules", rulesFile, "--checkpoint", checkpoint]);
    expect(held.code).toBe(2);
    expect(held.stderr).toMatch(/^clarifai-audit: error: --checkpoint: .* is locked by another process/);
    expect(existsSync(checkpoint)).toBe(false);
  }, 120_000);
});
