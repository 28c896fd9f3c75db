/**
 * Throttling (in-band 11005) and gRPC UNAVAILABLE bursts during an export: it finishes, complete, and
 * reports its retries; against an account's concurrency limit it lowers the pages in flight.
 */
import { join } from "node:path";
import { entryToJsonLine } from "../../src/codec/entryPrinter.js";
import { generateEntries, startEmulator } from "../../src/emulator/index.js";
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
