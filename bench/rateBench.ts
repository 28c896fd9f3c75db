/**
 * Part 6: `clarifai-audit export` against the emulator's rate limit (in this process, plaintext
 * loopback; the export in its own process, as users run it). Per row: the share of the request
 * budget used while there is data (served requests / (limit × seconds from the first request to
 * the last reply)), the share of calls throttled (the emulator's own count), and requests against
 * the planner's bound ⌈entries / per_page⌉ + slices + 2.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { type EmulatorHandle, startEmulator } from "@clarifai-audit/emulator";

const ROOT = new URL("../../", import.meta.url).pathname;
const CLI = join(ROOT, "packages/cli/dist/src/cli/clarifai-audit.mjs");
const PAT = "emulator-pat";
const USER = "emulator-user";
const PER_PAGE = 1000;

export interface RateRow {
  name: string;
  entries: number;
  latencyMs: number;
  serverLimit: number;
  /** What the client was told (--rate-limit), or undefined when not told. */
  told: number | undefined;
  exportSeconds: number;
  requests: number;
  throttled: number;
  /** Calls the emulator throttled for the rate limit during the run. */
  emulatorThrottled: number;
  emulatorCalls: number;
  /** Seconds from the client's first request to its last reply. */
  requestSeconds: number;
  /** served / (limit × requestSeconds). */
  budgetShare: number;
  /** Seconds in which the export had no request waiting for the budget. */
  idleSeconds: number;
  /** served / (limit × (requestSeconds − idleSeconds)): the budget's own share, while calls waited. */
  pacedShare: number;
  throttledShare: number;
  slices: number;
  /** ⌈entries / per_page⌉ + slices + 2 (slices counting the pieces split off). */
  bound: number;
  /** The same with the planned slices only: what the requests come to when no split adds a page. */
  plannedBound: number;
  limitSeen: string;
  note?: string;
}

function runExport(
  address: string,
  out: string,
  extra: string[],
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(
    process.execPath,
    [
      CLI,
      "export",
      "--out",
      out,
      "--force",
      "--endpoint",
      address,
      "--insecure",
      "--user-id",
      USER,
      "--from",
      "2020-01-01T00:00:00Z",
      ...extra,
    ],
    { env: { PATH: process.env.PATH, CLARIFAI_PAT: PAT }, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, stderr })));
}

const SUMMARY =
  /exported (\d+) entries in (\d+) pages.*slices (\d+) \(splits (\d+)\).*?([\d.]+) s, \d+ entries\/s; requests (\d+) \(served (\d+), throttled (\d+)\), [\d.]+ requests\/s over ([\d.]+) s \(([\d.]+) s with none waiting\), (.*)$/m;

async function row(
  emu: EmulatorHandle,
  dir: string,
  entries: number,
  latencyMs: number,
  serverLimit: number,
  told: number | undefined,
): Promise<RateRow> {
  emu.setFaults({ latencyMs });
  emu.setRateLimit(serverLimit);
  const calls = emu.calls;
  const limited = emu.rateLimited;
  const out = join(dir, `rate-${Date.now()}.jsonl`);
  const r = await runExport(emu.grpcAddress, out, told === undefined ? [] : ["--rate-limit", String(told)]);
  rmSync(out, { force: true });
  rmSync(`${out}.manifest.json`, { force: true });
  const m = SUMMARY.exec(r.stderr);
  if (r.code !== 0 || m === null) throw new Error(`export exited ${r.code}: ${r.stderr.slice(-1500)}`);
  const got = Number(m[1]);
  const slices = Number(m[3]);
  const splits = Number(m[4]);
  const requests = Number(m[6]);
  const served = Number(m[7]);
  const throttled = Number(m[8]);
  const requestSeconds = Number(m[9]);
  const emulatorCalls = emu.calls - calls;
  const emulatorThrottled = emu.rateLimited - limited;
  const name = `${entries / 1000}k entries, ${latencyMs} ms RTT, server ${serverLimit}/s, ${told === undefined ? "client not told" : `--rate-limit ${told}`}`;
  return {
    name,
    entries: got,
    latencyMs,
    serverLimit,
    told,
    exportSeconds: Number(m[5]),
    requests,
    throttled,
    emulatorThrottled,
    emulatorCalls,
    requestSeconds,
    budgetShare: served / (serverLimit * requestSeconds),
    throttledShare: emulatorThrottled / emulatorCalls,
    slices,
    bound: Math.ceil(got / PER_PAGE) + slices + 2,
    plannedBound: Math.ceil(got / PER_PAGE) + slices - splits + 2,
    idleSeconds: Number(m[10]),
    pacedShare: served / (serverLimit * Math.max(1e-3, requestSeconds - Number(m[10]))),
    limitSeen: (m[11] as string).trim(),
    ...(got !== entries ? { note: `expected ${entries} entries, got ${got}` } : {}),
  };
}

/** Every row for each size: 0 and 100 ms RTT; told and not told, at 15/s and at 5/s. */
export async function rateBench(sizes: number[], dir: string, log: (s: string) => void): Promise<RateRow[]> {
  const rows: RateRow[] = [];
  for (const n of sizes) {
    const emu = await startEmulator({ generate: { count: n, seed: 1 }, restPort: false });
    try {
      for (const latency of [0, 100]) {
        for (const [limit, told] of [
          [15, 15],
          [15, undefined],
          [5, 5],
          [5, undefined],
        ] as const) {
          log(`part 6: ${n} entries, ${latency} ms, server ${limit}/s, told ${told ?? "nothing"}`);
          rows.push(await row(emu, dir, n, latency, limit, told));
        }
      }
    } finally {
      await emu.close();
    }
  }
  return rows;
}
