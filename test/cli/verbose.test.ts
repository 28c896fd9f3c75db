/**
 * `-v/--verbose` in-process (main(argv, env, io); once through the built bin) against the emulator
 * on an ephemeral loopback port: one line per request on stderr with its page, offset, entries and
 * time — as many lines as the summary counts requests — throttled and failed attempts with the
 * retry that follows (a backoff, or the request budget's turn), the PAT never shown; the flag on
 * every command, worded for what it means there. Then the date forms of the time flags end to end:
 * `--from 2025-01-17 --to 2025-01-17` is exactly that day, `yesterday` the day before the run's clock.
 */
import { afterAll, beforeAll, describe, expect, it } from "@jest/globals";
import type { Command } from "commander";
import { buildProgram } from "../../packages/cli/src/cli/program.js";
import { requestLine } from "../../packages/cli/src/cli/requestLog.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import type { RequestEvent } from "../../packages/client/src/client/requestEvent.js";
import { entryToJsonLine } from "../../packages/client/src/codec/entryPrinter.js";
import { ValidationError } from "../../packages/client/src/errors.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { ManualClock } from "../helpers/manualClock.js";
import { cliEnv, connection, PAT, runCli, runMain, tempDir, USER } from "./helpers.js";

const COUNT = 1200;
let emu: EmulatorHandle;
let conn: string[];
const tmp = tempDir();
beforeAll(async () => {
  emu = await startEmulator({ pats: { [PAT]: USER }, generate: { count: COUNT, seed: 5 }, restPort: false });
  conn = connection(emu.grpcAddress);
});
afterAll(async () => {
  await emu.close();
  tmp.cleanup();
});

const LINE =
  /^clarifai-audit: request #(\d+) page=(\d+) offset=(\d+) per_page=(\d+)( \(attempt (\d+)\))? → (.*)$/;

/** The request lines of a run's stderr, parsed. */
function requests(stderr: string) {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith("clarifai-audit: request #"))
    .map((l) => {
      const m = LINE.exec(l);
      if (m === null) throw new Error(`not a request line: ${l}`);
      return {
        n: Number(m[1]),
        page: Number(m[2]),
        offset: Number(m[3]),
        perPage: Number(m[4]),
        outcome: m[7],
      };
    });
}

/** The figures of the --json object on stderr's last line. */
function figures(stderr: string): Record<string, unknown> {
  return JSON.parse(stderr.trim().split("\n").at(-1) as string) as Record<string, unknown>;
}

describe("-v/--verbose", () => {
  it("search --all: one line per page, with its offset and entries; as many as the summary's requests", async () => {
    const r = await runMain(["search", ...conn, "--all", "--per-page", "500", "-v", "--json"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(COUNT);
    const lines = requests(r.stderr);
    expect(lines.map(({ n, page, offset, perPage }) => [n, page, offset, perPage])).toEqual([
      [1, 1, 0, 500],
      [2, 2, 500, 500],
      [3, 3, 1000, 500],
    ]);
    expect(lines.map((l) => l.outcome.replace(/ in \d+ ms$/, ""))).toEqual([
      "500 entries",
      "500 entries",
      "200 entries",
    ]);
    expect(r.stderr).toMatch(/search: 1200 entries; requests 3 \(served 3, throttled 0\)/);
    expect(figures(r.stderr)).toMatchObject({ requests: 3, served: 3 });
    expect(r.stderr).not.toContain(PAT);
    // Without -v: no request line.
    const quiet = await runMain(["search", ...conn, "--all", "--per-page", "500"]);
    expect(requests(quiet.stderr)).toEqual([]);
  });

  it("export: the lines (probes and pages) number the summary's requests, each once", async () => {
    const out = `${tmp.dir}/v.jsonl`;
    const r = await runMain(["export", ...conn, "--out", out, "--per-page", "200", "--verbose", "--json"]);
    expect(r.code).toBe(0);
    const lines = requests(r.stderr);
    const summary = /; requests (\d+) \(served (\d+), throttled 0\)/.exec(r.stderr);
    expect(summary).not.toBeNull();
    expect(lines).toHaveLength(Number(summary?.[1]));
    expect(figures(r.stderr)).toMatchObject({ requests: lines.length, entries: COUNT });
    expect(lines.map((l) => l.n).sort((a, b) => a - b)).toEqual(lines.map((_, i) => i + 1));
    for (const l of lines) {
      expect(l.offset).toBe((l.page - 1) * l.perPage);
      expect(l.outcome).toMatch(/^\d+ entr(y|ies) in \d+ ms$/);
    }
    expect(r.stderr).not.toContain(PAT);
  });

  it("sync to a lake says its requests; query -v says its statement's rows and time", async () => {
    const lake = `${tmp.dir}/lake`;
    // sync's destination flag (--dest; --to is its deprecated name).
    const s = await runMain(["sync", ...conn, "--dest", lake, "--settle", "0s", "-v", "--json"]);
    expect(s.code).toBe(0);
    const lines = requests(s.stderr);
    expect(lines.length).toBeGreaterThan(0);
    expect(figures(s.stderr)).toMatchObject({ inserted: COUNT, requests: lines.length });
    const q = await runMain([
      "query",
      "--lake",
      lake,
      "SELECT count(*) AS n FROM audit_log",
      "--format",
      "jsonl",
      "-v",
    ]);
    expect(q.code).toBe(0);
    expect(q.stdout).toBe(`{"n":${COUNT}}\n`);
    expect(q.stderr).toMatch(/^(.*\n)?clarifai-audit: statement: 1 row in \d+ ms\n$/);
  });

  it("a throttled or unavailable attempt shows its code and the retry that follows", async () => {
    emu.setFaults({ throttleBurst: 1 });
    const t = await runMain(["search", ...conn, "--per-page", "10", "-v"]);
    emu.setFaults({ unavailableBurst: 1 });
    const u = await runMain(["search", ...conn, "--per-page", "10", "-v"]);
    emu.resetFaults();
    for (const [r, first] of [
      [t, /^throttled \(CONN_THROTTLED\) in \d+ ms, retry 2 in \d+ ms$/],
      [u, /^UNAVAILABLE in \d+ ms, retry 2 in \d+ ms$/],
    ] as const) {
      expect(r.code).toBe(0);
      const [a, b, ...rest] = requests(r.stderr);
      expect(rest).toEqual([]);
      expect(a?.outcome).toMatch(first);
      expect(r.stderr).toMatch(/ per_page=10 \(attempt 2\) → 10 entries in \d+ ms\n/);
      expect(b?.outcome).toMatch(/^10 entries in \d+ ms$/);
      expect(r.stderr).not.toContain(PAT);
    }
  });

  it("an attempt that ends the call says there is no retry", async () => {
    const r = await runMain(
      ["search", ...conn, "-v"],
      cliEnv({ CLARIFAI_PAT: "not-the-pat-but-a-secret-0123" }),
    );
    expect(r.code).not.toBe(0);
    expect(requests(r.stderr).map((l) => l.outcome.replace(/\d+ ms/, "N ms"))).toEqual([
      "CONN_KEY_INVALID in N ms, no retry",
    ]);
    expect(r.stderr).not.toContain("not-the-pat-but-a-secret-0123");
  });

  it("as users run it (the built bin): one line for one page, no PAT", async () => {
    const r = await runCli(["search", ...conn, "--per-page", "5", "-v"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /^clarifai-audit: request #1 page=1 offset=0 per_page=5 → 5 entries in \d+ ms\n$/,
    );
  });

  it("every command takes -v/--verbose, worded for what it does there", () => {
    const { program } = buildProgram();
    const runnable = (cmd: Command): Command[] =>
      cmd.commands.length === 0 ? [cmd] : cmd.commands.flatMap(runnable);
    const commands = program.commands.flatMap(runnable);
    expect(commands.length).toBeGreaterThanOrEqual(10);
    const noRequest = new Set([
      "query",
      "rules check",
      "rules test",
      "verify",
      "keys generate",
      "emulator",
      "config list",
      "config show",
      "config check",
      "completion",
    ]);
    const path = (cmd: Command): string =>
      cmd.parent?.parent ? `${cmd.parent.name()} ${cmd.name()}` : cmd.name();
    for (const cmd of commands) {
      const v = cmd.options.find((o) => o.long === "--verbose");
      expect({ cmd: cmd.name(), short: v?.short }).toEqual({ cmd: cmd.name(), short: "-v" });
      expect({ cmd: cmd.name(), text: v?.description }).toEqual({
        cmd: cmd.name(),
        text: noRequest.has(path(cmd))
          ? expect.stringMatching(/makes? (no request|none)/)
          : expect.stringMatching(/per request/),
      });
    }
  });

  it("rules check -v is accepted and changes nothing", async () => {
    const plain = await runMain(["rules", "check", "builtin"]);
    const verbose = await runMain(["rules", "check", "builtin", "-v"]);
    expect(verbose).toEqual(plain);
    expect(plain.code).toBe(0);
  });

  it("the line of a paced retry, and of a single entry", () => {
    const event: RequestEvent = {
      request: 7,
      attempt: 3,
      page: 2,
      perPage: 500,
      durationMs: 12.4,
      outcome: "throttled",
      entries: 0,
      code: "CONN_THROTTLED",
      retry: { attempt: 4, delayMs: 0, paced: true },
    };
    expect(requestLine(event)).toBe(
      "clarifai-audit: request #7 page=2 offset=500 per_page=500 (attempt 3) → throttled (CONN_THROTTLED) in 12 ms, retry 4 when the rate budget gives it a turn",
    );
    expect(requestLine({ ...event, attempt: 1, outcome: "served", entries: 1, durationMs: 0.4 })).toBe(
      "clarifai-audit: request #7 page=2 offset=500 per_page=500 → 1 entry in 0 ms",
    );
  });
});

describe("the client's onRequest", () => {
  it("must be a function; an observer that throws does not change the call", async () => {
    const options = { pat: PAT, userId: USER, endpoint: emu.grpcAddress, insecure: true };
    expect(() => new AuditLogClient({ ...options, onRequest: "log" as never })).toThrow(ValidationError);
    const seen: RequestEvent[] = [];
    const client = new AuditLogClient({
      ...options,
      onRequest: (e) => {
        seen.push(e);
        throw new Error("observer bug");
      },
    });
    try {
      const page = await client.search({ perPage: 3, page: 2 });
      expect(page.entries).toHaveLength(3);
      expect(seen).toEqual([
        {
          request: 1,
          attempt: 1,
          page: 2,
          perPage: 3,
          durationMs: expect.any(Number),
          outcome: "served",
          entries: 3,
        },
      ]);
      expect(JSON.stringify(seen)).not.toContain(PAT);
    } finally {
      client.close();
    }
  });

  it("a throttled attempt of a paced client retries at the budget's pace, not after a backoff", async () => {
    const seen: RequestEvent[] = [];
    const client = new AuditLogClient({
      pat: PAT,
      userId: USER,
      endpoint: emu.grpcAddress,
      insecure: true,
      rateLimit: 50,
      onRequest: (e) => seen.push(e),
    });
    emu.setFaults({ throttleBurst: 1 });
    try {
      await client.search({ perPage: 2 });
    } finally {
      emu.resetFaults();
      client.close();
    }
    expect(
      seen.map(({ request, attempt, outcome, entries, code, retry }) => ({
        request,
        attempt,
        outcome,
        entries,
        code,
        retry,
      })),
    ).toEqual([
      {
        request: 1,
        attempt: 1,
        outcome: "throttled",
        entries: 0,
        code: "CONN_THROTTLED",
        retry: { attempt: 2, delayMs: 0, paced: true },
      },
      { request: 2, attempt: 2, outcome: "served", entries: 2, code: undefined, retry: undefined },
    ]);
    expect(requestLine(seen[0] as RequestEvent)).toMatch(
      /→ throttled \(CONN_THROTTLED\) in \d+ ms, retry 2 when the rate budget gives it a turn$/,
    );
  });
});

describe("date-only and named times, end to end", () => {
  /** Five entries around 2025-01-17, to the microsecond of its ends. */
  const at = [
    [Date.UTC(2025, 0, 16, 23, 59, 59) / 1000, 999_999_000],
    [Date.UTC(2025, 0, 17) / 1000, 0],
    [Date.UTC(2025, 0, 17, 12) / 1000, 0],
    [Date.UTC(2025, 0, 17, 23, 59, 59) / 1000, 999_999_000],
    [Date.UTC(2025, 0, 18) / 1000, 0],
  ] as const;
  const entries = generateEntries(at.length, 9).map((e, i) => ({
    ...e,
    timestamp: { seconds: at[i]?.[0] as number, nanos: at[i]?.[1] as number },
  }));
  const theDay = entries.slice(1, 4).map(entryToJsonLine).reverse();
  let days: EmulatorHandle;
  beforeAll(async () => {
    days = await startEmulator({ pats: { [PAT]: USER }, entries, restPort: false });
  });
  afterAll(async () => {
    await days.close();
  });

  it("--from 2025-01-17 --to 2025-01-17 selects exactly that day's entries", async () => {
    const r = await runMain([
      "search",
      ...connection(days.grpcAddress),
      "--from",
      "2025-01-17",
      "--to",
      "2025-01-17",
      "--all",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(theDay);
    expect(r.stderr).toContain("window: from 2025-01-17T00:00:00Z to 2025-01-17T23:59:59.999999999Z (UTC)");
  });

  it("--from yesterday --to yesterday is the whole day before the run's clock", async () => {
    const r = await runMain(
      ["search", ...connection(days.grpcAddress), "--from", "yesterday", "--to", "yesterday", "--all"],
      cliEnv(),
      { clock: new ManualClock(Date.UTC(2025, 0, 18, 0, 30)) },
    );
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /^window: from 2025-01-17T00:00:00Z to 2025-01-17T23:59:59\.999999999Z \(UTC\)\nsearch: 3 entries;/,
    );
    expect(r.stdout.trim().split("\n")).toEqual(theDay);
  });

  it("a time that is not one is refused before any request, naming the forms", async () => {
    const calls = days.calls;
    const r = await runMain(["search", ...connection(days.grpcAddress), "--to", "2025-02-30"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'clarifai-audit: error: --to: "2025-02-30" is not a time (2025-02 has days 01-28): use RFC 3339 (2025-01-17T12:04:55Z), a date (2025-01-17), today, yesterday or now, in UTC\n',
    );
    expect(days.calls).toBe(calls);
  });
});
