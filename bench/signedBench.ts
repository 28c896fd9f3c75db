/**
 * Signed logs (issue 25), part 14 of `npm run bench`: what signing and verifying cost. One emulator
 * log of N generated entries (default 200,000) in the bench's process, plaintext loopback gRPC; the
 * bundled CLI as users run it (wall time from spawn to exit, start-up included; CPU seconds and peak
 * RSS from /usr/bin/time -v); one key from `keys generate`.
 *
 * - `export --sign KEY` beside `export` (JSON Lines, same emulator, same arguments, so the same
 *   window), rounds alternating which runs first; target: signed ≥ 0.9× plain entries/s (median of
 *   the same-round ratios);
 * - `sync --dest DIR --sign KEY` beside `sync --dest DIR` (a fresh local lake each run, the default
 *   `--memory lean`), the same way; target ≥ 0.9×;
 * - `verify FILE --key KEY.pub` of the last signed export beside `sha256sum FILE` over the same bytes
 *   (the file read once before, so both read it from the page cache), alternating; target: verify ≥
 *   0.5× sha256sum's MB/s (median of same-round ratios). Beside it, a signed lake's `verify DIR`
 *   beside `sha256sum` over its Parquet files (reported; the target is about the export).
 *
 * Each export is checked to hold N lines, each sync to have inserted N entries, each verify to exit
 * 0 with N entries. BENCH_SIGN_ENTRIES sets N, BENCH_SIGN_ROUNDS the rounds (default 5; quick: 1).
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type EmulatorHandle, startEmulator } from "@clarifai-audit/emulator";
import { jsonSummary, runBin } from "./collectorBench.js";
import { tempDir } from "./endToEnd.js";
import { timed } from "./lakeBench.js";
import { median } from "./measure.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = join(ROOT, "packages/cli/dist/src/cli/clarifai-audit.mjs");
const PAT = "bench-signed-pat";
const USER = "bench-signed";

/** One run of a command. */
export interface SignedSample {
  seconds: number;
  /** User + system CPU seconds of the command's process (/usr/bin/time -v). */
  cpuSeconds?: number;
  maxRssMb?: number;
  /** Load average (1 min) when the run started. */
  load: number;
  /** What went wrong (short of entries, not verified): the figure is suspect. */
  note?: string;
}

/** A pair of contenders measured in alternating rounds. */
export interface SignedPair {
  /** The baseline (plain export, plain sync, sha256sum). */
  base: SignedSample[];
  /** The measured one (signed export, signed sync, verify). */
  measured: SignedSample[];
  /** Median over rounds of the measured one's speed over the same round's baseline speed. */
  ratio: number;
  /** The same from CPU seconds (baseline CPU / measured CPU), when both were measured. */
  cpuRatio?: number;
}

/** What {@link signedBench} measured. */
export interface SignedBenchResult {
  entries: number;
  rounds: number;
  loadAtStart: number[];
  loadAtEnd: number[];
  seconds: number;
  exportBytes: number;
  lakeBytes: number;
  export: SignedPair;
  sync: SignedPair;
  verifyExport: SignedPair;
  verifyLake: SignedPair;
  markdown: string;
}

/** Options of {@link signedBench}. */
export interface SignedBenchOptions {
  entries?: number;
  rounds?: number;
  quick?: boolean;
  log?: (line: string) => void;
}

const load1 = () => Number((loadavg()[0] as number).toFixed(2));

/** Newlines in `file` (an export's entries). */
function linesOf(file: string): number {
  const b = readFileSync(file);
  let n = 0;
  for (let i = b.indexOf(10); i >= 0; i = b.indexOf(10, i + 1)) n++;
  return n;
}

async function exportRun(
  emu: EmulatorHandle,
  n: number,
  out: string,
  extra: string[],
): Promise<SignedSample> {
  const load = load1();
  const args = [
    CLI,
    "export",
    "--out",
    out,
    "--force",
    "-q",
    "--endpoint",
    emu.grpcAddress,
    "--insecure",
    "--user-id",
    USER,
    "--from",
    "2020-01-01T00:00:00Z",
    ...extra,
  ];
  const r = await timed(process.execPath, args, { CLARIFAI_PAT: PAT });
  const lines = linesOf(out);
  return {
    seconds: r.seconds,
    load,
    ...(r.cpuSeconds !== undefined ? { cpuSeconds: r.cpuSeconds } : {}),
    ...(r.maxRssMb !== undefined ? { maxRssMb: r.maxRssMb } : {}),
    ...(lines === n ? {} : { note: `${out} holds ${lines} lines, not ${n}` }),
  };
}

async function syncRun(emu: EmulatorHandle, n: number, dest: string, extra: string[]): Promise<SignedSample> {
  const load = load1();
  const args = ["sync", "--dest", dest, ...extra, "--endpoint", emu.grpcAddress, "--insecure"];
  const r = await runBin([...args, "--user-id", USER, "--settle", "0s"], { CLARIFAI_PAT: PAT }, emu);
  return {
    seconds: r.seconds,
    load,
    ...(r.cpuSeconds !== undefined ? { cpuSeconds: r.cpuSeconds } : {}),
    ...(r.maxRssMb !== undefined ? { maxRssMb: r.maxRssMb } : {}),
    ...(r.inserted === n ? {} : { note: `the lake got ${r.inserted} entries, not ${n}` }),
  };
}

/** `verify PATH --key PUB --json`: checked to exit 0 having verified `n` entries. */
async function verifyRun(path: string, pub: string, n: number): Promise<SignedSample> {
  const load = load1();
  const r = await timed(process.execPath, [CLI, "verify", path, "--key", pub, "--json"]);
  const json = jsonSummary(r.stderr);
  const entries = Number(json.entries);
  return {
    seconds: r.seconds,
    load,
    ...(r.cpuSeconds !== undefined ? { cpuSeconds: r.cpuSeconds } : {}),
    ...(r.maxRssMb !== undefined ? { maxRssMb: r.maxRssMb } : {}),
    ...(json.exitCode === 0 && entries === n
      ? {}
      : { note: `verify: exit ${String(json.exitCode)}, ${entries} entries of ${n}` }),
  };
}

/** `sha256sum FILES…` (one process, one thread, as an auditor would hash the bytes). */
async function shaRun(files: string[]): Promise<SignedSample> {
  const load = load1();
  const r = await timed("sha256sum", files);
  return {
    seconds: r.seconds,
    load,
    ...(r.cpuSeconds !== undefined ? { cpuSeconds: r.cpuSeconds } : {}),
    ...(r.maxRssMb !== undefined ? { maxRssMb: r.maxRssMb } : {}),
  };
}

/** Parquet files under `dir`. */
function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...parquetFiles(p));
    else if (e.name.endsWith(".parquet")) out.push(p);
  }
  return out.sort();
}

/** Runs `base` and `measured` in `rounds` rounds, alternating which goes first. */
async function alternate(
  rounds: number,
  what: string,
  log: (l: string) => void,
  base: (i: number) => Promise<SignedSample>,
  measured: (i: number) => Promise<SignedSample>,
): Promise<SignedPair> {
  const b: SignedSample[] = [];
  const m: SignedSample[] = [];
  for (let i = 0; i < rounds; i++) {
    log(`part 14: ${what}, round ${i + 1} of ${rounds}`);
    if (i % 2 === 0) {
      b.push(await base(i));
      m.push(await measured(i));
    } else {
      m.push(await measured(i));
      b.push(await base(i));
    }
  }
  const ratio = median(m.map((x, i) => (b[i] as SignedSample).seconds / x.seconds));
  const cpu = m.every((x, i) => x.cpuSeconds !== undefined && b[i]?.cpuSeconds !== undefined);
  return {
    base: b,
    measured: m,
    ratio,
    ...(cpu
      ? { cpuRatio: median(m.map((x, i) => (b[i]?.cpuSeconds as number) / (x.cpuSeconds as number))) }
      : {}),
  };
}

/** Runs part 14 (see the module comment). */
export async function signedBench(o: SignedBenchOptions = {}): Promise<SignedBenchResult> {
  const n = o.entries ?? Number(process.env.BENCH_SIGN_ENTRIES ?? (o.quick ? 20_000 : 200_000));
  const rounds = o.rounds ?? Number(process.env.BENCH_SIGN_ROUNDS ?? (o.quick ? 1 : 5));
  const log = o.log ?? (() => {});
  const loadAtStart = loadavg().map((x) => Number(x.toFixed(2)));
  const t0 = performance.now();
  const dir = tempDir();
  const key = join(dir, "bench.key");
  const pub = `${key}.pub`;
  const made = spawnSync(process.execPath, [CLI, "keys", "generate", "--out", key], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`keys generate exited with ${made.status}: ${made.stderr}`);
  const emu = await startEmulator({
    restPort: false,
    accounts: [{ pat: PAT, userId: USER, generate: { count: n, seed: 1 } }],
  });
  try {
    const plainOut = join(dir, "plain.jsonl");
    const signedOut = join(dir, "signed.jsonl");
    const exp = await alternate(
      rounds,
      `export and export --sign of ${n} entries`,
      log,
      () => exportRun(emu, n, plainOut, []),
      () => exportRun(emu, n, signedOut, ["--sign", key]),
    );
    const lake = (name: string, i: number) => {
      const p = join(dir, `${name}-${i}`);
      rmSync(p, { recursive: true, force: true });
      return p;
    };
    let signedLake = "";
    const sync = await alternate(
      rounds,
      `sync and sync --sign of ${n} entries to a local lake`,
      log,
      (i) =>
        syncRun(emu, n, lake("lake", i), []).finally(() =>
          rmSync(join(dir, `lake-${i}`), { recursive: true }),
        ),
      (i) => {
        if (signedLake !== "") rmSync(signedLake, { recursive: true, force: true });
        signedLake = lake("signed-lake", i);
        return syncRun(emu, n, signedLake, ["--sign", key]);
      },
    );
    // Both read the bytes from the page cache: read once before.
    const exportBytes = statSync(signedOut).size;
    await shaRun([signedOut]);
    const verifyExport = await alternate(
      rounds,
      `verify of the ${Math.round(exportBytes / 1e6)} MB signed export beside sha256sum`,
      log,
      () => shaRun([signedOut]),
      () => verifyRun(signedOut, pub, n),
    );
    const parquet = parquetFiles(signedLake);
    const lakeBytes = parquet.reduce((s, f) => s + statSync(f).size, 0);
    await shaRun(parquet);
    const verifyLake = await alternate(
      rounds,
      `verify of the signed lake (${Math.round(lakeBytes / 1e6)} MB of Parquet) beside sha256sum`,
      log,
      () => shaRun(parquet),
      () => verifyRun(signedLake, pub, n),
    );
    const result = {
      entries: n,
      rounds,
      loadAtStart,
      loadAtEnd: loadavg().map((x) => Number(x.toFixed(2))),
      seconds: (performance.now() - t0) / 1000,
      exportBytes,
      lakeBytes,
      export: exp,
      sync,
      verifyExport,
      verifyLake,
    };
    return { ...result, markdown: markdownOf(result) };
  } finally {
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number | undefined, d = 0) =>
  n === undefined || !Number.isFinite(n)
    ? "n/a"
    : n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

const mark = (ok: boolean) => (ok ? "met" : "**not met**");

/** The rows of the issue's targets table for part 14's figures. */
export function signedTargets(r: Omit<SignedBenchResult, "markdown">): string[] {
  const cpu = (p: SignedPair) => (p.cpuRatio === undefined ? "" : ` (CPU ${fmt(p.cpuRatio, 2)}×)`);
  return [
    `| \`verify\` of a signed export ≥ 0.5× \`sha256sum\`'s MB/s over the same bytes | ${fmt(r.verifyExport.ratio, 2)}× | ${mark(r.verifyExport.ratio >= 0.5)} |`,
    `| (beside it) \`verify\` of a signed lake over \`sha256sum\` of its Parquet files | ${fmt(r.verifyLake.ratio, 2)}× | |`,
    `| \`export --sign\` ≥ 0.9× \`export\`'s entries/s | ${fmt(r.export.ratio, 2)}×${cpu(r.export)} | ${mark(r.export.ratio >= 0.9)} |`,
    `| \`sync --sign\` ≥ 0.9× \`sync\`'s entries/s (local lake) | ${fmt(r.sync.ratio, 2)}×${cpu(r.sync)} | ${mark(r.sync.ratio >= 0.9)} |`,
  ];
}

function markdownOf(r: Omit<SignedBenchResult, "markdown">): string {
  const row = (name: string, xs: SignedSample[], amount: number, unit: "entries" | "MB") => {
    const seconds = median(xs.map((x) => x.seconds));
    const cpu = xs.every((x) => x.cpuSeconds !== undefined)
      ? median(xs.map((x) => x.cpuSeconds as number))
      : undefined;
    const rss = Math.max(...xs.map((x) => x.maxRssMb ?? 0));
    const notes = xs.flatMap((x) => (x.note ? [x.note] : [])).join("; ");
    const rate = unit === "entries" ? fmt(amount / seconds) : fmt(amount / 1e6 / seconds, 1);
    return `| ${name}${notes ? ` ⚠ ${notes}` : ""} | ${rate} ${unit === "entries" ? "entries/s" : "MB/s"} | ${fmt(seconds, 2)} | ${fmt(cpu, 2)} | ${fmt(rss, 1)} | ${xs.map((x) => `${fmt(x.seconds, 2)} (${fmt(x.load, 1)})`).join(", ")} |`;
  };
  const mb = (b: number) => fmt(b / 1e6, 1);
  return [
    `### 14. Signed logs: export --sign, sync --sign, verify (${fmt(r.entries)} entries, emulator in the bench's process, plaintext loopback gRPC; the bundled CLI, wall time from spawn to exit; median of ${r.rounds} alternating rounds; load average ${r.loadAtStart.join(" / ")} at the part's start, ${r.loadAtEnd.join(" / ")} at its end; ${fmt(r.seconds)} s)`,
    "",
    "| run | speed | seconds | CPU s | peak RSS MB | seconds per round (load, 1 min) |",
    "| --- | ---: | ---: | ---: | ---: | --- |",
    row("export (JSON Lines)", r.export.base, r.entries, "entries"),
    row("export --sign", r.export.measured, r.entries, "entries"),
    row("sync → local lake", r.sync.base, r.entries, "entries"),
    row("sync --sign → local lake", r.sync.measured, r.entries, "entries"),
    row(`sha256sum of the signed export (${mb(r.exportBytes)} MB)`, r.verifyExport.base, r.exportBytes, "MB"),
    row("verify of the signed export", r.verifyExport.measured, r.exportBytes, "MB"),
    row(
      `sha256sum of the signed lake's Parquet files (${mb(r.lakeBytes)} MB)`,
      r.verifyLake.base,
      r.lakeBytes,
      "MB",
    ),
    row("verify of the signed lake", r.verifyLake.measured, r.lakeBytes, "MB"),
    "",
    "| target | measured (median of same-round ratios) | |",
    "| --- | ---: | --- |",
    ...signedTargets(r),
    "",
  ].join("\n");
}

/** Markers of part 14's section in bench/README.md. */
const README_START = "<!-- signed-bench -->";
const README_END = "<!-- /signed-bench -->";

/** Replaces part 14's section of `readme` (between its markers) with `r`'s table, headed by the command. */
export function writeSignedReadme(readme: string, r: SignedBenchResult, command: string): void {
  const text = readFileSync(readme, "utf8");
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start === -1 || end < start) return;
  const when = new Date().toISOString().slice(0, 16).replace("T", " ");
  const section = [README_START, `Last run: \`${command}\`, ${when} UTC.`, "", r.markdown].join("\n");
  writeFileSync(readme, `${text.slice(0, start)}${section}${text.slice(end)}`);
}
