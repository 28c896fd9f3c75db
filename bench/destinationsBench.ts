/**
 * The destinations of issue 24, part 13 of `npm run bench`: `sync` of one emulator log of N
 * generated entries (default 200,000; the emulator in this process, plaintext loopback gRPC) into
 * each destination, the built bin as users run it (wall time, start-up included; peak RSS from
 * /usr/bin/time -v), a fresh destination each run:
 * - a lake on local disk (the baseline), the S3 lake (`s3://bench/…`) and the S3 stream layout
 *   (`?layout=stream`) on s3rver;
 * - `syslog://` to a real rsyslogd (test/helpers/rsyslog.ts, one `.` written per message: the run
 *   is checked to have reached rsyslog whole);
 * - `splunk+https://` to the HEC test collector (test/helpers/hecServer.ts, acknowledgement on);
 * and beside the two streams their store alone, fed from memory (./destinationAlone.ts): the
 * destination's own ceiling apart from the walk's. s3rver and the HEC collector run in a child of
 * their own (./destinationServers.ts), so they do not share the emulator's event loop.
 *
 * Targets: S3 lake ≥ 0.5× the local lake's entries/s; syslog and HEC ≥ 20,000 entries/s.
 * BENCH_DEST_ENTRIES sets N, BENCH_DEST_ROUNDS the rounds (default 1; the rows give the median).
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { type EmulatorHandle, startEmulator } from "@clarifai-audit/emulator";
import { type Rsyslog, startRsyslog } from "../test/helpers/rsyslog.js";
import { waitFor } from "../test/helpers/waitFor.js";
import { runBin } from "./collectorBench.js";
import type { AloneFigures } from "./destinationAlone.js";
import { type DestinationServers, startDestinationServers } from "./destinationServers.js";
import { cpuSeconds, tempDir } from "./endToEnd.js";
import { timed } from "./lakeBench.js";
import { median } from "./measure.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const ALONE = join(ROOT, "dist/bench/destinationAlone.js");
const PAT = "bench-destinations-pat";
const USER = "bench-destinations";

/** The rows of the part, in the order they run each round. */
export const DESTINATION_ROWS = [
  "lake",
  "s3",
  "s3Stream",
  "syslog",
  "hec",
  "syslogFast",
  "hecFast",
  "syslogAlone",
  "hecAlone",
] as const;
/** One row's key. */
export type DestinationRow = (typeof DESTINATION_ROWS)[number];

/** One row's figures (the median over rounds when there were several). */
export interface DestinationFigures {
  name: string;
  entries: number;
  seconds: number;
  entriesPerSec: number;
  /** Search requests of the sync's `--json` line (absent for a store alone). */
  requests?: number;
  /** Search calls the emulator served during the run. */
  served?: number;
  maxRssMb?: number;
  /**
   * CPU seconds of our process: the whole `sync` (user + system, /usr/bin/time -v), or a store
   * alone's commits. On a loaded machine this is the steadier figure: entries / cpuSeconds is what
   * one free core would deliver if our process were the bottleneck.
   */
  cpuSeconds?: number;
  /** CPU seconds the emulator (the bench's process) used during the run. */
  emulatorCpuSeconds?: number;
  /** CPU seconds the destination's server used during the run (s3rver, the HEC collector, rsyslogd). */
  destinationCpuSeconds?: number;
  /** Wall seconds of every round. */
  samples: number[];
  /** What went wrong (a destination short of entries): the row's figures are suspect. */
  note?: string;
}

/** What {@link destinationsBench} measured. */
export interface DestinationsBenchResult {
  entries: number;
  rounds: number;
  /** Load average (1, 5, 15 min) when the part started and when it ended. */
  loadAtStart: number[];
  loadAtEnd: number[];
  seconds: number;
  rows: Record<DestinationRow, DestinationFigures>;
  markdown: string;
}

/** Options of {@link destinationsBench}. */
export interface DestinationsBenchOptions {
  entries?: number;
  rounds?: number;
  quick?: boolean;
  log?: (line: string) => void;
}

type Sample = Omit<DestinationFigures, "samples" | "name">;

/** Everything one run needs. */
interface Setup {
  n: number;
  dir: string;
  emu: EmulatorHandle;
  servers: DestinationServers;
  rsyslog: Rsyslog;
}

/** Whose server's CPU a run measures: none (a local lake), the servers' child (S3, HEC), rsyslogd. */
type ServerKind = "none" | "servers" | "rsyslog";

/** CPU seconds the server of `kind` used so far (undefined: not measured). */
async function serverCpu(s: Setup, kind: ServerKind): Promise<number | undefined> {
  if (kind === "servers") return (await s.servers.stats()).cpuSeconds;
  if (kind !== "rsyslog") return undefined;
  const pidFile = join(s.rsyslog.dir, "rsyslogd.pid");
  return existsSync(pidFile) ? cpuSeconds(Number(readFileSync(pidFile, "utf8").trim())) : undefined;
}

/** CPU seconds of this process (the emulator's: the bench does nothing else during a run). */
function ownCpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Runs `f`, adding the CPU the emulator and the destination's server used meanwhile to its sample. */
async function withCpu(s: Setup, kind: ServerKind, f: () => Promise<Sample>): Promise<Sample> {
  const emu0 = ownCpu();
  const dest0 = await serverCpu(s, kind);
  const r = await f();
  const emulatorCpuSeconds = ownCpu() - emu0;
  const dest1 = await serverCpu(s, kind);
  return {
    ...r,
    emulatorCpuSeconds,
    ...(dest0 !== undefined && dest1 !== undefined ? { destinationCpuSeconds: dest1 - dest0 } : {}),
  };
}

/** Messages rsyslog wrote so far (one byte each, output `tally`). */
function written(rs: Rsyslog): number {
  const out = join(rs.dir, "out.jsonl");
  return existsSync(out) ? statSync(out).size : 0;
}

/** `sync` of the log into `dest`; `check` says what the destination is short of ("" when whole). */
async function syncInto(
  s: Setup,
  dest: string,
  extra: string[],
  env: Record<string, string>,
  check: (inserted: number) => Promise<string>,
): Promise<Sample> {
  const args = ["sync", "--dest", dest, ...extra, "--endpoint", s.emu.grpcAddress, "--insecure"];
  const r = await runBin(
    [...args, "--user-id", USER, "--settle", "0s"],
    { CLARIFAI_PAT: PAT, ...env },
    s.emu,
  );
  const note = await check(r.inserted ?? 0);
  return {
    entries: s.n,
    seconds: r.seconds,
    entriesPerSec: s.n / r.seconds,
    requests: r.requests,
    served: r.served,
    ...(r.maxRssMb !== undefined ? { maxRssMb: r.maxRssMb } : {}),
    ...(r.cpuSeconds !== undefined ? { cpuSeconds: r.cpuSeconds } : {}),
    ...(note ? { note } : {}),
  };
}

/** The store of `kind` alone (./destinationAlone.ts in a child, under time -v); `check` as for a sync. */
async function alone(
  s: Setup,
  kind: "syslog" | "hec",
  url: string,
  env: Record<string, string>,
  check: (inserted: number) => Promise<string>,
): Promise<Sample> {
  const args = [ALONE, kind, String(s.n), url, ...(kind === "hec" ? [s.servers.hecCa] : [])];
  const r = await timed(process.execPath, args, env);
  const f = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as AloneFigures;
  const note = await check(f.inserted);
  return {
    entries: s.n,
    seconds: f.seconds,
    entriesPerSec: s.n / f.seconds,
    cpuSeconds: f.cpuSeconds,
    ...(r.maxRssMb !== undefined ? { maxRssMb: r.maxRssMb } : {}),
    ...(note ? { note } : {}),
  };
}

/** One round: every row once, each into a fresh destination. */
async function round(s: Setup, i: number): Promise<Record<DestinationRow, Sample>> {
  const whole = (what: string, held: number) => (held === s.n ? "" : `${what} holds ${held} of ${s.n}`);
  const inserted = (n: number) => Promise.resolve(whole("the destination", n));
  const s3env = s.servers.s3Env;
  const bucket = s.servers.bucket;
  const lake = await withCpu(s, "none", () => syncInto(s, join(s.dir, `lake-${i}`), [], {}, inserted));
  const s3 = await withCpu(s, "servers", () => syncInto(s, `s3://${bucket}/lake-${i}`, [], s3env, inserted));
  const stream = `s3://${bucket}/stream-${i}?layout=stream`;
  const s3Stream = await withCpu(s, "servers", () => syncInto(s, stream, [], s3env, inserted));

  let before = 0;
  const syslogUrl = `syslog://127.0.0.1:${s.rsyslog.port}`;
  const syslogChecked = async (n: number) => {
    // confirm=close: rsyslog read every message before the run ends; its file may lag a little.
    await waitFor(() => written(s.rsyslog) - before >= s.n, {
      what: `${s.n} messages written by rsyslog`,
      timeoutMs: 60_000,
      intervalMs: 50,
    }).catch(() => {});
    return whole("the run's count", n) || whole("rsyslog's file", written(s.rsyslog) - before);
  };
  let taken = 0;
  const hecEnv = { CLARIFAI_AUDIT_HEC_TOKEN: s.servers.hecToken };
  const hecChecked = async (n: number) =>
    whole("the run's count", n) || whole("the HEC collector", (await s.servers.stats()).hecTaken - taken);

  before = written(s.rsyslog);
  const checkpoint = (name: string) => ["--checkpoint", join(s.dir, `${name}-${i}.json`)];
  const syslog = await withCpu(s, "rsyslog", () =>
    syncInto(s, syslogUrl, checkpoint("syslog"), {}, syslogChecked),
  );
  taken = (await s.servers.stats()).hecTaken;
  const hecArgs = [...checkpoint("hec"), "--ca", s.servers.hecCa];
  const hec = await withCpu(s, "servers", () => syncInto(s, s.servers.hecUrl, hecArgs, hecEnv, hecChecked));

  // The lever: V8's GC defaults instead of sync's default `--memory lean` (bench/notes.md).
  const fast = ["--memory", "fast"];
  before = written(s.rsyslog);
  const syslogFast = await withCpu(s, "rsyslog", () =>
    syncInto(s, syslogUrl, [...checkpoint("syslog-fast"), ...fast], {}, syslogChecked),
  );
  taken = (await s.servers.stats()).hecTaken;
  const hecFastArgs = [...checkpoint("hec-fast"), "--ca", s.servers.hecCa, ...fast];
  const hecFast = await withCpu(s, "servers", () =>
    syncInto(s, s.servers.hecUrl, hecFastArgs, hecEnv, hecChecked),
  );

  before = written(s.rsyslog);
  const syslogAlone = await withCpu(s, "rsyslog", () => alone(s, "syslog", syslogUrl, {}, syslogChecked));
  taken = (await s.servers.stats()).hecTaken;
  const hecAlone = await withCpu(s, "servers", () => alone(s, "hec", s.servers.hecUrl, hecEnv, hecChecked));
  return { lake, s3, s3Stream, syslog, hec, syslogFast, hecFast, syslogAlone, hecAlone };
}

const NAMES: Record<DestinationRow, string> = {
  lake: "sync → lake on local disk (baseline)",
  s3: "sync → s3:// lake (s3rver)",
  s3Stream: "sync → s3://…?layout=stream (s3rver)",
  syslog: "sync → syslog:// (rsyslogd, confirm=close)",
  hec: "sync → splunk+https:// (HEC collector, acks on)",
  syslogFast: "lever: sync → syslog:// --memory fast",
  hecFast: "lever: sync → splunk+https:// --memory fast",
  syslogAlone: "syslog store alone, fed from memory",
  hecAlone: "HEC store alone, fed from memory",
};

/** The median row of `samples` (max RSS: the highest). */
function medianOf(name: string, samples: Sample[]): DestinationFigures {
  const notes = samples.map((x) => x.note).filter(Boolean);
  const mid = (f: (x: Sample) => number | undefined) => {
    const xs = samples.map(f).filter((x): x is number => x !== undefined);
    return xs.length > 0 ? median(xs) : undefined;
  };
  const rss = samples.map((x) => x.maxRssMb).filter((x): x is number => x !== undefined);
  const requests = mid((x) => x.requests);
  const served = mid((x) => x.served);
  const cpuSeconds = mid((x) => x.cpuSeconds);
  const emulatorCpuSeconds = mid((x) => x.emulatorCpuSeconds);
  const destinationCpuSeconds = mid((x) => x.destinationCpuSeconds);
  return {
    name,
    entries: samples[0]?.entries ?? 0,
    seconds: median(samples.map((x) => x.seconds)),
    entriesPerSec: median(samples.map((x) => x.entriesPerSec)),
    samples: samples.map((x) => Math.round(x.seconds * 100) / 100),
    ...(requests !== undefined ? { requests } : {}),
    ...(served !== undefined ? { served } : {}),
    ...(cpuSeconds !== undefined ? { cpuSeconds } : {}),
    ...(emulatorCpuSeconds !== undefined ? { emulatorCpuSeconds } : {}),
    ...(destinationCpuSeconds !== undefined ? { destinationCpuSeconds } : {}),
    ...(rss.length > 0 ? { maxRssMb: Math.max(...rss) } : {}),
    ...(notes.length > 0 ? { note: notes.join("; ") } : {}),
  };
}

/** Runs part 13 (see the module comment). */
export async function destinationsBench(o: DestinationsBenchOptions = {}): Promise<DestinationsBenchResult> {
  const n = o.entries ?? Number(process.env.BENCH_DEST_ENTRIES ?? (o.quick ? 20_000 : 200_000));
  const rounds = o.rounds ?? Number(process.env.BENCH_DEST_ROUNDS ?? 1);
  const log = o.log ?? (() => {});
  const loadAtStart = loadavg().map((x) => Number(x.toFixed(2)));
  const t0 = performance.now();
  const dir = tempDir();
  const emu = await startEmulator({
    restPort: false,
    accounts: [{ pat: PAT, userId: USER, generate: { count: n, seed: 1 } }],
  });
  const servers = await startDestinationServers();
  const rsyslog = await startRsyslog({ output: "tally" });
  const samples = Object.fromEntries(DESTINATION_ROWS.map((k) => [k, [] as Sample[]])) as Record<
    DestinationRow,
    Sample[]
  >;
  try {
    for (let i = 0; i < rounds; i++) {
      log(`part 13: destinations, round ${i + 1} of ${rounds}, ${n} entries`);
      const r = await round({ n, dir, emu, servers, rsyslog }, i);
      for (const k of DESTINATION_ROWS) samples[k].push(r[k]);
    }
  } finally {
    await rsyslog.close();
    await servers.close();
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const rows = Object.fromEntries(DESTINATION_ROWS.map((k) => [k, medianOf(NAMES[k], samples[k])])) as Record<
    DestinationRow,
    DestinationFigures
  >;
  const result = {
    entries: n,
    rounds,
    loadAtStart,
    loadAtEnd: loadavg().map((x) => Number(x.toFixed(2))),
    seconds: (performance.now() - t0) / 1000,
    rows,
  };
  return { ...result, markdown: markdownOf(result) };
}

const fmt = (n: number | undefined, d = 0) =>
  n === undefined || !Number.isFinite(n)
    ? "n/a"
    : n.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

function markdownOf(r: Omit<DestinationsBenchResult, "markdown">): string {
  const cpu = (x: DestinationFigures) =>
    `${fmt(x.cpuSeconds, 1)} / ${fmt(x.emulatorCpuSeconds, 1)} / ${x.destinationCpuSeconds === undefined ? "–" : fmt(x.destinationCpuSeconds, 1)}`;
  const row = (x: DestinationFigures) =>
    `| ${x.name}${x.note ? ` ⚠ ${x.note}` : ""} | ${fmt(x.entries)} | ${fmt(x.seconds, 2)} | ${fmt(x.entriesPerSec)} | ${fmt(x.cpuSeconds === undefined ? undefined : x.entries / x.cpuSeconds)} | ${cpu(x)} | ${x.requests === undefined ? "" : `${fmt(x.requests)} (${fmt(x.served)})`} | ${fmt(x.maxRssMb, 1)} | ${x.samples.map((v) => fmt(v, 2)).join(", ")} |`;
  const mark = (ok: boolean) => (ok ? "met" : "**not met**");
  const { lake, s3, s3Stream, syslog, hec, syslogFast, hecFast, syslogAlone, hecAlone } = r.rows;
  const s3Ratio = s3.entriesPerSec / lake.entriesPerSec;
  const streamRatio = s3Stream.entriesPerSec / lake.entriesPerSec;
  const at = (x: DestinationFigures) =>
    `| ${x.name.replace(/ \(.*$/, "")} ≥ 20,000 entries/s | ${fmt(x.entriesPerSec)} | ${mark(x.entriesPerSec >= 20_000)} |`;
  return [
    `**Destinations** (${fmt(r.entries)} entries, emulator in the bench's process, plaintext loopback gRPC; s3rver and the HEC collector in a child process, rsyslogd its own; \`sync\` rows: wall time of the bundled CLI, start-up included, requests = the command's \`--json\` figure (the emulator's count); store-alone rows: the commits' wall time in a child fed from memory, commits of the store's default size; ${r.rounds === 1 ? "one run each" : `median of ${r.rounds} rounds`}; load average ${r.loadAtStart.join(" / ")} at the part's start, ${r.loadAtEnd.join(" / ")} at its end; ${fmt(r.seconds)} s)`,
    "",
    "| run | entries | seconds | entries/s | entries per CPU s of ours | CPU s: ours / emulator / server | requests | peak RSS MB | seconds per round |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ...[lake, s3, s3Stream, syslog, hec, syslogFast, hecFast, syslogAlone, hecAlone].map(row),
    "",
    "| target | measured | |",
    "| --- | ---: | --- |",
    `| S3 lake sync ≥ 0.5× the local lake sync's entries/s | ${fmt(s3.entriesPerSec)} / ${fmt(lake.entriesPerSec)} = ${fmt(s3Ratio, 2)}× | ${mark(s3Ratio >= 0.5)} |`,
    `| (beside it) S3 stream layout over the local lake | ${fmt(s3Stream.entriesPerSec)} / ${fmt(lake.entriesPerSec)} = ${fmt(streamRatio, 2)}× | |`,
    at(syslog),
    at(syslogAlone),
    at(hec),
    at(hecAlone),
    "",
  ].join("\n");
}

/** Markers of part 13's section in bench/README.md. */
const README_START = "<!-- destinations-bench -->";
const README_END = "<!-- /destinations-bench -->";

/**
 * Replaces part 13's section of `readme` (between its markers) with `r`'s table, headed by the
 * command and the date: the part is run on its own more often than the whole bench.
 */
export function writeDestinationsReadme(readme: string, r: DestinationsBenchResult, command?: string): void {
  const text = readFileSync(readme, "utf8");
  const start = text.indexOf(README_START);
  const end = text.indexOf(README_END);
  if (start === -1 || end < start) return;
  const how =
    command ?? `BENCH_PARTS=13${r.rounds === 1 ? "" : ` BENCH_DEST_ROUNDS=${r.rounds}`} npm run bench`;
  const section = [
    README_START,
    `Last run: \`${how}\`, ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC.`,
    "",
    r.markdown,
  ].join("\n");
  writeFileSync(readme, `${text.slice(0, start)}${section}${text.slice(end)}`);
}

// `node dist/bench/destinationsBench.js [entries] [rounds]` (after a build): this part alone; at full size
// (200,000 entries or more) its figures also go to bench/README.md unless BENCH_NO_README=1.
if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  const entries = process.argv[2] ? Number(process.argv[2]) : undefined;
  const rounds = process.argv[3] ? Number(process.argv[3]) : undefined;
  destinationsBench({
    ...(entries ? { entries } : {}),
    ...(rounds ? { rounds } : {}),
    log: (l) => process.stderr.write(`bench: ${l}\n`),
  }).then(
    (r) => {
      process.stdout.write(`${r.markdown}\n`);
      // A full-size run stands for the project: its figures go to bench/README.md.
      if (r.entries >= 200_000 && process.env.BENCH_NO_README !== "1")
        writeDestinationsReadme(
          `${ROOT}bench/README.md`,
          r,
          `node dist/bench/destinationsBench.js ${process.argv.slice(2).join(" ")}`.trim(),
        );
    },
    (err) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
