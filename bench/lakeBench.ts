/**
 * `sync --dest DIR` (the Parquet lake) against `export` to JSONL of the same window, both the bundled
 * CLI against one emulator process holding N entries (default 1 000 000):
 *
 * - throughput: sync entries/s over export entries/s (target ≥ 0.5×), with the default
 *   `--memory lean` and with `--memory fast` (DuckDB keeps freed memory cached);
 * - size: the lake's Parquet files over the JSONL file (target ≤ 0.25×);
 * - an aggregation (entries per operation) with `query` over the lake vs `jq` over the JSONL, the
 *   answers compared (target ≥ 20× faster);
 * - sync's peak RSS (target ≤ 250 MB at 1M), from /usr/bin/time -v, in both modes.
 *
 * Everything runs back to back in one process's run, so the ratios compare like with like.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { makeCerts, startEmulatorProcess, stopEmulator, tempDir } from "./endToEnd.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = join(ROOT, "packages/cli/dist/src/cli/clarifai-audit.mjs");
const TIME = "/usr/bin/time";

/** What {@link lakeBench} measured. */
export interface LakeBenchResult {
  entries: number;
  exportSeconds: number;
  syncSeconds: number;
  syncVsExport: number;
  syncFastSeconds: number;
  syncFastVsExport: number;
  syncFastMaxRssMb?: number;
  jsonlBytes: number;
  lakeBytes: number;
  sizeRatio: number;
  querySeconds: number;
  jqSeconds?: number;
  queryVsJq?: number;
  syncMaxRssMb?: number;
  exportMaxRssMb?: number;
  answersAgree?: boolean;
  markdown: string;
}

/**
 * Runs `cmd` to exit 0 (else throws with its stderr's end): wall seconds, peak RSS and CPU seconds
 * (user + system; /usr/bin/time -v), stdout, stderr (time's report at its end).
 */
export async function timed(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ seconds: number; maxRssMb?: number; cpuSeconds?: number; stdout: string; stderr: string }> {
  const useTime = existsSync(TIME);
  const t0 = performance.now();
  const child = spawn(useTime ? TIME : cmd, useTime ? ["-v", cmd, ...args] : args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0)
    throw new Error(`${cmd} ${args.slice(0, 3).join(" ")} exited with ${code}: ${stderr.slice(-1500)}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  const user = /User time \(seconds\): ([\d.]+)/.exec(stderr);
  const system = /System time \(seconds\): ([\d.]+)/.exec(stderr);
  return {
    seconds,
    stdout,
    stderr,
    ...(m ? { maxRssMb: Number(m[1]) / 1024 } : {}),
    ...(user && system ? { cpuSeconds: Number(user[1]) + Number(system[1]) } : {}),
  };
}

function treeBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, name.name);
    total += name.isDirectory() ? treeBytes(p) : statSync(p).size;
  }
  return total;
}

const fmt = (n: number | undefined, d = 0) =>
  n === undefined || !Number.isFinite(n)
    ? "n/a"
    : n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

/** Runs the lake bench (see the module comment). */
export async function lakeBench(entries: number): Promise<LakeBenchResult> {
  const dir = tempDir();
  const tls = makeCerts(dir);
  const emu = await startEmulatorProcess(entries, 0, tls);
  const env = { CLARIFAI_PAT: "emulator-pat", GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: tls.cert };
  const conn = ["--endpoint", emu.address, "--user-id", "emulator-user", "--from", "2020-01-01T00:00:00Z"];
  const jsonl = join(dir, "all.jsonl");
  const lake = join(dir, "lake");
  const fastLake = join(dir, "lake-fast");
  try {
    const exp = await timed(
      process.execPath,
      [CLI, "export", "--out", jsonl, "-q", "--settle", "0", ...conn],
      env,
    );
    const sync = await timed(
      process.execPath,
      [CLI, "sync", "--dest", lake, "-q", "--settle", "0s", ...conn],
      env,
    );
    const fast = await timed(
      process.execPath,
      [CLI, "sync", "--dest", fastLake, "-q", "--settle", "0s", "--memory", "fast", ...conn],
      env,
    );
    rmSync(fastLake, { recursive: true, force: true });
    const sql = "SELECT operation, count(*) AS n FROM audit_log GROUP BY 1 ORDER BY 1";
    const query = await timed(process.execPath, [CLI, "query", "--lake", lake, sql, "--format", "json"]);
    const answer = JSON.parse(query.stdout) as { operation: number; n: number }[];
    const count = answer.reduce((a, r) => a + r.n, 0);
    if (count !== entries) throw new Error(`the lake holds ${count} entries, expected ${entries}`);
    let jq: { seconds: number; stdout: string } | undefined;
    let agree: boolean | undefined;
    if (existsSync("/usr/bin/jq")) {
      jq = await timed("jq", [
        "-n",
        "-c",
        "reduce inputs as $e ({}; .[($e.operation // 0) | tostring] += 1) | to_entries | map({operation: (.key | tonumber), n: .value}) | sort_by(.operation)",
        jsonl,
      ]);
      agree = JSON.stringify(JSON.parse(jq.stdout)) === JSON.stringify(answer);
    }
    const jsonlBytes = statSync(jsonl).size;
    const lakeBytes = treeBytes(join(lake, "audit_log"));
    const syncVsExport = exp.seconds / sync.seconds;
    const syncFastVsExport = exp.seconds / fast.seconds;
    const sizeRatio = lakeBytes / jsonlBytes;
    const queryVsJq = jq ? jq.seconds / query.seconds : undefined;
    const markdown = [
      `**Parquet lake** (${fmt(entries)} entries, one emulator process; wall time of the bundled CLI, start-up included)`,
      "",
      "| measure | value | target |",
      "| --- | ---: | ---: |",
      `| export to JSONL | ${fmt(exp.seconds, 2)} s (${fmt(entries / exp.seconds)} entries/s, peak RSS ${fmt(exp.maxRssMb, 1)} MB) | |`,
      `| sync to the lake | ${fmt(sync.seconds, 2)} s (${fmt(entries / sync.seconds)} entries/s) | |`,
      `| sync / export throughput | ${fmt(syncVsExport, 2)}× | ≥ 0.5× |`,
      `| sync --memory fast | ${fmt(fast.seconds, 2)} s (${fmt(entries / fast.seconds)} entries/s, peak RSS ${fmt(fast.maxRssMb, 1)} MB) | |`,
      `| sync --memory fast / export throughput | ${fmt(syncFastVsExport, 2)}× | ≥ 0.5× |`,
      `| lake size / JSONL size | ${fmt(lakeBytes)} / ${fmt(jsonlBytes)} B = ${fmt(sizeRatio, 3)}× | ≤ 0.25× |`,
      `| entries per operation: query | ${fmt(query.seconds, 2)} s | |`,
      `| same with jq over the JSONL | ${jq ? `${fmt(jq.seconds, 2)} s (answers ${agree ? "agree" : "DIFFER"})` : "jq not installed"} | |`,
      `| query speed-up over jq | ${queryVsJq ? `${fmt(queryVsJq, 1)}×` : "n/a"} | ≥ 20× |`,
      `| sync peak RSS (default --memory lean) | ${fmt(sync.maxRssMb, 1)} MB | ≤ 250 MB |`,
      "",
    ].join("\n");
    return {
      entries,
      exportSeconds: exp.seconds,
      syncSeconds: sync.seconds,
      syncVsExport,
      syncFastSeconds: fast.seconds,
      syncFastVsExport,
      ...(fast.maxRssMb !== undefined ? { syncFastMaxRssMb: fast.maxRssMb } : {}),
      jsonlBytes,
      lakeBytes,
      sizeRatio,
      querySeconds: query.seconds,
      ...(jq ? { jqSeconds: jq.seconds } : {}),
      ...(queryVsJq !== undefined ? { queryVsJq } : {}),
      ...(sync.maxRssMb !== undefined ? { syncMaxRssMb: sync.maxRssMb } : {}),
      ...(exp.maxRssMb !== undefined ? { exportMaxRssMb: exp.maxRssMb } : {}),
      ...(agree !== undefined ? { answersAgree: agree } : {}),
      markdown,
    };
  } finally {
    await stopEmulator(emu);
    rmSync(dir, { recursive: true, force: true });
  }
}
