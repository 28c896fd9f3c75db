/**
 * Helpers for the CLI tests: the CLI run in-process (`runMain`: packages/cli/src/cli/cli.ts's `main` with streams
 * of its own, for usage, validation and help tests), or the built CLI (the package's bin, bundled by
 * `npm run build`, which `npm test` runs before jest) run as a child process (`runCli`, for what only
 * a process shows: signals, crashes, the bin as users run it), against an in-process emulator on an
 * ephemeral loopback port.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { expect } from "@jest/globals";
import { main } from "../../packages/cli/src/cli/cli.js";
import type { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";

/** The package's bin: the bundled CLI (scripts/bundle-cli.mjs). */
export const CLI = join(process.cwd(), "packages", "cli", "dist", "src", "cli", "clarifai-audit.mjs");
/** The CLI as tsc emits it, one module per source file (for tests of what loads when). */
export const CLI_MODULES = join(process.cwd(), "packages", "cli", "dist", "src", "cli", "main.js");
export const PAT = "cli-test-pat-0123456789abcdef";
export const USER = "cli-user";

/** Result of one CLI run. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Environment of the child: the PAT and user id, nothing inherited that could point elsewhere. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    CLARIFAI_PAT: PAT,
    CLARIFAI_USER_ID: USER,
    ...extra,
  };
  return env;
}

/** Spawns the CLI; the caller owns the child. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = cliEnv(), cwd?: string): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
}

/** Collects a child's output and exit. */
export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding("utf8").on("data", (d: string) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/**
 * Runs the CLI where it cannot write into a fresh read-only (0555) folder, which it passes to `args`
 * (a function of the folder); the folder is removed after. Root may write anywhere, so as root the
 * CLI runs without the capabilities that let it (setpriv drops CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH from its bounding set): still root, so it reads the checkout wherever it is.
 */
export async function runCliWithReadOnlyFolder(
  args: (folder: string) => string[],
): Promise<CliResult & { folder: string; left: string[] }> {
  const outer = mkdtempSync(join(tmpdir(), "clarifai-audit-ro-"));
  try {
    const folder = join(outer, "ro");
    mkdirSync(folder, { mode: 0o555 });
    chmodSync(folder, 0o555);
    const argv = [CLI, ...args(folder)];
    const child =
      process.getuid?.() === 0
        ? spawn(
            "setpriv",
            ["--bounding-set=-dac_override,-dac_read_search", "--", process.execPath, ...argv],
            {
              env: cliEnv(),
              stdio: ["ignore", "pipe", "pipe"],
            },
          )
        : spawn(process.execPath, argv, { env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] });
    const r = await collect(child);
    return { ...r, folder, left: readdirSync(folder) };
  } finally {
    rmSync(outer, { recursive: true, force: true });
  }
}

/** A small seeded generator, so a failing run can be replayed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * Runs the CLI `rounds` times, each run SIGKILLed after 150–1350 ms drawn from `random`; a run that
 * ends before its kill must succeed with stderr matching `done`. Returns how many were killed.
 */
export async function runKilledAtRandomPoints(
  args: string[],
  rounds: number,
  random: () => number,
  done: RegExp,
): Promise<number> {
  let killed = 0;
  for (let i = 0; i < rounds; i++) {
    const child = spawnCli(args);
    const result = collect(child);
    const timer = setTimeout(() => child.kill("SIGKILL"), 150 + Math.floor(random() * 1200));
    const r = await result;
    clearTimeout(timer);
    if (r.signal === "SIGKILL") killed++;
    else expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.stringMatching(done) });
  }
  return killed;
}

/** A stream that keeps what is written to it, as text. */
function textSink(): Writable & { text: string } {
  const sink = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      sink.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string };
  sink.text = "";
  return sink;
}

/**
 * Runs the CLI in this process (packages/cli/src/cli/cli.ts's `main`) with `env` and streams of its own; no child
 * process. `signal` is always null: a signal reaches a process, and in-process runs share jest's.
 * `options.clock` is the run's clock (what "now", "today" and the waits go by).
 */
export async function runMain(
  args: string[],
  env: NodeJS.ProcessEnv = cliEnv(),
  options: Parameters<typeof main>[3] = {},
): Promise<CliResult> {
  const stdout = textSink();
  const stderr = textSink();
  const code = await main(args, env, { stdin: new PassThrough(), stdout, stderr }, options);
  return { code, signal: null, stdout: stdout.text, stderr: stderr.text };
}

/** Entries the export manifest of `out` has committed, or -1 while there is none. */
export function committedEntries(out: string): number {
  try {
    return (JSON.parse(readFileSync(`${out}.manifest.json`, "utf8")) as { committed: { entries: number } })
      .committed.entries;
  } catch {
    return -1;
  }
}

/**
 * Resolves once the export writing `out` has committed at least `entries` entries, or has exited.
 * Progress, not time, picks the kill point, so the export is stopped mid-way however fast it runs.
 */
export async function committedAtLeast(child: ChildProcess, out: string, entries: number): Promise<void> {
  while (child.exitCode === null && child.signalCode === null && committedEntries(out) < entries) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Runs the CLI to completion. */
export function runCli(args: string[], env?: NodeJS.ProcessEnv, cwd?: string): Promise<CliResult> {
  return collect(spawnCli(args, env, cwd));
}

/** `--endpoint ADDR --insecure`. */
export function connection(grpcAddress: string): string[] {
  return ["--endpoint", grpcAddress, "--insecure"];
}

/** A fresh temporary directory, removed by the returned cleanup. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-cli-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Count and SHA-256 of the sorted lines: the order-independent identity of a set of JSON lines. */
export function setDigest(lines: string[]): { count: number; sha256: string } {
  const sorted = [...lines].sort();
  const hash = createHash("sha256");
  for (const l of sorted) hash.update(`${l}\n`);
  return { count: sorted.length, sha256: hash.digest("hex") };
}

/** Every path under `dir` with its size and content hash: any write shows. */
export function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      const info = statSync(p);
      if (info.isDirectory()) walk(p);
      else out.push(`${p} ${info.size} ${createHash("sha256").update(readFileSync(p)).digest("hex")}`);
    }
  };
  walk(dir);
  return out.join("\n");
}

/** Non-empty lines of a file. */
export function fileLines(path: string): string[] {
  return readFileSync(path, "utf8")
    .split("\n")
    .filter((l) => l.length > 0);
}

/** Resolves when `pred(stderr so far)` holds or the child exits. */
export function waitForStderr(child: ChildProcess, pred: (text: string) => boolean): Promise<void> {
  let text = "";
  return new Promise((resolve) => {
    child.stderr?.on("data", (d: Buffer | string) => {
      text += d.toString();
      if (pred(text)) resolve();
    });
    child.on("close", () => resolve());
  });
}

/** RFC 4180 CSV → rows (quoted fields, doubled quotes, CRLF or LF), to check what csv-stringify wrote. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += c;
  }
  if (field !== "" || row.length > 0) rows.push([...row, field]);
  return rows;
}

/** An RFC 3339 UTC timestamp as exact nanoseconds since the epoch (text order is not time order). */
export function isoToNs(text: string): bigint {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(text);
  if (!m) throw new Error(`not an RFC 3339 UTC timestamp: ${text}`);
  return BigInt(Date.parse(`${m[1]}Z`)) * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0"));
}

/** Orders entries oldest first, to the nanosecond. */
export function byTime(a: AuditLogEntry, b: AuditLogEntry): number {
  return a.timestamp!.seconds - b.timestamp!.seconds || a.timestamp!.nanos - b.timestamp!.nanos;
}

/** Asserts JSONL lines are oldest first (RFC 3339 with a variable fraction does not sort as text). */
export function expectOrdered(lines: string[]): void {
  const ts = lines.map((l) => (JSON.parse(l) as { timestamp: string }).timestamp);
  for (let i = 1; i < ts.length; i++) {
    expect(isoToNs(ts[i - 1] as string) <= isoToNs(ts[i] as string)).toBe(true);
  }
}

/** An in-process emulator serving `count` generated entries, with the CLI flags to reach it. */
export interface GeneratedEmulator {
  emu: EmulatorHandle;
  conn: string[];
  /** The same entries, oldest first. */
  sorted: AuditLogEntry[];
  tmp: { dir: string; cleanup: () => void };
  close(): Promise<void>;
}

export async function startGeneratedEmulator(count: number, seed: number): Promise<GeneratedEmulator> {
  const tmp = tempDir();
  const emu = await startEmulator({ pats: { [PAT]: USER }, generate: { count, seed }, restPort: false });
  return {
    emu,
    conn: connection(emu.grpcAddress),
    sorted: generateEntries(count, seed).sort(byTime),
    tmp,
    async close() {
      await emu.close();
      tmp.cleanup();
    },
  };
}
