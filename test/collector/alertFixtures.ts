/**
 * Shared by the alert store's tests and their child process (alertStoreChild.ts): the rules, the
 * destination plan and the run options, so that a killed child and the test mean the same store.
 */
import type { AlertsDestinationPlan } from "../../packages/cli/src/collector/plan.js";
import { parseRules } from "../../packages/cli/src/watch/rules.js";

/**
 * Every entry fires exactly one of the plain rules (success or failure); the threshold rule fires
 * for every third entry of one user within an hour, so its alerts depend on the rules' saved state.
 */
export const RULES_YAML = `rules:
  - id: op-ok
    title: An operation succeeded
    severity: info
    match: { success: true }
  - id: op-failed
    title: An operation failed
    severity: low
    match: { success: false }
  - id: three-by-user
    title: Three operations by one user within an hour
    severity: medium
    match: { success: true }
    threshold: { count: 3, within: 1h, by: user_id }
`;

/** The alert destination of the tests. */
export function alertsPlan(o: {
  webhooks: string[];
  stateDir: string;
  attempts?: number;
  backoffMs?: number;
  timeoutMs?: number;
  secret?: string;
}): AlertsDestinationPlan {
  return {
    kind: "alerts",
    id: "alerts",
    accounts: ["prod"],
    where: "collector.yaml:7: destinations[1] (alerts)",
    description: "alerts",
    rules: parseRules("rules.yaml", RULES_YAML),
    ruleSources: ["rules.yaml"],
    webhooks: o.webhooks,
    slack: [],
    exec: [],
    ...(o.secret !== undefined ? { secret: o.secret } : {}),
    timeoutMs: o.timeoutMs ?? 5000,
    attempts: o.attempts ?? 3,
    backoffMs: o.backoffMs ?? 10,
    stateDir: o.stateDir,
  };
}

/** What the child is told (argv[2], JSON). */
export interface ChildConfig {
  endpoint: string;
  pat: string;
  userId: string;
  path: string;
  webhooks: string[];
  stateDir: string;
  reconcileMs: number;
  perPage: number;
  commitEntries: number;
}
