/**
 * Part 3: `clarifai-audit export` vs a naive loop over the official `ClarifaiStub.grpc()`, end to
 * end on loopback TLS against the emulator running in its own process. Entries/s from the
 * parent's wall clock (process start to exit, startup included for both), peak RSS from
 * `/usr/bin/time -v` (or the child's own report when time(1) is missing).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";

const ROOT = new URL("../../", import.meta.url).pathname;
/** The package's bin (the bundled CLI), as users run it. */
const CLI = join(ROOT, "packages/cli/dist/src/cli/clarifai-audit.mjs");
const NAIVE = join(ROOT, "dist/bench/naiveOfficial.js");
const PAT = "emulator-pat";
const USER = "emulator-user";
const TIME = "/usr/bin/time";

export interface RunResult {
  name: string;
  entries: number;
  seconds: number;
  entriesPerSec: number;
  maxRssMb: number;
  /** Set when the output did not hold exactly the expected entries (a correctness finding). */
  note?: string;
  /** CPU seconds the emulator process spent during the run (it shares the machine's cores). */
  emulatorCpuSeconds?: number;
  /** Wall seconds of each run, when this row is the median of several. */
  samples?: number[];
}

/** utime + stime of a process, in seconds (Linux /proc), or undefined elsewhere. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

export interface Emulator {
  address: string;
  child: ChildProcess;
  /** Seconds from spawn to the ready line (generation included). */
  startSeconds: number;
}

/** A self-signed certificate for 127.0.0.1 that doubles as its own CA. */
export function makeCerts(dir: string): { cert: string; key: string } {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-days",
      "1",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ],
    { stdio: "ignore" },
  );
  return { cert, key };
}

const live = new Set<ChildProcess>();
/** Kills every emulator this process started and has not stopped (for error paths). */
export function killEmulators(): void {
  for (const c of live) c.kill("SIGKILL");
}

export async function startEmulatorProcess(
  count: number,
  latencyMs: number,
  tls: { cert: string; key: string },
): Promise<Emulator> {
  const t0 = performance.now();
  const args = [
    "--max-old-space-size=4096",
    CLI,
    "emulator",
    "--generate",
    String(count),
    "--seed",
    "1",
    "--port",
    "0",
    "--no-rest",
    "--tls-cert",
    tls.cert,
    "--tls-key",
    tls.key,
  ];
  if (latencyMs > 0) args.push("--latency-ms", String(latencyMs));
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "ignore"] });
  live.add(child);
  child.once("exit", () => live.delete(child));
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const ready = await new Promise<{ grpc: string }>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`emulator exited with ${code} before its ready line`)));
    lines.once("line", (l) => resolve(JSON.parse(l)));
  });
  child.stdout?.resume();
  return { address: ready.grpc, child, startSeconds: (performance.now() - t0) / 1000 };
}

export async function stopEmulator(e: Emulator): Promise<void> {
  if (e.child.exitCode !== null) return;
  const exited = new Promise((r) => e.child.once("exit", r));
  e.child.kill("SIGTERM");
  await exited;
}

/** Lines of a file, and how many distinct ones (by hash), without holding the file. */
async function countLines(file: string): Promise<{ lines: number; unique: number }> {
  const seen = new Set<string>();
  let lines = 0;
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of rl) {
    lines++;
    seen.add(createHash("sha1").update(line).digest("base64"));
  }
  return { lines, unique: seen.size };
}

/** Runs `node args` (under time -v when available); returns wall seconds, max RSS (MB), stdout. */
async function timedNode(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ seconds: number; maxRssMb: number | undefined; stdout: string }> {
  const useTime = existsSync(TIME);
  const cmd = useTime ? TIME : process.execPath;
  const argv = useTime ? ["-v", process.execPath, ...args] : args;
  const t0 = performance.now();
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
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
    throw new Error(`${args.slice(0, 3).join(" ")} exited with ${code}: ${stderr.slice(-2000)}`);
  const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr);
  return { seconds, maxRssMb: m ? Number(m[1]) / 1024 : undefined, stdout };
}

export async function runOurExport(
  name: string,
  emu: Emulator,
  dir: string,
  certFile: string,
  expected: number,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<RunResult> {
  const out = join(dir, `ours-${Date.now()}.jsonl`);
  const keep = process.env.BENCH_KEEP_OUTPUT === "1";
  const r = await timedNode(
    [
      CLI,
      "export",
      "--out",
      out,
      "--force",
      "-q",
      "--endpoint",
      emu.address,
      "--user-id",
      USER,
      "--from",
      "2020-01-01T00:00:00Z",
      ...extra,
    ],
    { CLARIFAI_PAT: PAT, GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: certFile, ...env },
  );
  const { lines: entries, unique } = await countLines(out);
  let note: string | undefined;
  if (entries !== expected || unique !== expected) {
    note = `expected ${expected} entries, got ${entries} lines (${unique} distinct); output kept at ${out}`;
    process.stderr.write(`bench: ${name}: ${note}\n`);
  } else if (!keep) {
    rmSync(out, { force: true });
    rmSync(`${out}.manifest.json`, { force: true });
  }
  return {
    name,
    entries,
    seconds: r.seconds,
    entriesPerSec: entries / r.seconds,
    maxRssMb: r.maxRssMb ?? Number.NaN,
    ...(note ? { note } : {}),
  };
}

export async function runNaiveOfficial(
  name: string,
  emu: Emulator,
  dir: string,
  certFile: string,
  expected: number,
): Promise<RunResult> {
  const out = join(dir, `naive-${Date.now()}.jsonl`);
  const r = await timedNode([NAIVE, out, USER, PAT], {
    CLARIFAI_GRPC_BASE: emu.address,
    GRPC_DEFAULT_SSL_ROOTS_FILE_PATH: certFile,
  });
  const report = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as {
    entries: number;
    maxRssKb: number;
  };
  rmSync(out, { force: true });
  if (report.entries !== expected)
    throw new Error(`${name}: wrote ${report.entries} entries, expected ${expected}`);
  return {
    name,
    entries: report.entries,
    seconds: r.seconds,
    entriesPerSec: report.entries / r.seconds,
    maxRssMb: r.maxRssMb ?? report.maxRssKb / 1024,
  };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "clarifai-audit-bench-"));
}
