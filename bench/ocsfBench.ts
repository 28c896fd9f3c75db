/**
 * OCSF events (issue 24), part 12 of `npm run bench`: `export --format ocsf` beside `export --format
 * jsonl` of the same log (the emulator in its own process, loopback TLS, no injected latency), runs
 * alternating so load on the shared machine falls on both; the target is OCSF ≥ 0.5× JSONL's
 * entries/s. Each output is checked to hold every entry once (bench/endToEnd.ts runOurExport).
 */

import {
  makeCerts,
  type RunResult,
  runOurExport,
  startEmulatorProcess,
  stopEmulator,
  tempDir,
} from "./endToEnd.js";
import { median } from "./measure.js";

/** The figures of part 12. */
export interface OcsfBenchResult {
  entries: number;
  jsonl: RunResult[];
  ocsf: RunResult[];
  /** Median over rounds of OCSF's entries/s over the same round's JSONL entries/s. */
  ratio: number;
  markdown: string;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Runs `rounds` alternating pairs of exports of `entries` generated entries. */
export async function ocsfBench(o: {
  entries: number;
  rounds: number;
  log: (s: string) => void;
}): Promise<OcsfBenchResult> {
  const dir = tempDir();
  const tls = makeCerts(dir);
  const emu = await startEmulatorProcess(o.entries, 0, tls);
  const jsonl: RunResult[] = [];
  const ocsf: RunResult[] = [];
  // BENCH_OCSF_MEMORY=fast|lean: both exports with that `--memory` (default: the CLI's default, lean).
  const memory = process.env.BENCH_OCSF_MEMORY ? ["--memory", process.env.BENCH_OCSF_MEMORY] : [];
  try {
    for (let i = 0; i < o.rounds; i++) {
      o.log(`part 12: round ${i + 1}/${o.rounds}, export jsonl and ocsf of ${o.entries} entries`);
      jsonl.push(await runOurExport("export --format jsonl", emu, dir, tls.cert, o.entries, memory));
      ocsf.push(
        await runOurExport("export --format ocsf", emu, dir, tls.cert, o.entries, [
          "--format",
          "ocsf",
          ...memory,
        ]),
      );
    }
  } finally {
    await stopEmulator(emu);
  }
  const ratio = median(ocsf.map((r, i) => r.entriesPerSec / (jsonl[i] as RunResult).entriesPerSec));
  const row = (r: RunResult[]) => {
    const seconds = median(r.map((x) => x.seconds));
    const rate = median(r.map((x) => x.entriesPerSec));
    const rss = Math.max(...r.map((x) => x.maxRssMb));
    const notes = r.flatMap((x) => (x.note ? [x.note] : [])).join("; ");
    return `| ${r[0]?.name} | ${fmt(o.entries)} | ${fmt(seconds, 2)} | ${fmt(rate)} | ${fmt(rss, 1)} | ${notes} |`;
  };
  const markdown = [
    `### 12. OCSF events: export --format ocsf beside --format jsonl (${fmt(o.entries)} entries, loopback TLS, 0 ms/page${memory.length > 0 ? `, ${memory.join(" ")}` : ""}; median of ${o.rounds} alternating runs; wall time of the bundled CLI, start-up included)`,
    "",
    "| run | entries | seconds | entries/s | peak RSS MB | note |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
    row(jsonl),
    row(ocsf),
    "",
    `OCSF / JSONL entries/s (median of same-round ratios): ${fmt(ratio, 2)}× (target ≥ 0.5×: ${ratio >= 0.5 ? "met" : "**not met**"})`,
    "",
  ].join("\n");
  return { entries: o.entries, jsonl, ocsf, ratio, markdown };
}
