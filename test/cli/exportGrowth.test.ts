/**
 * Export while the emulator grows the log, late entries inside the pinned window included: no
 * duplicate, every entry present when the export started is exported, nothing outside the window,
 * oldest first, and the shifted pages are detected and reported.
 */
import { join } from "node:path";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { entryToJsonLine } from "../../packages/client/src/codec/entryPrinter.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { connection, fileLines, isoToNs, PAT, runCli, tempDir, USER } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

describe("a log that grows during the export", () => {
  let emu: EmulatorHandle;
  let initial: AuditLogEntry[];
  beforeAll(async () => {
    initial = generateEntries(6_000, 21);
    emu = await startEmulator({ pats: { [PAT]: USER }, entries: initial, restPort: false });
  });
  afterAll(() => emu.close());

  it.each([1, 4])(
    "concurrency %i: no duplicate, every entry present at pin time exported, nothing outside the window",
    async (concurrency) => {
      emu.setFaults({
        latencyMs: 3,
        growth: { count: 40, everyMs: 15, lateFraction: 0.6 },
        seed: concurrency,
      });
      const before = emu.size();
      const out = join(tmp.dir, `grow${concurrency}.jsonl`);
      const r = await runCli([
        "export",
        ...connection(emu.grpcAddress),
        "--out",
        out,
        "--per-page",
        "100",
        "--concurrency",
        String(concurrency),
      ]);
      emu.resetFaults();
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
      expect(emu.size()).toBeGreaterThan(before);
      const lines = fileLines(out);
      expect(new Set(lines).size).toBe(lines.length);
      const got = new Set(lines);
      const missing = initial.map(entryToJsonLine).filter((l) => !got.has(l));
      expect(missing).toEqual([]);
      const to = isoToNs(/to (\S+) \(UTC/.exec(r.stderr)![1]!);
      const ts = lines.map((l) => isoToNs((JSON.parse(l) as { timestamp: string }).timestamp));
      for (let i = 0; i < ts.length; i++) {
        expect(ts[i]! <= to).toBe(true);
        if (i > 0) expect(ts[i - 1]! <= ts[i]!).toBe(true);
      }
      expect(Number(/shifted pages (\d+)/.exec(r.stderr)![1])).toBeGreaterThan(0);
    },
  );
});
