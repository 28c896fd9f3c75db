/**
 * Durable resume: SIGKILL at seeded random points, then --resume, gives a file byte-identical to an
 * uninterrupted export (jsonl, csv.gz, json); SIGINT exits 130 with a resumable manifest; resume
 * refuses a different query.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type EmulatorHandle, startEmulator } from "../../src/emulator/index.js";
import { collect, connection, PAT, prng, runCli, spawnCli, tempDir, USER, waitForStderr } from "./helpers.js";

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

describe("crash and resume", () => {
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
      generate: { count: 8_000, seed: 33 },
      restPort: false,
      faults: { latencyMs: 8 },
    });
  });
  afterAll(() => emu.close());

  /** Runs the export, SIGKILLing it at seeded points, resuming until it completes; returns the kill count. */
  async function killAndResume(out: string, seed: number): Promise<number> {
    const rnd = prng(seed);
    let kills = 0;
    for (let attempt = 0; attempt < 8; attempt++) {
      const resume = attempt > 0 && existsSync(`${out}.manifest.json`);
      const child = spawnCli([...args(out), ...(resume ? ["--resume"] : [])]);
      const done = collect(child);
      if (attempt < 3) {
        await waitForStderr(child, (t) => /window from/.test(t));
        await new Promise((resolve) => setTimeout(resolve, 30 + rnd() * 400));
        child.kill("SIGKILL");
      }
      const r = await done;
      if (r.signal === "SIGKILL") {
        kills++;
        continue;
      }
      expect(r.code).toBe(0);
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
    await waitForStderr(child, (t) => /window from/.test(t));
    await new Promise((resolve) => setTimeout(resolve, 200));
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
    expect(other.stderr).toMatch(/^clarifai-audit: error: refusing to resume: .* different query/);
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
