/**
 * Child process of alertStore.test.ts (bundled with esbuild there): one runSync into the alert
 * store, as the collector runs a round, so that the test can kill it (crash points, random
 * instants). Prints the run's figures as JSON on success.
 */
import { createAlertStore } from "../../packages/cli/src/collector/alertStore.js";
import { runSync } from "../../packages/cli/src/sync/sync.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { alertsPlan, type ChildConfig } from "./alertFixtures.js";

const cfg = JSON.parse(process.argv[2] as string) as ChildConfig;
const client = new AuditLogClient({
  pat: cfg.pat,
  userId: cfg.userId,
  endpoint: cfg.endpoint,
  insecure: true,
});
const store = createAlertStore({
  path: cfg.path,
  account: "prod",
  destination: alertsPlan({ webhooks: cfg.webhooks, stateDir: cfg.stateDir }),
  env: process.env,
  warn: (line) => process.stderr.write(`${line}\n`),
});
try {
  const round = () =>
    runSync({
      client,
      store,
      settleMs: 0,
      reconcileMs: cfg.reconcileMs,
      perPage: cfg.perPage,
      commitEntries: cfg.commitEntries,
      commitIntervalMs: 0,
      concurrency: 2,
    });
  // As the collector's next round would: a run that finished a killed one's window is followed by a
  // fresh one, which walks what the log gained since.
  let summary = await round();
  if (summary.resumed) summary = await round();
  process.stdout.write(
    JSON.stringify({ inserted: summary.inserted, alerts: store.alerts, deadLettered: store.deadLettered }),
  );
} catch (error) {
  process.stderr.write(`child: ${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  client.close();
}
