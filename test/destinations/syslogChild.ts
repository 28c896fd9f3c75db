/**
 * Child process of the syslog crash tests (bundled with esbuild there, as the CLI's bin is): one
 * runSync into a syslog store, as `sync --dest syslog://… --state F` runs, so that the test can kill
 * it (crash points, random instants). Its one argument is a JSON {@link SyslogChildConfig}.
 */

import { runSync } from "../../packages/cli/src/sync/sync.js";
import { createSyslogStore } from "../../packages/cli/src/sync/syslog/store.js";
import { parseSyslogUrl } from "../../packages/cli/src/sync/syslog/url.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";

/** What the child is told. */
export interface SyslogChildConfig {
  endpoint: string;
  userId: string;
  /** The environment variable that holds the PAT (never argv). */
  patEnv: string;
  url: string;
  statePath: string;
  account: string;
  commitEntries: number;
  perPage: number;
  reconcileMs: number;
}

const cfg = JSON.parse(process.argv[2] as string) as SyslogChildConfig;
const client = new AuditLogClient({
  pat: process.env[cfg.patEnv] as string,
  userId: cfg.userId,
  endpoint: cfg.endpoint,
  insecure: true,
});
try {
  const store = await createSyslogStore(parseSyslogUrl(cfg.url), {
    env: process.env,
    format: "json",
    statePath: cfg.statePath,
    account: cfg.account,
    commitEntries: cfg.commitEntries,
  });
  const round = () =>
    runSync({
      client,
      store,
      settleMs: 0,
      reconcileMs: cfg.reconcileMs,
      perPage: cfg.perPage,
      commitIntervalMs: 0,
      concurrency: 2,
    });
  // A run that finished a killed one's window is followed by a fresh one, as the next sync would.
  let summary = await round();
  if (summary.resumed) summary = await round();
  process.stderr.write(`child: done ${JSON.stringify({ inserted: summary.inserted })}\n`);
} catch (error) {
  process.stderr.write(`child: ${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  client.close();
}
