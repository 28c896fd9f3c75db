/**
 * Durable resume: SIGKILL at seeded random points, then --resume, gives a file byte-identical to an
 * uninterrupted export (jsonl, csv.gz, json); SIGINT exits 130 with a resumable manifest; resume
 * refuses a different query.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import { Rng } from "../../packages/emulator/src/rng.js";
import {
  collect,
  committedAtLeast,
  committedEntries,
  connection,
  PAT,
  runCli,
  spawnCli,
  tempDir,
  USER,
} from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

describe("crash and resume", () => {
  const TOTAL = 8_000;
  let emu: EmulatorHandle;
  const args = (out: string) => [
    "export",
    ...connection(emu.grpcAddress),
    "--out",
    out,
    "--per-page",
    "200",
    "--concurrency",
    "3",
    "--commit-interval",
    "0",
  ];
  beforeAll(async () => {
    emu = await startEmulator({
      pats: { [PAT]: USER },
      generate: { count: TOTAL, seed: 33 },
      restPort: false,
      faults: { latencyMs: 8 },
    });
  });
  afterAll(() => emu.close());

  /**
   * Runs the export, SIGKILLing it at seeded points of its progress and resuming until it
   * completes; returns how many kills left an interrupted export behind.
   */
  async function killAndResume(out: string, seed: number): Promise<number> {
    const rnd = new Rng(seed);
    let kills = 0;
    for (let attempt = 0; attempt < 8; attempt++) {
      const resume = attempt > 0 && existsSync(`${out}.manifest.json`);
      const child = spawnCli([...args(out), ...(resume ? ["--resume"] : [])]);
      const done = collect(child);
      if (attempt < 3) {
        const from = Math.max(0, committedEntries(out));
        await committedAtLeast(child, out, from + Math.floor(rnd.next() * (TOTAL - from) * 0.6));
        child.kill("SIGKILL");
      }
      const r = await done;
      if (r.signal === "SIGKILL") {
        // A kill that came after the finish (output in place, manifest gone) interrupted nothing.
        if (existsSync(out) && !existsSync(`${out}.manifest.json`)) return kills;
        kills++;
        continue;
      }
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
      return kills;
    }
    throw new Error("export did not complete");
  }

  it.each([
    ["jsonl", 7],
    ["csv.gz", 8],
  ])(
    "SIGKILL at random points, then --resume: byte-identical to an uninterrupted export (%s)",
    async (ext, seed) => {
      const reference = join(tmp.dir, `ref.${ext}`);
      expect((await runCli(args(reference))).code).toBe(0);
      const out = join(tmp.dir, `killed.${ext}`);
      const kills = await killAndResume(out, seed);
      expect(kills).toBeGreaterThan(0);
      expect(readFileSync(out).equals(readFileSync(reference))).toBe(true);
      expect(existsSync(`${out}.manifest.json`)).toBe(false);
      expect(existsSync(`${out}.partial`)).toBe(false);
    },
  );

  it("SIGINT stops with exit 130 and a resumable manifest; resume refuses a different query", async () => {
    // JSON, so that resuming mid-array (commas, closing bracket) is covered too.
    const reference = join(tmp.dir, "ref.json");
    expect((await runCli(args(reference))).code).toBe(0);
    const out = join(tmp.dir, "int.json");
    const child = spawnCli(args(out));
    const done = collect(child);
    await committedAtLeast(child, out, TOTAL / 4);
    child.kill("SIGINT");
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(
      /clarifai-audit: error: export interrupted after \d+ entries; rerun with --resume/,
    );
    const manifest = JSON.parse(readFileSync(`${out}.manifest.json`, "utf8")) as {
      committed: { bytes: number; entries: number };
    };
    expect(readFileSync(`${out}.partial`).length).toBe(manifest.committed.bytes);

    const other = await runCli([...args(out), "--resume", "--operation", "MODEL_CREATE"]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(
      /^clarifai-audit: error: refusing to resume: \S+\.manifest\.json holds the log of user \S+ at \S+ with no --operation; this export asks for --operation MODEL_CREATE \(the other fields match\); resume with the same options, or pass --force to start over\n$/,
    );
    const fresh = await runCli(args(out));
    expect(fresh.code).toBe(2);
    expect(fresh.stderr).toMatch(/pass --resume to continue it or --force/);

    const resumed = await runCli([...args(out), "--resume"]);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/^resuming window from/);
    expect(resumed.stderr).toMatch(/exported 8000 entries .*\(resumed\)/);
    expect(readFileSync(out).equals(readFileSync(reference))).toBe(true);
  });

  it("--resume without a manifest exits 2", async () => {
    const r = await runCli([...args(join(tmp.dir, "none.jsonl")), "--resume"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nothing to resume/);
  });
});
