/**
 * Seams between commands, with the built CLI against the emulator: a destination or checkpoint is
 * locked for the whole life of `sync --follow` and `watch` (between runs and polls too), every
 * command ends quietly with exit 0 when the reader of its stdout goes away (`| head -1`), a second
 * signal exits 130 at once, and connection flags are refused alike where they do not apply.
 */
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import {
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
import { BASE_ISO, entry, startReceiver } from "./watchHelpers.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let conn: string[];
/** A rule without `match`: every entry raises an alert. */
let everyEntry: string;
/** The emulator's log as an export file. */
let exportFile: string;
/** A lake synced from the emulator. */
let lake: string;

const FROM = ["--from", "2000-01-01T00:00:00Z"];

beforeAll(async () => {
  tmp = tempDir();
  emu = await startEmulator({ pats: { [PAT]: USER }, entries: generateEntries(2_000, 7), restPort: false });
  conn = connection(emu.grpcAddress);
  everyEntry = join(tmp.dir, "every.yaml");
  writeFileSync(everyEntry, "rules:\n  - id: every\n    severity: low\n");
  exportFile = join(tmp.dir, "log.jsonl");
  lake = join(tmp.dir, "lake");
  const [exported, synced] = await Promise.all([
    runCli(["export", ...conn, "--out", exportFile, "--settle", "0s", "--quiet"]),
    runCli(["sync", ...conn, "--dest", lake, "--settle", "0s", "--quiet"]),
  ]);
  expect([exported.code, exported.stderr]).toEqual([0, expect.any(String)]);
  expect(synced.code).toBe(0);
}, 120_000);

afterAll(async () => {
  await emu?.close();
  tmp?.cleanup();
});

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l);
}

/** Stops `child` with SIGTERM and returns its result. */
async function stop(child: ChildProcess, done: ReturnType<typeof collect>) {
  child.kill("SIGTERM");
  return done;
}

describe("a lock held for the whole life of a long-running command", () => {
  it("a second sync of a lake is refused while sync --follow waits between runs", async () => {
    const dir = join(tmp.dir, "follow-lake");
    const follow = spawnCli([
      "sync",
      ...conn,
      "--dest",
      dir,
      "--settle",
      "0s",
      "--follow",
      "--interval",
      "1h",
    ]);
    const done = collect(follow);
    // The first run's summary line: from here on it waits out its hour between runs.
    await waitForStderr(follow, (t) => /^synced \d+ new entries/m.test(t));
    const second = await runCli(["sync", ...conn, "--dest", dir, "--settle", "0s"]);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/^clarifai-audit: error: --dest: another sync is running on .*follow-lake/);
    expect(lines(second.stderr)).toHaveLength(1);
    const r = await stop(follow, done);
    expect(r.code).toBe(0);
    // Released at the end: the next sync runs.
    const third = await runCli(["sync", ...conn, "--dest", dir, "--settle", "0s", "--quiet"]);
    expect(third.code).toBe(0);
  }, 120_000);

  it("a second sync of a PostgreSQL table is refused while sync --follow waits between runs", async () => {
    const { startPostgres } = await import("../helpers/postgres.js");
    const server = await startPostgres();
    try {
      const url = await server.createDatabase("follow");
      const args = ["sync", ...conn, "--dest", url, "--settle", "0s"];
      const follow = spawnCli([...args, "--follow", "--interval", "1h"]);
      const done = collect(follow);
      await waitForStderr(follow, (t) => /^synced \d+ new entries/m.test(t));
      const second = await runCli(args);
      expect(second.code).toBe(2);
      expect(second.stderr).toMatch(
        /^clarifai-audit: error: another sync of cli-user's log at .* is running \(PostgreSQL backend pid \d+/,
      );
      expect(lines(second.stderr)).toHaveLength(1);
      const r = await stop(follow, done);
      expect(r.code).toBe(0);
      const third = await runCli([...args, "--quiet"]);
      expect(third.code).toBe(0);
    } finally {
      await server.stop();
    }
  }, 120_000);

  it("a second watch of a checkpoint is refused while watch waits between polls", async () => {
    const checkpoint = join(tmp.dir, "watch.checkpoint.json");
    const base = ["watch", ...conn, "--rules", everyEntry, "--checkpoint", checkpoint, "--quiet"];
    const first = spawnCli([...base, "--interval", "1h", "--dead-letter", join(tmp.dir, "w1.dead.jsonl")]);
    first.stdout?.resume();
    const done = collect(first);
    // Started (no --from: from now, so no alerts): the checkpoint is written after the first poll.
    const { existsSync } = await import("node:fs");
    const { until } = await import("./watchHelpers.js");
    await until(() => existsSync(checkpoint), 20_000, "the first poll's checkpoint");
    const second = await runCli([...base, "--once"]);
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/^clarifai-audit: error: --checkpoint: .* is locked by another process/);
    expect(lines(second.stderr)).toHaveLength(1);
    const r = await stop(first, done);
    expect(r.code).toBe(0);
  }, 60_000);
});

describe("| head -1: every command ends quietly with exit 0 when its reader goes away", () => {
  /** Runs the CLI, closes its stdout after the first chunk, and returns its exit and stderr. */
  async function readOneChunk(args: string[]): Promise<{ code: number | null; stderr: string; got: number }> {
    const child = spawnCli(args);
    let stderr = "";
    let got = 0;
    child.stderr?.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    child.stdout?.once("data", (d: Buffer) => {
      got = d.length;
      child.stdout?.destroy();
    });
    const code = await new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c)));
    return { code, stderr, got };
  }

  const cases: Array<[string, () => string[]]> = [
    ["search --all", () => ["search", ...conn, "--all", "--per-page", "50", "--format", "jsonl", "-q"]],
    [
      "search --format table",
      () => ["search", ...conn, "--all", "--per-page", "50", "--format", "table", "-q"],
    ],
    ["tail", () => ["tail", ...conn, ...FROM, "--per-page", "50", "-q"]],
    ["watch --once", () => ["watch", ...conn, "--rules", everyEntry, ...FROM, "--once", "--quiet"]],
    ["rules test", () => ["rules", "test", "--rules", everyEntry, "--input", exportFile, "-q"]],
    ["query", () => ["query", "--lake", lake, "--format", "jsonl", "SELECT * FROM audit_log"]],
  ];
  it.each(cases)(
    "%s",
    async (_name, args) => {
      const r = await readOneChunk(args());
      expect(r.got).toBeGreaterThan(0);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    },
    60_000,
  );
});

describe("a second signal exits 130 at once", () => {
  /** Sends SIGINT every 50 ms until `child` exits (two signals at once may merge into one). */
  async function interruptUntilExit(child: ChildProcess, done: ReturnType<typeof collect>) {
    const timer = setInterval(() => child.kill("SIGINT"), 50);
    try {
      return await done;
    } finally {
      clearInterval(timer);
    }
  }

  it("watch waiting for a webhook that does not answer", async () => {
    const hanging = await startReceiver();
    hanging.behave = () => "hang";
    let asked = false;
    const behave = hanging.behave;
    hanging.behave = (n, body) => {
      asked = true;
      return behave(n, body);
    };
    try {
      const child = spawnCli([
        "watch",
        ...conn,
        "--rules",
        everyEntry,
        ...FROM,
        "--once",
        "--quiet",
        "--alert-webhook",
        hanging.url,
        "--alert-timeout",
        "30s",
        "--alert-attempts",
        "1",
        "--dead-letter",
        join(tmp.dir, "hang.dead.jsonl"),
      ]);
      child.stdout?.resume();
      const done = collect(child);
      const { until } = await import("./watchHelpers.js");
      await until(() => asked, 20_000, "the webhook's first request");
      const r = await interruptUntilExit(child, done);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 130, stderr: expect.any(String) });
    } finally {
      await hanging.close();
    }
  }, 60_000);
});

describe("an interrupt message names only the command's own flags", () => {
  it("report interrupted during a live window: exit 130, no --resume (which report does not have)", async () => {
    emu.setFaults({ latencyMs: 200 });
    try {
      const out = join(tmp.dir, "interrupted.html");
      const child = spawnCli([
        "report",
        ...conn,
        ...FROM,
        "--out",
        out,
        "--per-page",
        "10",
        "--concurrency",
        "1",
      ]);
      const done = collect(child);
      await waitForStderr(child, (t) => t.includes("reporting on the window"));
      child.kill("SIGINT");
      const r = await done;
      expect(r.code).toBe(130);
      const err = lines(r.stderr);
      expect(err).toHaveLength(2);
      expect(err[1]).toMatch(
        /^clarifai-audit: error: report interrupted after \d+ entries; no report was written \(run it again\)$/,
      );
      const { existsSync } = await import("node:fs");
      expect(existsSync(out)).toBe(false);
    } finally {
      emu.resetFaults();
    }
  }, 60_000);
});

describe("connection flags are one group, refused alike where they do not apply", () => {
  const given: string[][] = [
    ["--endpoint", "127.0.0.1:1"],
    ["--insecure"],
    ["--user-id", "u"],
    ["--timeout", "5s"],
    ["--max-attempts", "2"],
    ["--rate-limit", "5"],
  ];
  it.each(given)("report --input F %s … is refused: one line, exit 2, nothing written", async (...flag) => {
    const out = join(tmp.dir, `refused${flag[0]}.html`);
    const r = await runMain(["report", "--input", exportFile, "--out", out, ...flag]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
    expect(r.stderr).toMatch(
      new RegExp(`^clarifai-audit: error: ${flag[0]}: filters and connection flags select a live window`),
    );
    expect(lines(r.stderr)).toHaveLength(1);
    const { existsSync } = await import("node:fs");
    expect(existsSync(out)).toBe(false);
  });
});

describe("watch delivery", () => {
  const N = 5;
  let small: EmulatorHandle;
  beforeAll(async () => {
    const entries = Array.from({ length: N }, (_, i) => entry(10 * (i + 1), { operation: 302 }));
    small = await startEmulator({ pats: { [PAT]: USER }, entries, restPort: false });
  });
  afterAll(() => small?.close());

  function watchOnce(extra: string[]): string[] {
    return [
      "watch",
      ...connection(small.grpcAddress),
      "--rules",
      everyEntry,
      "--from",
      BASE_ISO,
      "--once",
      "--quiet",
      "--alert-attempts",
      "1",
      ...extra,
    ];
  }
  const keys = (bodies: string[]) => bodies.map((b) => (JSON.parse(b) as { key: string }).key);

  it("a slow webhook does not hold up another destination; each gets the alerts in order", async () => {
    const fast = await startReceiver();
    // The slow one answers nothing until the fast one has every alert (with one destination
    // after the other, it would wait for ever: each of its requests outlives --alert-timeout).
    const slowBodies: string[] = [];
    const held: ServerResponse[] = [];
    let released = false;
    const release = () => {
      released = true;
      for (const res of held.splice(0)) res.end("ok");
    };
    const slow = createServer((req, res) => {
      let body = "";
      req.setEncoding("utf8").on("data", (d: string) => {
        body += d;
      });
      req.on("end", () => {
        slowBodies.push(body);
        if (released) res.end("ok");
        else held.push(res);
      });
    });
    await new Promise<void>((resolve) => slow.listen(0, "127.0.0.1", resolve));
    const slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/slow`;
    fast.behave = (n) => {
      if (n + 1 === N) setImmediate(release);
      return 200;
    };
    try {
      const r = await runCli(
        watchOnce([
          "--alert-webhook",
          slowUrl,
          "--alert-webhook",
          fast.url,
          "--alert-timeout",
          "10s",
          "--dead-letter",
          join(tmp.dir, "slow.dead.jsonl"),
        ]),
      );
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      const printed = keys(lines(r.stdout));
      expect(printed).toHaveLength(N);
      expect(keys(fast.received.map((x) => x.body))).toEqual(printed);
      expect(keys(slowBodies)).toEqual(printed);
    } finally {
      release();
      slow.closeAllConnections();
      await Promise.all([fast.close(), new Promise((resolve) => slow.close(resolve))]);
    }
  }, 60_000);

  it("--once exits 5 when an alert could not be delivered, and says so in its last line", async () => {
    const failing = await startReceiver();
    failing.behave = () => 500;
    const deadLetter = join(tmp.dir, "failing.dead.jsonl");
    try {
      const r = await runCli(watchOnce(["--alert-webhook", failing.url, "--dead-letter", deadLetter]));
      expect(r.code).toBe(5);
      expect(lines(r.stdout)).toHaveLength(N);
      const err = lines(r.stderr);
      expect(err).toHaveLength(N + 1);
      expect(err[N]).toBe(
        `clarifai-audit: error: watch: ${N} alert delivery(ies) failed; written to ${deadLetter}`,
      );
    } finally {
      await failing.close();
    }
  }, 60_000);
});
