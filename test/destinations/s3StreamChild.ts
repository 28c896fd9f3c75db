/**
 * One `sync` run into an S3 stream-layout destination as a program of its own (bundled by
 * s3StreamCrash.test.ts with esbuild, as the CLI's bin is), so that the crash points
 * (CLARIFAI_AUDIT_CRASH_AT) and SIGKILLs can stop it: `runSync` through the destination dispatch
 * (parseDestination, createDestinationStore), its summary printed as one JSON line.
 *
 * argv: ENDPOINT PAT USER_ID DEST PER_PAGE RECONCILE_MS COMMIT_ENTRIES. The AWS variables of the
 * test server come in the environment.
 */
import {
  createDestinationStore,
  type DestinationOptions,
  parseDestination,
} from "../../packages/cli/src/sync/destination.js";
import { SyncUsageError } from "../../packages/cli/src/sync/store.js";
import { runSync } from "../../packages/cli/src/sync/sync.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";

const [endpoint, pat, userId, dest, perPage, reconcile, commitEntries] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
  string,
];
/** s3rver has no conditional writes: the lock is read back after this, short here (one writer). */
const LOCK = { staleMs: 60_000, settleMs: 20 };
const client = new AuditLogClient({ pat, userId, endpoint, insecure: true });
try {
  const options = { env: process.env, format: "json", lock: LOCK } as DestinationOptions;
  const store = await createDestinationStore(await parseDestination(dest), options);
  const summary = await runSync({
    client,
    store,
    settleMs: 0,
    reconcileMs: Number(reconcile),
    perPage: Number(perPage),
    commitEntries: Number(commitEntries),
    commitIntervalMs: 0,
    concurrency: 2,
  });
  process.stdout.write(
    `${JSON.stringify({ inserted: summary.inserted, resumed: summary.resumed, walked: summary.walked, window: summary.window })}\n`,
  );
} catch (error) {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exitCode = error instanceof SyncUsageError ? 2 : 1;
} finally {
  client.close();
}
