/**
 * Entries/s of syslog delivery to a real rsyslogd on loopback (issue 24's target: ≥ 20,000/s): the
 * emulator in a child process holding N generated entries (default 200,000), runSync into the syslog
 * store in this one (the whole path: walk, dedupe, RFC 5424 framing, TCP writes, state file), and
 * rsyslog writing every message to a file. Prints the run's entries/s to confirmed delivery and to
 * the last message written by rsyslog. Not a test: run it bundled (docs/destinations.md, "syslog");
 * BENCH_CONFIRM=write for the other confirmation mode, BENCH_COMMIT=N for N entries a commit,
 * BENCH_NULL=1 for a transport that drops every message (the walk's ceiling).
 *
 *     npx esbuild test/destinations/syslogBench.ts --bundle --platform=node --format=esm \
 *       --packages=external --tsconfig=tsconfig.json --outfile=dist/syslogBench.mjs
 *     node dist/syslogBench.mjs [ENTRIES]
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createDeliveryStore } from "../../packages/cli/src/sync/delivery/deliveryStore.js";
import { runSync } from "../../packages/cli/src/sync/sync.js";
import { createSyslogStore } from "../../packages/cli/src/sync/syslog/store.js";
import { parseSyslogUrl } from "../../packages/cli/src/sync/syslog/url.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { startEmulator } from "../../packages/emulator/src/index.js";
import { startRsyslog } from "../helpers/rsyslog.js";
import { waitFor } from "../helpers/waitFor.js";

const PAT = "syslog-bench-pat-0123456789abcdef";

if (process.argv[2] === "emulator") {
  const emu = await startEmulator({
    pats: { [PAT]: "bench" },
    restPort: false,
    generate: { count: Number(process.argv[3]), seed: 7 },
  });
  process.stdout.write(`${emu.grpcAddress}\n`);
} else {
  const n = Number(process.argv[2] ?? 200_000);
  const emulator = spawn(process.execPath, [process.argv[1] as string, "emulator", String(n)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const endpoint = await new Promise<string>((resolve) =>
    emulator.stdout.once("data", (d: Buffer) => resolve(d.toString().trim())),
  );
  const rs = await startRsyslog({ output: "tally" });
  const tmp = mkdtempSync(join(tmpdir(), "clarifai-audit-syslog-bench-"));
  const out = join(rs.dir, "out.jsonl");
  // One byte a message.
  const lines = () => (existsSync(out) ? statSync(out).size : 0);
  const client = new AuditLogClient({ pat: PAT, userId: "bench", endpoint, insecure: true });
  try {
    // BENCH_NULL=1: the same store with a transport that drops every message (the walk's ceiling).
    const store = process.env.BENCH_NULL
      ? createDeliveryStore({
          statePath: join(tmp, "state.json"),
          destination: "null",
          format: "json",
          transport: {
            description: "null",
            connect: async () => {},
            send: async () => {},
            close: async () => {},
          },
        })
      : await createSyslogStore(
          parseSyslogUrl(`syslog://127.0.0.1:${rs.port}?confirm=${process.env.BENCH_CONFIRM ?? "close"}`),
          {
            env: {},
            format: "json",
            statePath: join(tmp, "state.json"),
            ...(process.env.BENCH_COMMIT ? { commitEntries: Number(process.env.BENCH_COMMIT) } : {}),
          },
        );
    const t0 = performance.now();
    const summary = await runSync({ client, store, settleMs: 0, reconcileMs: 0, perPage: 1000 });
    const sent = (performance.now() - t0) / 1000;
    if (!process.env.BENCH_NULL)
      await waitFor(() => lines() >= n, {
        what: `${n} messages at rsyslog`,
        timeoutMs: 300_000,
        intervalMs: 50,
      });
    const written = (performance.now() - t0) / 1000;
    process.stdout.write(
      `${summary.inserted} entries: confirmed in ${sent.toFixed(2)} s (${Math.round(summary.inserted / sent)}/s), ` +
        `written by rsyslog in ${written.toFixed(2)} s (${Math.round(n / written)}/s)\n`,
    );
  } finally {
    client.close();
    emulator.kill();
    await rs.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}
