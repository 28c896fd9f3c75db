/**
 * Part 5: the emulator's `--data` load of a large JSONL export (default 370,000 entries, the
 * 243 MB file of issue 11): the streaming loader (packages/emulator/src/dataFile.ts's streamEntriesFile)
 * against the loader it replaced, side by side, alternating rounds, each load its own process so
 * that the peak RSS is that loader's alone.
 *
 * The baseline is the one-string loader as it was before streaming (commit 8347c79^,
 * packages/emulator/src/dataFile.ts's loadEntriesFile, then `log.add` of all its entries as the emulator's
 * start did), copied below because the emulator no longer has it. It parses through today's
 * reference JSON mapping, which the emulator still uses for every line the fast path leaves to it.
 */
import { execFileSync } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import {
  auditLogEntryFromJson,
  entryToJsonLine,
  type JsonValue,
} from "@clarifai-audit/client/internal/codec/index.js";
import type { AuditLogEntry } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/resources.js";
import { dataLoadStats, streamEntriesFile } from "@clarifai-audit/emulator/internal/dataFile.js";
import { generateEntryStream } from "@clarifai-audit/emulator/internal/generate.js";
import { AuditLog } from "@clarifai-audit/emulator/internal/store.js";
import { median } from "./measure.js";

/** One load. */
export interface LoadRun {
  seconds: number;
  /** User + system CPU seconds of the load (less sensitive to other jobs than wall time). */
  cpuSeconds: number;
  maxRssMb: number;
  entries: number;
  /** Lines the streaming loader encoded directly / handed to the reference mapping. */
  encoded?: number;
  reference?: number;
}

/** Both loaders on one file. */
export interface DataLoadResult {
  entries: number;
  fileMb: number;
  rounds: number;
  reference: LoadRun;
  streaming: LoadRun;
  /** Median over rounds of baseline seconds / streaming seconds in the same round. */
  speedup: number;
  /** The same for CPU seconds. */
  cpuSpeedup: number;
  loadAvgBefore: number[];
  loadAvgAfter: number[];
}

/** The pre-streaming loader (8347c79^ loadEntriesFile), error wording and all, then one `add`. */
function baselineLoad(path: string): number {
  const text = readFileSync(path, "utf8");
  const lines = text.split("\n");
  const out: AuditLogEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === "") continue;
    let json: JsonValue;
    try {
      json = JSON.parse(line) as JsonValue;
    } catch (e) {
      throw new Error(`${path}:${i + 1}: malformed JSON: ${(e as Error).message}`);
    }
    if (json === null || typeof json !== "object" || Array.isArray(json)) {
      throw new Error(`${path}:${i + 1}: expected one AuditLogEntry JSON object per line`);
    }
    try {
      out.push(auditLogEntryFromJson(json));
    } catch (e) {
      throw new Error(`${path}:${i + 1}: not an AuditLogEntry: ${(e as Error).message}`);
    }
  }
  const log = new AuditLog();
  log.add(out);
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

function runChild(mode: "baseline" | "streaming", path: string): LoadRun {
  const self = fileURLToPath(import.meta.url);
  const out = execFileSync(process.execPath, [self, mode, path], { maxBuffer: 1 << 20 }).toString();
  return JSON.parse(out) as LoadRun;
}

const avg = () => loadavg().map((x) => Number(x.toFixed(2)));

/** Loads a `count`-entry export with both loaders, alternating, `rounds` times each. */
export async function dataLoadBench(
  count: number,
  rounds: number,
  log: (s: string) => void = () => undefined,
): Promise<DataLoadResult> {
  const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-bench-data-"));
  try {
    const path = join(dir, "export.jsonl");
    await writeFixture(path, count);
    const loadAvgBefore = avg();
    const ref: LoadRun[] = [];
    const str: LoadRun[] = [];
    for (let i = 0; i < rounds; i++) {
      ref.push(runChild("baseline", path));
      str.push(runChild("streaming", path));
      const [r, s] = [ref[i] as LoadRun, str[i] as LoadRun];
      log(`part 5 round ${i + 1}: baseline ${r.seconds.toFixed(2)} s, streaming ${s.seconds.toFixed(2)} s`);
    }
    const pick = (runs: LoadRun[]): LoadRun => ({
      ...(runs[0] as LoadRun),
      seconds: median(runs.map((r) => r.seconds)),
      cpuSeconds: median(runs.map((r) => r.cpuSeconds)),
      maxRssMb: Math.max(...runs.map((r) => r.maxRssMb)),
    });
    return {
      entries: count,
      fileMb: statSync(path).size / 1e6,
      rounds,
      reference: pick(ref),
      streaming: pick(str),
      speedup: median(ref.map((r, i) => r.seconds / (str[i] as LoadRun).seconds)),
      cpuSpeedup: median(ref.map((r, i) => r.cpuSeconds / (str[i] as LoadRun).cpuSeconds)),
      loadAvgBefore,
      loadAvgAfter: avg(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The markdown rows of part 5. */
export function dataLoadTable(r: DataLoadResult): string[] {
  const row = (name: string, x: LoadRun) =>
    `| ${name} | ${x.entries.toLocaleString("en-US")} | ${x.seconds.toFixed(2)} | ${x.cpuSeconds.toFixed(2)} | ${Math.round(x.entries / x.seconds).toLocaleString("en-US")} | ${x.maxRssMb.toFixed(1)} |`;
  const s = r.streaming;
  return [
    `### 5. Emulator: \`--data\` load of a ${r.fileMb.toFixed(0)} MB export (${r.entries.toLocaleString("en-US")} entries; each load its own process, ${r.rounds} alternating rounds)`,
    "",
    "| loader | entries | seconds | CPU s | entries/s | peak RSS MB |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
    row("whole file in one string, reflective JSON (before, 8347c79^)", r.reference),
    row("streamed, JSON → wire bytes (now)", s),
    "",
    `Speed-up (median of same-round ratios): ${r.speedup.toFixed(2)}× wall, ${r.cpuSpeedup.toFixed(2)}× CPU; load average ${r.loadAvgBefore.join(" / ")} before, ${r.loadAvgAfter.join(" / ")} after. Lines encoded directly: ${(s.encoded ?? 0).toLocaleString("en-US")}, through the reference mapping: ${(s.reference ?? 0).toLocaleString("en-US")}.`,
    "",
  ];
}

// As a child: one load, its figures as JSON on stdout.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, path] = process.argv.slice(2) as ["baseline" | "streaming", string];
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const entries = mode === "baseline" ? baselineLoad(path) : await streamingLoad(path);
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  const run: LoadRun = { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssMb, entries };
  if (mode === "streaming") Object.assign(run, dataLoadStats);
  process.stdout.write(`${JSON.stringify(run)}\n`);
}
