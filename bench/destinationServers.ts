/**
 * The destinations' servers of part 13 (bench/destinationsBench.ts), in a process of their own so
 * that they do not share an event loop with the emulator: s3rver (test/helpers/s3.ts, one bucket)
 * and the Splunk HEC test collector (test/helpers/hecServer.ts: HTTPS, indexer acknowledgement on,
 * events counted, not kept). The first stdout line is their addresses ({@link DestinationServersInfo});
 * each `stats` line on stdin is answered with one {@link DestinationServersStats} line; stdin's end
 * stops both. The rsyslogd of the part is a process of its own already (test/helpers/rsyslog.ts).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { startHecServer } from "../test/helpers/hecServer.js";
import { startS3Server } from "../test/helpers/s3.js";

/** What the child prints first. */
export interface DestinationServersInfo {
  /** The client environment of s3rver (key pair, region, AWS_ENDPOINT_URL_S3). */
  s3Env: Record<string, string>;
  bucket: string;
  /** `splunk+https://127.0.0.1:PORT`. */
  hecUrl: string;
  hecToken: string;
  /** The CA file the HEC collector's certificate chains to. */
  hecCa: string;
}

/** The answer to `stats`. */
export interface DestinationServersStats {
  /** Events the HEC collector indexed since it started. */
  hecTaken: number;
  /** HTTP requests the HEC collector answered since it started. */
  hecRequests: number;
  /** CPU seconds this process used since it started. */
  cpuSeconds: number;
}

/** A running child. */
export interface DestinationServers extends DestinationServersInfo {
  child: ChildProcess;
  stats(): Promise<DestinationServersStats>;
  close(): Promise<void>;
}

/** Starts the child (this file run by node) and reads its addresses. */
export async function startDestinationServers(): Promise<DestinationServers> {
  const child = spawn(process.execPath, [new URL(import.meta.url).pathname, "serve"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const next = async () => {
    const r = await lines.next();
    if (r.done) throw new Error("the destination servers' process exited");
    return JSON.parse(r.value) as unknown;
  };
  const info = (await next()) as DestinationServersInfo;
  return {
    ...info,
    child,
    async stats() {
      child.stdin?.write("stats\n");
      return (await next()) as DestinationServersStats;
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.stdin?.end();
      await exited;
    },
  };
}

async function serve(): Promise<void> {
  const s3 = await startS3Server();
  const bucket = "bench";
  await s3.createBucket(bucket);
  const hec = await startHecServer({ record: false });
  const info: DestinationServersInfo = {
    s3Env: s3.env,
    bucket,
    hecUrl: hec.url(),
    hecToken: hec.token,
    hecCa: hec.tls.caPath,
  };
  process.stdout.write(`${JSON.stringify(info)}\n`);
  const input = createInterface({ input: process.stdin });
  input.on("line", (line) => {
    if (line.trim() !== "stats") return;
    const cpu = process.cpuUsage();
    const stats: DestinationServersStats = {
      hecTaken: hec.taken,
      hecRequests: hec.requests.length,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
    process.stdout.write(`${JSON.stringify(stats)}\n`);
  });
  input.on("close", () => {
    void Promise.all([hec.close(), s3.stop()]).then(() => process.exit(0));
  });
}

if (process.argv[2] === "serve" && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  serve().catch((err: unknown) => {
    process.stderr.write(`destination servers: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
