/**
 * A stream destination on its own, part 13 (bench/destinationsBench.ts): its store (the delivery
 * core over the syslog or HEC transport: dedupe by entry key, formatting, the wire, confirmation,
 * the state file replaced each commit) fed commits of the store's default size from memory, as
 * `sync` feeds it, with no emulator walk in front. The gap between this and `sync`'s entries/s is
 * the walk's share (gRPC, decoding, the planner); this is the destination's own ceiling.
 *
 *     node dist/bench/destinationAlone.js syslog ENTRIES syslog://127.0.0.1:PORT
 *     node dist/bench/destinationAlone.js hec ENTRIES splunk+https://127.0.0.1:PORT CA_FILE
 *
 * (HEC token from CLARIFAI_AUDIT_HEC_TOKEN.) Prints one JSON line ({@link AloneFigures}). The entries
 * are the emulator's generator's (seed 1, as the part's emulator), sorted by time as a walk hands
 * them over; making them is not timed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { formatTimestampExact } from "@clarifai-audit/client/internal/domain/time.js";
import { exportEntryFromMessage } from "@clarifai-audit/client/internal/export/exportEntry.js";
import { generateEntries } from "@clarifai-audit/emulator";
import { createHecStore } from "clarifai-audit/internal/sync/hec/store.js";
import { parseHecUrl } from "clarifai-audit/internal/sync/hec/url.js";
import type { SyncState, SyncStore } from "clarifai-audit/internal/sync/store.js";
import { createSyslogStore } from "clarifai-audit/internal/sync/syslog/store.js";
import { parseSyslogUrl } from "clarifai-audit/internal/sync/syslog/url.js";

/** What the child prints. */
export interface AloneFigures {
  entries: number;
  /** Entries the store reported inserted. */
  inserted: number;
  /** Entries per commit (the store's default). */
  commitEntries: number;
  /** Wall seconds of the commits (open and close excluded). */
  seconds: number;
  /** CPU seconds of this process over the commits. */
  cpuSeconds: number;
}

async function storeOf(kind: string, url: string, statePath: string, ca?: string): Promise<SyncStore> {
  if (kind === "syslog")
    return createSyslogStore(parseSyslogUrl(url), { env: {}, format: "json", statePath });
  if (kind === "hec") {
    const hecToken = process.env.CLARIFAI_AUDIT_HEC_TOKEN;
    if (hecToken === undefined) throw new Error("CLARIFAI_AUDIT_HEC_TOKEN is not set");
    return createHecStore(parseHecUrl(url), {
      env: {},
      format: "json",
      statePath,
      hecToken,
      ...(ca !== undefined ? { ca } : {}),
    });
  }
  throw new Error(`unknown destination kind ${kind} (syslog or hec)`);
}

async function main(): Promise<void> {
  const [kind = "", count = "200000", url = "", ca] = process.argv.slice(2);
  const n = Number(count);
  const entries = generateEntries(n, 1)
    .map(exportEntryFromMessage)
    .sort((a, b) => a.timestamp.seconds - b.timestamp.seconds || a.timestamp.nanos - b.timestamp.nanos);
  const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-bench-alone-"));
  try {
    const store = await storeOf(kind, url, join(dir, "state.json"), ca);
    const identity = { userId: "bench", endpoint: "bench", query: {} };
    await store.open(identity);
    const per = store.commitEntries ?? 2000;
    let totals: SyncState["totals"] = { entries: 0, late: 0, runs: 0 };
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < entries.length; i += per) {
      const batch = entries.slice(i, i + per);
      const last = batch[batch.length - 1]?.timestamp ?? { seconds: 0, nanos: 0 };
      const r = await store.commit({
        entries: batch,
        state: { version: 1, identity, totals, updatedAt: new Date().toISOString() },
        // Keys older than the commit's end are forgotten, as in a sync's steady state.
        forgetKeysBefore: formatTimestampExact(last),
      });
      totals = { ...totals, entries: totals.entries + r.inserted };
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await store.close();
    const figures: AloneFigures = {
      entries: n,
      inserted: totals.entries,
      commitEntries: per,
      seconds,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
    };
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
