/**
 * Throttling (in-band 11005) and gRPC UNAVAILABLE bursts during an export: it finishes, complete, and
 * reports its retries; against an account's concurrency limit it lowers the pages in flight.
 */
import { join } from "node:path";
import { entryToJsonLine } from "../../packages/client/src/codec/entryPrinter.js";
import { generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { connection, fileLines, PAT, runCli, tempDir, USER } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

describe("throttling and UNAVAILABLE", () => {
  it("finishes through bursts and reports its retries", async () => {
    const emu = await startEmulator({
      pats: { [PAT]: USER },
      generate: { count: 6_000, seed: 44 },
      restPort: false,
      faults: { throttleBurst: 2, throttleEvery: 5, unavailableEvery: 7, seed: 3 },
    });
    try {
      const out = join(tmp.dir, "faults.jsonl");
      const r = await runCli([
        "export",
        ...connection(emu.grpcAddress),
        "--out",
        out,
        "--per-page",
        "200",
        "--concurrency",
        "4",
      ]);
      expect(r.code).toBe(0);
      const retries = Number(/retries (\d+)/.exec(r.stderr)![1]);
      expect(retries).toBeGreaterThanOrEqual(5);
      const expected = generateEntries(6_000, 44).map(entryToJsonLine);
      expect(new Set(fileLines(out))).toEqual(new Set(expected));
      expect(fileLines(out)).toHaveLength(expected.length);
    } finally {
      await emu.close();
    }
  });

  it("counts the retries of the window probes too", async () => {
    // The burst hits the first calls an export makes: the two 1-entry probes that pin the window.
    const emu = await startEmulator({
      pats: { [PAT]: USER },
      generate: { count: 500, seed: 45 },
      restPort: false,
      faults: { throttleBurst: 3 },
    });
    try {
      const out = join(tmp.dir, "probe-faults.jsonl");
      const r = await runCli(["export", ...connection(emu.grpcAddress), "--out", out, "--concurrency", "1"]);
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/exported 500 entries in \d+ pages? .*; retries 3, /);
    } finally {
      await emu.close();
    }
  });

  it("lowers the pages in flight to an account's concurrency limit, and says so", async () => {
    const emu = await startEmulator({
      pats: { [PAT]: USER },
      generate: { count: 20_000, seed: 46 },
      restPort: false,
      // Calls spend their latency in service, so what the client has in flight is what the server counts.
      faults: { throttleAboveInFlight: 3, latencyMs: 50 },
    });
    try {
      const out = join(tmp.dir, "limit.jsonl");
      const r = await runCli(["export", ...connection(emu.grpcAddress), "--out", out, "--per-page", "200"]);
      expect(r.code).toBe(0);
      const m = /pages in flight lowered to (\d+) of 12 after retries; /.exec(r.stderr);
      expect(m).not.toBeNull();
      expect(Number(m![1])).toBeLessThanOrEqual(3);
      const expected = generateEntries(20_000, 46).map(entryToJsonLine);
      expect(new Set(fileLines(out))).toEqual(new Set(expected));
      expect(fileLines(out)).toHaveLength(expected.length);
    } finally {
      await emu.close();
    }
  });
});

describe("attempts per page request, as --help prints them", () => {
  // Throttles that name a limit (a rate limit is set) are retried in the request budget's turn, not
  // after a backoff, so ten attempts take well under a second. An export's first two calls are the
  // window probes, sent at once: a burst of K throttles is shared between them.
  let emu: Awaited<ReturnType<typeof startEmulator>>;
  beforeAll(async () => {
    emu = await startEmulator({
      pats: { [PAT]: USER },
      generate: { count: 50, seed: 47 },
      restPort: false,
      rateLimit: 1000,
    });
  });
  afterAll(() => emu.close());
  async function exportThrough(
    faults: { throttleBurst?: number; throttleEvery?: number },
    extra: string[] = [],
  ) {
    emu.setFaults(faults);
    const before = emu.calls;
    const out = join(tmp.dir, `attempts-${JSON.stringify(faults).replace(/\W/g, "")}-${extra.length}.jsonl`);
    const r = await runCli([
      "export",
      ...connection(emu.grpcAddress),
      "--out",
      out,
      "--concurrency",
      "1",
      ...extra,
    ]);
    emu.resetFaults();
    return { ...r, calls: emu.calls - before };
  }

  it("export's default (10): nine throttles are survived whichever call gets them; always throttled, it ends after 10 attempts (exit 4)", async () => {
    const survived = await exportThrough({ throttleBurst: 9 });
    expect(survived.code).toBe(0);
    expect(survived.stderr).toMatch(/exported 50 entries in \d+ pages? .*; retries 9, /);
    const ended = await exportThrough({ throttleEvery: 1 });
    expect(ended.code).toBe(4);
    expect(ended.stderr).toMatch(/^clarifai-audit: error: .*11005.*after 10 attempts/m);
    // Each probe gives up after its tenth attempt; the second may be cut short by the first's failure.
    expect(ended.calls).toBeGreaterThanOrEqual(10);
    expect(ended.calls).toBeLessThanOrEqual(20);
  });

  it("--max-attempts 5: nine throttles over the two probes give one of them five in a row, which ends it", async () => {
    const ended = await exportThrough({ throttleBurst: 9 }, ["--max-attempts", "5"]);
    expect(ended.code).toBe(4);
    expect(ended.stderr).toMatch(/^clarifai-audit: error: .*11005.*after 5 attempts/m);
    expect(ended.calls).toBeLessThanOrEqual(10);
  });
});
