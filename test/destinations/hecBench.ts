/**
 * A quick throughput check of the Splunk HEC destination on loopback (the issue's target: ≥ 20,000
 * entries/s): the test collector (test/helpers/hecServer.ts, HTTPS, indexer acknowledgement on,
 * events counted, not kept) in a process of its own, and in this one the HEC store (delivery core +
 * transport) fed commits of `commitEntries` entries as `sync` feeds it, each commit sent, acked and
 * its state file replaced. Prints one JSON line: wall-clock entries/s, and the CPU seconds the
 * store (timed part) and the collector (its whole life) used, which say more on a loaded machine.
 *
 *   npx esbuild test/destinations/hecBench.ts --bundle --platform=node --format=esm \
 *     --packages=external --tsconfig=tsconfig.json --outfile=/tmp/hecBench.mjs \
 *     --banner:js='import{createRequire}from"node:module";const require=createRequire(import.meta.url);'
 *   ln -sf $PWD/node_modules /tmp/node_modules; node /tmp/hecBench.mjs [ENTRIES] [COMMIT_ENTRIES] [QUERY]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { createHecStore } from "../../packages/cli/src/sync/hec/store.js";
import { parseHecUrl } from "../../packages/cli/src/sync/hec/url.js";
import type { SyncState } from "../../packages/cli/src/sync/store.js";
import { formatTimestampExact } from "../../packages/client/src/domain/time.js";
import { exportEntryFromMessage } from "../../packages/client/src/export/exportEntry.js";
import { generateEntries } from "../../packages/emulator/src/index.js";
import { startHecServer } from "../helpers/hecServer.js";

if (process.argv[2] === "serve") {
  const s = await startHecServer({ record: false });
  process.stdout.write(`${JSON.stringify({ url: s.url(), token: s.token, ca: s.tls.caPath })}\n`);
  process.stdin.resume();
  process.stdin.on("end", () => {
    const cpu = process.cpuUsage();
    process.stdout.write(
      `${JSON.stringify({ taken: s.taken, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`,
    );
    void s.close().then(() => process.exit(0));
  });
} else {
  const n = Number(process.argv[2] ?? 200_000);
  const commitEntries = Number(process.argv[3] ?? 2000);
  const query = process.argv[4] ?? "";
  const server = spawn(process.execPath, [process.argv[1] as string, "serve"], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: server.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
  const info = JSON.parse((await lines.next()).value as string) as { url: string; token: string; ca: string };
  // Sorted by time, as a walk hands them over.
  const entries = generateEntries(n, 7)
    .map(exportEntryFromMessage)
    .sort((a, b) => a.timestamp.seconds - b.timestamp.seconds || a.timestamp.nanos - b.timestamp.nanos);
  for (const e of entries) e.key();
  const dir = mkdtempSync(join(tmpdir(), "hec-bench-"));
  const store = await createHecStore(parseHecUrl(`${info.url}${query === "" ? "" : `?${query}`}`), {
    env: {},
    format: "json",
    statePath: join(dir, "state.json"),
    ca: info.ca,
    hecToken: info.token,
    commitEntries,
  });
  const identity = { userId: "bench", endpoint: "bench", query: {} };
  await store.open(identity);
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  let totals: SyncState["totals"] = { entries: 0, late: 0, runs: 0 };
  for (let i = 0; i < entries.length; i += commitEntries) {
    const batch = entries.slice(i, i + commitEntries);
    const last = batch[batch.length - 1]?.timestamp ?? { seconds: 0, nanos: 0 };
    const r = await store.commit({
      entries: batch,
      state: { version: 1, identity, totals, updatedAt: new Date().toISOString() },
      // A short reconcile window: keys older than the commit's end are forgotten, as in steady state.
      forgetKeysBefore: formatTimestampExact(last),
    });
    totals = { ...totals, entries: totals.entries + r.inserted };
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await store.close();
  server.stdin?.end();
  const taken = JSON.parse((await lines.next()).value as string) as { taken: number; cpuSeconds: number };
  rmSync(dir, { recursive: true, force: true });
  process.stdout.write(
    `${JSON.stringify({ entries: n, commitEntries, query, seconds: Number(seconds.toFixed(2)), entriesPerSecond: Math.round(n / seconds), taken: taken.taken, clientCpuSeconds: (cpu.user + cpu.system) / 1e6, collectorCpuSeconds: taken.cpuSeconds })}\n`,
  );
}
