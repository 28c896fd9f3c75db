/**
 * The request part of the CLI's summary lines: requests sent, served and throttled, and their
 * average rate, from `AuditLogClient.stats()`.
 */
import type { RequestStats } from "@clarifai-audit/client/internal/client/rateBudget.js";

/** E.g. `requests 65 (served 65, throttled 0), 14.6 requests/s over 4.45 s, limit 15/s`. */
export function requestSummary(s: RequestStats): string {
  const limit =
    s.limit === undefined
      ? "no limit known"
      : `limit ${trim(s.limit)}/s${s.learnedLimit !== undefined ? " (named by the server)" : ""}`;
  return `requests ${s.requests} (served ${s.served}, throttled ${s.throttled}), ${s.averageRate.toFixed(1)} requests/s over ${s.seconds.toFixed(2)} s (${(s.idleMs / 1000).toFixed(2)} s with none waiting), ${limit}`;
}

function trim(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/\.?0+$/, "");
}

/** The request figures of a summary, for `--json` (packages/cli/src/cli/runner.ts). */
export function requestFigures(s: RequestStats): { requests: number; served: number; throttled: number } {
  return { requests: s.requests, served: s.served, throttled: s.throttled };
}
