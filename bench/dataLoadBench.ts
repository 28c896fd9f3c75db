/**
 * Part 5: the emulator's `--data` load of a large JSONL export: the streaming loader
 * (src/emulator/dataFile.ts's streamEntriesFile) against the whole-file reference it replaced (read
 * the file into one string, split it, parse every line through the reflective proto3 JSON mapping,
 * then store them all). Each run is its own process, so the peak RSS is the loader's alone.
 */
import { execFileSync } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { auditLogEntryFromJson, entryToJsonLine, type JsonValue } from "../src/codec/index.js";
import { streamEntriesFile } from "../src/emulator/dataFile.js";
import { generateEntryStream } from "../src/emulator/generate.js";
import { AuditLog } from "../src/emulator/store.js";
import { median } from "./measure.js";

/** One load. */
export interface LoadRun {
  seconds: number;
  maxRssMb: number;
  entries: number;
}

/** Both loaders on one file. */
export interface DataLoadResult {
  entries: number;
  fileMb: number;
  reference: LoadRun;
  streaming: LoadRun;
  /** Median over rounds of reference seconds / streaming seconds in the same round. */
  speedup: number;
}

function referenceLoad(path: string): number {
  const log = new AuditLog();
  const entries = readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => auditLogEntryFromJson(JSON.parse(l) as JsonValue));
  log.add(entries);
  return log.size;
}

async function streamingLoad(path: string): Promise<number> {
  const log = new AuditLog();
  await streamEntriesFile(path, log);
  return log.size;
}

async function writeFixture(path: string, count: number): Promise<void> {
  const out = createWriteStream(path);
  let lines: string[] = [];
  for (const e of generateEntryStream(count, 5)) {
    lines.push(entryToJsonLine(e));
    if (lines.length === 2000) {
      if (!out.write(`${lines.join("\n")}\n`)) await new Promise<void>((r) => out.once("drain", () => r()));
      lines = [];
    }
  }
  out.write(lines.length > 0 ? `${lines.join("\n")}\n` : "");
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
}

function runChild(mode: "reference" | "streaming", path: string): LoadRun {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, [self, mode, path], { maxBuffer: 1 << 20 }).toString();
  return JSON.parse(out) as LoadRun;
}

/** Loads a `count`-entry export with both loaders, alternating, `rounds` times each. */
export async function dataLoadBench(count: number, rounds: number): Promise<DataLoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-bench-data-"));
  try {
    const path = join(dir, "export.jsonl");
    await writeFixture(path, count);
    const ref: LoadRun[] = [];
    const str: LoadRun[] = [];
    for (let i = 0; i < rounds; i++) {
      ref.push(runChild("reference", path));
      str.push(runChild("streaming", path));
    }
    const pick = (runs: LoadRun[]): LoadRun => ({
      seconds: median(runs.map((r) => r.seconds)),
      maxRssMb: Math.max(...runs.map((r) => r.maxRssMb)),
      entries: runs[0]?.entries ?? 0,
    });
    return {
      entries: count,
      fileMb: statSync(path).size / 1e6,
      reference: pick(ref),
      streaming: pick(str),
      speedup: median(ref.map((r, i) => r.seconds / (str[i] as LoadRun).seconds)),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The markdown rows of part 5. */
export function dataLoadTable(r: DataLoadResult): string[] {
  const row = (name: string, x: LoadRun) =>
    `| ${name} | ${x.entries.toLocaleString("en-US")} | ${x.seconds.toFixed(2)} | ${Math.round(x.entries / x.seconds).toLocaleString("en-US")} | ${x.maxRssMb.toFixed(1)} |`;
  return [
    `### 5. Emulator: \`--data\` load of a ${r.fileMb.toFixed(0)} MB export (${r.entries.toLocaleString("en-US")} entries; each load its own process)`,
    "",
    "| loader | entries | seconds | entries/s | peak RSS MB |",
    "| --- | ---: | ---: | ---: | ---: |",
    row("whole file, reflective JSON (before)", r.reference),
    row("streamed, fast path (now)", r.streaming),
    "",
    `Speed-up (median of same-round ratios): ${r.speedup.toFixed(2)}×.`,
    "",
  ];
}

// As a child: one load, its figures as JSON on stdout.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, path] = process.argv.slice(2) as ["reference" | "streaming", string];
  const t0 = performance.now();
  const entries = mode === "reference" ? referenceLoad(path) : await streamingLoad(path);
  const seconds = (performance.now() - t0) / 1000;
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`${JSON.stringify({ seconds, maxRssMb, entries })}\n`);
}
