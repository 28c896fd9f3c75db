/**
 * `--format ocsf` end to end against the emulator: `export` (to a file, format from the flag or the
 * `.ocsf.jsonl` name, and to stdout), `search` and `tail` print one OCSF event per entry, each valid
 * for its class, in the same order and with the same ids as the JSONL export of the same window; an
 * OCSF export killed mid-way and resumed holds every entry once, byte for byte the uninterrupted file.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { lineKey } from "../../packages/client/src/domain/entryKey.js";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import { collect, connection, fileLines, PAT, runMain, spawnCli, tempDir, USER } from "../cli/helpers.js";
import { errorsOf } from "./ocsfHelpers.js";

const TOTAL = 1200;
let emu: EmulatorHandle;
let tmp: ReturnType<typeof tempDir>;
// A fixed window, so every command reads the same entries.
const WINDOW = ["--from", "2000-01-01T00:00:00Z", "--to", "2100-01-01T00:00:00Z"];
let jsonl: string[];

beforeAll(async () => {
  tmp = tempDir();
  emu = await startEmulator({
    pats: { [PAT]: USER },
    generate: { count: TOTAL, seed: 240 },
    restPort: false,
    faults: { latencyMs: 20 },
  });
  const out = join(tmp.dir, "all.jsonl");
  const r = await runMain(["export", ...connection(emu.grpcAddress), ...WINDOW, "--out", out, "-q"]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
  jsonl = fileLines(out);
  expect(jsonl).toHaveLength(TOTAL);
});
afterAll(async () => {
  await emu.close();
  tmp.cleanup();
});

/** Checks OCSF lines against the JSONL export: one valid event per entry, same order, same ids. */
function expectEventsOfJsonl(lines: readonly string[]): void {
  expect(lines).toHaveLength(jsonl.length);
  for (const [i, line] of lines.entries()) {
    const event = JSON.parse(line) as Record<string, unknown>;
    expect(errorsOf(event)).toEqual([]);
    expect(event.raw_data).toBe(jsonl[i]);
    expect((event.metadata as { uid?: string }).uid).toBe(lineKey(jsonl[i] as string));
  }
}

describe("export --format ocsf", () => {
  let fileText: string;
  test("to a file: one valid event per entry, the JSONL export's entries and ids", async () => {
    const out = join(tmp.dir, "events.ocsf.jsonl");
    const r = await runMain(["export", ...connection(emu.grpcAddress), ...WINDOW, "--out", out, "-q"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    fileText = readFileSync(out, "utf8");
    expectEventsOfJsonl(fileLines(out));
    // The name implied the format; --format says the same.
    const flagged = join(tmp.dir, "flagged.txt");
    const f = await runMain([
      "export",
      ...connection(emu.grpcAddress),
      ...WINDOW,
      "--out",
      flagged,
      "--format",
      "ocsf",
      "-q",
    ]);
    expect(f.code).toBe(0);
    expect(readFileSync(flagged, "utf8")).toBe(fileText);
  });

  test("to stdout: byte for byte the file", async () => {
    const r = await runMain([
      "export",
      ...connection(emu.grpcAddress),
      ...WINDOW,
      "--out",
      "-",
      "--format",
      "ocsf",
      "-q",
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(fileText);
  });
});

test("search --all and tail print the same events", async () => {
  const search = await runMain([
    "search",
    ...connection(emu.grpcAddress),
    ...WINDOW,
    "--all",
    "--asc",
    "--per-page",
    "1000",
    "--format",
    "ocsf",
    "-q",
  ]);
  expect(search.code).toBe(0);
  expectEventsOfJsonl(search.stdout.split("\n").filter((l) => l !== ""));
  const tail = await runMain([
    "tail",
    ...connection(emu.grpcAddress),
    "--from",
    "2000-01-01T00:00:00Z",
    "--format",
    "ocsf",
    "-q",
  ]);
  expect(tail.stderr).toBe("");
  expect(tail.code).toBe(0);
  expectEventsOfJsonl(tail.stdout.split("\n").filter((l) => l !== ""));
});

describe("resume", () => {
  /** Entries the manifest of `out` has committed, or -1 while there is none. */
  function committed(out: string): number {
    try {
      return (JSON.parse(readFileSync(`${out}.manifest.json`, "utf8")) as { committed: { entries: number } })
        .committed.entries;
    } catch {
      return -1;
    }
  }
  async function committedAtLeast(child: ChildProcess, out: string, entries: number): Promise<void> {
    while (child.exitCode === null && child.signalCode === null && committed(out) < entries) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  test("an OCSF export SIGKILLed mid-way and resumed holds every entry once (the bin)", async () => {
    const out = join(tmp.dir, "killed.ocsf.jsonl");
    const args = [
      "export",
      ...connection(emu.grpcAddress),
      ...WINDOW,
      "--out",
      out,
      "--per-page",
      "50",
      "--concurrency",
      "2",
      "--commit-interval",
      "0",
    ];
    const first = spawnCli(args);
    const done = collect(first);
    // Progress, not time, picks the kill point: a third of the entries committed.
    await committedAtLeast(first, out, TOTAL / 3);
    first.kill("SIGKILL");
    const r1 = await done;
    // Killed mid-way: the manifest holds a committed page boundary short of the end.
    expect(r1.signal).toBe("SIGKILL");
    expect(existsSync(`${out}.manifest.json`)).toBe(true);
    expect(committed(out)).toBeLessThan(TOTAL);
    const r2 = await collect(spawnCli([...args, "--resume", "-q"]));
    expect({ code: r2.code, stderr: r2.stderr }).toEqual({ code: 0, stderr: "" });
    const lines = fileLines(out);
    expect(
      new Set(lines.map((l) => (JSON.parse(l) as { metadata: { uid: string } }).metadata.uid)).size,
    ).toBe(TOTAL);
    expectEventsOfJsonl(lines);
  });
});
