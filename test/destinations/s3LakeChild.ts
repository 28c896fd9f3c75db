/**
 * One `sync` run into an S3 lake as a program of its own (bundled by s3LakeCrash.test.ts with
 * esbuild, as the CLI's bin is), so that crash points (CLARIFAI_AUDIT_CRASH_AT) and SIGKILLs can stop
 * it: runSync into createS3Store (layout lake), the S3 credentials and endpoint from its environment.
 * A run that finished a killed one's window is followed by a fresh one, as the next `sync` would.
 *
 * argv: one JSON object (ChildConfig of s3LakeCrash.test.ts).
 */
import { createS3Store } from "../../packages/cli/src/sync/s3/store.js";
import { parseS3Url } from "../../packages/cli/src/sync/s3/url.js";
import { runSync } from "../../packages/cli/src/sync/sync.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";

const cfg = JSON.parse(process.argv[2] as string) as {
  endpoint: string;
  pat: string;
  userId: string;
  url: string;
  perPage: number;
  commitEntries: number;
  settleMs: number;
};
const client = new AuditLogClient({
  pat: cfg.pat,
  userId: cfg.userId,
  endpoint: cfg.endpoint,
  insecure: true,
});
try {
  const round = async () =>
    runSync({
      client,
      store: await createS3Store(parseS3Url(cfg.url), {
        env: process.env,
        format: "json",
        lock: { staleMs: 60_000, settleMs: cfg.settleMs },
      }),
      settleMs: 0,
      reconcileMs: 3_650 * 86_400_000,
      perPage: cfg.perPage,
      commitEntries: cfg.commitEntries,
      commitIntervalMs: 0,
      concurrency: 2,
    });
  let summary = await round();
  if (summary.resumed) summary = await round();
  process.stdout.write(`${JSON.stringify({ inserted: summary.inserted })}\n`);
} catch (error) {
  process.stderr.write(`child: ${(error as Error).message}\n`);
  process.exitCode = 1;
} finally {
  client.close();
}
