/**
 * `clarifai-audit report --input` over JSONL exports of growing size (default 100k and 1M entries):
 * wall time and peak RSS of the built CLI, to show that memory stays flat while the input grows
 * (the report streams its input into bounded structures). The exports are written here from the
 * emulator's generator with the exporter's own JSON printer, so they are byte for byte what
 * `export --format jsonl` writes for that log.
 *
 * Run alone: `npm run build && node dist/bench/reportBench.js [sizes, e.g. 100000,1000000]`.
 */
import { spawn } from "node:child_process";
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { entryToJsonLine } from "@clarifai-audit/client/internal/codec/index.js";
import { generateEntryStream } from "@clarifai-audit/emulator/internal/generate.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = join(ROOT, "packages/cli/dist/src/cli/clarifai-audit.mjs");

/** One measured report. */
export interface ReportBenchResult {
  entries: number;
  inputMb: number;
  /** Wall seconds, process start to exit (startup included). */
  seconds: number;
  /** CPU seconds of the CLI process (user + system): on a shared machine, the steadier figure. */
  cpuSeconds: number;
  entriesPerSec: number;
  /** Peak resident set size of the CLI process (process.resourceUsage().maxRSS at exit). */
  maxRssMb: number;
  htmlKb: number;
}

/** Writes `count` generated entries as a JSONL export (streamed, with backpressure). */
async function writeExport(path: string, count: number, seed: number): Promise<void> {
  const out = createWriteStream(path);
  let buf: string[] = [];
  for (const e of generateEntryStream(count, seed)) {
    buf.push(entryToJsonLine(e));
    if (buf.length === 1000) {
      if (!out.write(`${buf.join("\n")}\n`)) await new Promise<void>((r) => out.once("drain", () => r()));
      buf = [];
    }
  }
  if (buf.length > 0) out.write(`${buf.join("\n")}\n`);
  await new Promise<void>((resolve, reject) =>
    out.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
}

/** Runs the built CLI's `report` on `input`; the child reports its own peak RSS at exit. */
async function runReport(
  input: string,
  html: string,
  dir: string,
): Promise<{ seconds: number; maxRssKb: number; cpuSeconds: number }> {
  const rssFile = join(dir, "rss.txt");
  const preload = join(dir, "rss.mjs");
  writeFileSync(
    preload,
    `import { writeFileSync } from "node:fs";\nprocess.on("exit", () => { const u = process.resourceUsage(); writeFileSync(${JSON.stringify(rssFile)}, JSON.stringify([u.maxRSS, (u.userCPUTime + u.systemCPUTime) / 1e6])); });\n`,
  );
  const t0 = performance.now();
  const child = spawn(
    process.execPath,
    ["--import", pathToFileURL(preload).href, CLI, "report", "--input", input, "--out", html, "--quiet"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`report exited with ${code}: ${stderr.slice(-2000)}`);
  const [maxRssKb, cpuSeconds] = JSON.parse(readFileSync(rssFile, "utf8")) as [number, number];
  return { seconds, maxRssKb, cpuSeconds };
}

/** Measures `report --input` at each size (one run each: the point is the memory, which does not vary). */
export async function reportBench(
  sizes: number[] = [100_000, 1_000_000],
  seed = 11,
): Promise<ReportBenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-report-bench-"));
  try {
    const results: ReportBenchResult[] = [];
    for (const entries of sizes) {
      const input = join(dir, `export-${entries}.jsonl`);
      const html = join(dir, `report-${entries}.html`);
      await writeExport(input, entries, seed);
      const r = await runReport(input, html, dir);
      results.push({
        entries,
        inputMb: statSync(input).size / 1024 / 1024,
        seconds: r.seconds,
        cpuSeconds: r.cpuSeconds,
        entriesPerSec: entries / r.seconds,
        maxRssMb: r.maxRssKb / 1024,
        htmlKb: statSync(html).size / 1024,
      });
      rmSync(input, { force: true });
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The results as a markdown table. */
export function reportBenchTable(results: ReportBenchResult[]): string {
  const f = (n: number, d = 0) =>
    n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
  return [
    "| entries | input MB | wall s | CPU s | entries/s (wall) | peak RSS MB | report KB |",
    "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ...results.map(
      (r) =>
        `| ${f(r.entries)} | ${f(r.inputMb, 1)} | ${f(r.seconds, 2)} | ${f(r.cpuSeconds, 2)} | ${f(r.entriesPerSec)} | ${f(r.maxRssMb, 1)} | ${f(r.htmlKb)} |`,
    ),
  ].join("\n");
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const sizes = (process.argv[2] ?? "100000,1000000").split(",").map(Number);
  process.stdout.write(`${reportBenchTable(await reportBench(sizes))}\n`);
}
