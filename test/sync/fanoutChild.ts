/**
 * A round of the fan-out as a program of its own (bundled by fanoutCrash.test.ts with esbuild, as the
 * CLI's bin is), so that the crash points (CLARIFAI_AUDIT_CRASH_AT) can kill it: one round of
 * `runFanout` into the lakes named on the command line, its result printed as one JSON line.
 *
 * argv: ENDPOINT PAT USER_ID PER_PAGE NOW_MS RECONCILE_MS DIR... ("now" is fixed: windows are exact).
 */

import { runFanout } from "../../packages/cli/src/sync/fanout.js";
import { createLakeStore } from "../../packages/cli/src/sync/lake/store.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";

const [endpoint, pat, userId, perPage, now, reconcile, ...dirs] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
  ...string[],
];
const client = new AuditLogClient({ pat, userId, endpoint, insecure: true });
try {
  const result = await runFanout({
    client,
    members: dirs.map((dir, i) => ({ id: `m${i}`, store: createLakeStore({ dir }) })),
    settleMs: 0,
    reconcileMs: Number(reconcile),
    perPage: Number(perPage),
    now: () => Number(now),
    concurrency: 2,
    commitIntervalMs: 0,
  });
  const members: Record<string, { error?: string; inserted?: number; resumed?: boolean }> = {};
  for (const [id, m] of result.members)
    members[id] =
      m.error !== undefined
        ? { error: String((m.error as Error).message ?? m.error) }
        : { inserted: m.summary?.inserted ?? 0, resumed: m.summary?.resumed ?? false };
  process.stdout.write(`${JSON.stringify({ members, requests: result.requests })}\n`);
} finally {
  client.close();
}
