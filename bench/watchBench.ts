/**
 * `rules test` throughput and memory: the built-in pack replayed over a generated export, as a ratio
 * to merely reading and parsing the same file (the floor any replay pays), and the peak RSS of
 * replays with new_value rules (each in a child process, so that RSS is the replay's alone).
 *
 * Run by the lead's bench/run.ts, or alone: `npm run build && node dist/bench/watchBench.js [N]`.
 */
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { entryToJsonLine } from "@clarifai-audit/client/internal/codec/index.js";
import { ExportFile } from "@clarifai-audit/client/internal/export/exportFile.js";
import { generateEntryStream } from "@clarifai-audit/emulator/internal/generate.js";
import { BUILTIN_PACK } from "clarifai-audit/internal/watch/builtinPack.js";
import { replayExport } from "clarifai-audit/internal/watch/replay.js";
import { parseRules } from "clarifai-audit/internal/watch/rules.js";
import { median } from "./measure.js";

/** What {@link watchBench} measured. */
export interface WatchBenchResult {
  entries: number;
  rounds: number;
  fileMB: number;
  /** Median CPU seconds to read and JSON.parse every line. */
  readParseSeconds: number;
  /** Median CPU seconds of the built-in pack's replay (read, parse, evaluate). */
  builtinSeconds: number;
  /** readParseSeconds / builtinSeconds (target ≥ 0.5). */
  ratio: number;
  builtinAlerts: number;
  /** The built-in CLI `rules test` over the file, wall seconds (1 run, output to /dev/null). */
  cliSeconds: number;
  /** Peak RSS (MB) of child processes over the same file. */
  rss: { readParseMB: number; builtinMB: number; newValueIpMB: number; newValueReqIdMB: number };
  /** (group, value) pairs learned by the worst-case new_value rule (one per entry). */
  reqIdLearned: number;
}

const ROOT = new URL("../../", import.meta.url).pathname;

async function writeExport(path: string, n: number): Promise<void> {
  const out = createWriteStream(path);
  let batch: string[] = [];
  for (const e of generateEntryStream(n, 11)) {
    batch.push(entryToJsonLine(e));
    if (batch.length === 2000) {
      if (!out.write(`${batch.join("\n")}\n`)) await once(out, "drain");
      batch = [];
    }
  }
  if (batch.length > 0) out.write(`${batch.join("\n")}\n`);
  out.end();
  await once(out, "finish");
}

async function readParse(path: string): Promise<number> {
  let n = 0;
  // The one export-file reader reads, parses and checks each entry (what every replay pays first).
  for await (const batch of new ExportFile(path)) n += batch.length;
  return n;
}

/** Peak RSS in MB of a child that runs `script` (an ES module body) with `path` as argv[2]. */
function childPeakMB(script: string, path: string): { mb: number; out: string } {
  const file = join(ROOT, "dist", "bench", `.watch-child-${process.pid}.mjs`);
  writeFileSync(file, `${script}\nprocess.stdout.write(" " + process.resourceUsage().maxRSS);\n`);
  try {
    const out = execFileSync(process.execPath, [file, path], { encoding: "utf8", maxBuffer: 1 << 20 });
    const parts = out.trim().split(" ");
    return { mb: Number(parts[parts.length - 1]) / 1024, out: parts.slice(0, -1).join(" ") };
  } finally {
    rmSync(file, { force: true });
  }
}

const REPLAY = (rules: string) => `
import { replayExport } from "clarifai-audit/internal/watch/replay.js";
import { parseRules } from "clarifai-audit/internal/watch/rules.js";
import { BUILTIN_PACK } from "clarifai-audit/internal/watch/builtinPack.js";
const rules = parseRules("bench", ${rules});
const s = await replayExport(rules, process.argv[2], () => {});
process.stdout.write(String(s.learned));
`;

/** Runs the benchmark over `n` generated entries (default 1,000,000). */
export async function watchBench(n = 1_000_000, rounds = 3): Promise<WatchBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-watch-bench-"));
  try {
    const path = join(dir, "export.jsonl");
    await writeExport(path, n);
    const fileMB = Number(execFileSync("stat", ["-c", "%s", path], { encoding: "utf8" })) / 1e6;
    const rules = parseRules("builtin", BUILTIN_PACK);
    const base: number[] = [];
    const replay: number[] = [];
    let alerts = 0;
    // Alternating rounds, so that a noisy neighbour slows both alike; CPU time (user + system) of
    // this process, since on a shared machine wall time mostly measures the neighbours.
    const cpu = (from?: NodeJS.CpuUsage) => {
      const u = process.cpuUsage(from);
      return (u.user + u.system) / 1e6;
    };
    for (let r = 0; r < rounds; r++) {
      let t = process.cpuUsage();
      if ((await readParse(path)) !== n) throw new Error("read back a different count");
      base.push(cpu(t));
      t = process.cpuUsage();
      const stats = await replayExport(rules, path, () => {});
      replay.push(cpu(t));
      alerts = stats.alerts;
    }
    const t = performance.now();
    execFileSync(
      process.execPath,
      [
        join(ROOT, "packages/cli/dist/src/cli/clarifai-audit.mjs"),
        "rules",
        "test",
        "--rules",
        "builtin",
        "--input",
        path,
        "--quiet",
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    const cliSeconds = (performance.now() - t) / 1000;
    const readParseChild = childPeakMB(
      `import { ExportFile } from "@clarifai-audit/client/internal/export/exportFile.js";
let n = 0; for await (const b of new ExportFile(process.argv[2])) n += b.length;
process.stdout.write(String(n));`,
      path,
    );
    const builtin = childPeakMB(REPLAY("BUILTIN_PACK"), path);
    const ip = childPeakMB(
      REPLAY(
        JSON.stringify(
          "rules:\n  - id: nv-ip\n    severity: low\n    new_value: { field: source_ip, by: user_id, learn: 7d }\n",
        ),
      ),
      path,
    );
    const reqId = childPeakMB(
      REPLAY(
        JSON.stringify(
          "rules:\n  - id: nv-req\n    severity: low\n    new_value: { field: req_id, by: user_id, learn: 100w }\n",
        ),
      ),
      path,
    );
    const readParseSeconds = median(base);
    const builtinSeconds = median(replay);
    return {
      entries: n,
      rounds,
      fileMB,
      readParseSeconds,
      builtinSeconds,
      ratio: readParseSeconds / builtinSeconds,
      builtinAlerts: alerts,
      cliSeconds,
      rss: {
        readParseMB: readParseChild.mb,
        builtinMB: builtin.mb,
        newValueIpMB: ip.mb,
        newValueReqIdMB: reqId.mb,
      },
      reqIdLearned: Number(reqId.out),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The result as Markdown rows. */
export function watchBenchMarkdown(r: WatchBenchResult): string {
  const f = (x: number, d = 2) => x.toFixed(d);
  return [
    `| rules test (built-in pack), ${r.entries} entries (${f(r.fileMB, 0)} MB JSONL) | value |`,
    "|---|---|",
    `| read + JSON.parse only (median CPU time of ${r.rounds} rounds) | ${f(r.readParseSeconds)} s |`,
    `| replay with the built-in pack (read + parse + evaluate; median CPU time) | ${f(r.builtinSeconds)} s, ${r.builtinAlerts} alerts |`,
    `| ratio read+parse / replay (target ≥ 0.5×) | ${f(r.ratio)}× ${r.ratio >= 0.5 ? "✅" : "❌"} |`,
    `| CLI \`rules test --rules builtin\` wall time (1 run, stdout to /dev/null) | ${f(r.cliSeconds)} s |`,
    `| peak RSS: read + parse only | ${f(r.rss.readParseMB, 1)} MB |`,
    `| peak RSS: built-in pack (new-source-ip learns user/IP pairs) | ${f(r.rss.builtinMB, 1)} MB |`,
    `| peak RSS: new_value source_ip by user_id | ${f(r.rss.newValueIpMB, 1)} MB |`,
    `| peak RSS: new_value req_id by user_id (worst case: ${r.reqIdLearned} pairs learned) | ${f(r.rss.newValueReqIdMB, 1)} MB |`,
  ].join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const n = Number(process.argv[2] ?? 1_000_000);
  const r = await watchBench(n);
  process.stdout.write(`${watchBenchMarkdown(r)}\n`);
}
