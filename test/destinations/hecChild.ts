/**
 * A sync to Splunk HEC as a program of its own (bundled by hecCrash.test.ts with esbuild, as the
 * CLI's bin is), so that crash points (CLARIFAI_AUDIT_CRASH_AT) and random SIGKILLs can stop it:
 * runSync into the HEC store, and once more when that run only finished a killed one's window (as
 * the next `sync` would), its inserted count printed as JSON.
 *
 * argv[2]: JSON {account, endpoint, userId, url, statePath, caPath, perPage, commitEntries, reconcileMs}.
 * The PAT and the HEC token come from the environment (CHILD_PAT, CLARIFAI_AUDIT_HEC_TOKEN), never argv.
 */
import { createHecStore } from "../../packages/cli/src/sync/hec/store.js";
import { parseHecUrl } from "../../packages/cli/src/sync/hec/url.js";
import { runSync } from "../../packages/cli/src/sync/sync.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";

/** What the test passes on argv. */
export interface HecChildConfig {
  /** The collector's account id (the events' `account` field). */
  account: string;
  endpoint: string;
  userId: string;
  url: string;
  statePath: string;
  caPath: string;
  perPage: number;
  commitEntries: number;
  reconcileMs: number;
}

const cfg = JSON.parse(process.argv[2] as string) as HecChildConfig;
const client = new AuditLogClient({
  pat: process.env.CHILD_PAT as string,
  userId: cfg.userId,
  endpoint: cfg.endpoint,
  insecure: true,
});
try {
  const store = await createHecStore(
    parseHecUrl(cfg.url),
    {
      env: process.env,
      format: "json",
      statePath: cfg.statePath,
      ca: cfg.caPath,
      hecToken: process.env.CLARIFAI_AUDIT_HEC_TOKEN,
      account: cfg.account,
    },
    { timing: { ackPollMs: 5, backoffMs: 20, maxBackoffMs: 200 } },
  );
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
  let summary = await round();
  let inserted = summary.inserted;
  if (summary.resumed) {
    summary = await round();
    inserted += summary.inserted;
  }
  process.stdout.write(JSON.stringify({ inserted }));
} catch (error) {
  process.stderr.write(`child: ${(error as Error).message}\n`);
  process.exitCode = (error as { exitCode?: number }).exitCode ?? 1;
} finally {
  client.close();
}
