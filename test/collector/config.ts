/**
 * A collector config file (the YAML of `run --config`, COMMON decisions / docs/collector.md) from a
 * small typed spec: snake_case keys, each account's PAT named by `pat_env` only (never written), the
 * emulator's endpoint with `insecure: true`, and settings that keep tests fast. Shared by the test
 * harness (./harness.ts) and the bench (bench/collectorBench.ts); imports nothing of the packages.
 */
import { stringify } from "yaml";

/** An account as the config names it. */
export interface ConfigAccount {
  id: string;
  userId: string;
  /** The variable that holds its PAT. */
  patEnv: string;
}

/** A destination of {@link CollectorSpec}: a lake folder, a PostgreSQL URL, a URL destination, or alerts. */
export type DestinationSpec = { id: string; accounts?: string[] } & (
  | { lake: string }
  | { postgres: string; table?: string }
  | {
      /** `s3://…`, `syslog://…`, `syslog+tls://…`, `splunk+https://…` (docs/destinations.md). */
      to: string;
      format?: "json" | "ocsf";
      /** A PEM file of the CA(s) to trust. */
      ca?: string;
      /** The variable holding the HEC token. */
      hecTokenEnv?: string;
    }
  | {
      /** Rules (`builtin`, paths) and webhook URLs (e.g. an AlertReceiver's `url(destination)`). */
      alerts: {
        rules: string[];
        webhooks: string[];
        secretEnv?: string;
        attempts?: number;
        backoff?: string;
      };
    }
);

/** What {@link collectorConfigText} writes; relative paths are the config folder's. */
export interface CollectorSpec {
  /** Accounts to include (default: all given), with per-account extra keys (`from`, `operations`…). */
  accounts?: Array<string | { id: string; [key: string]: unknown }>;
  destinations: DestinationSpec[];
  /** Default `127.0.0.1:0`; `false`: no listener. */
  listen?: string | false;
  /** Default `state` (in the config's folder). */
  stateDir?: string;
  /** Top-level settings (snake_case), merged over {@link TEST_SETTINGS}. */
  settings?: Record<string, unknown>;
  coordination?: { url: string; group?: string; lease?: string; poll?: string };
}

/** Top-level settings a test wants unless it says otherwise: fast rounds, nothing left unsettled. */
export const TEST_SETTINGS: Readonly<Record<string, unknown>> = {
  interval: "50ms",
  settle: "0s",
  reconcile: "3650d",
};

/** The YAML text of `spec` for `accounts` served at `endpoint` (plaintext loopback gRPC). */
export function collectorConfigText(
  accounts: readonly ConfigAccount[],
  endpoint: string,
  spec: CollectorSpec,
): string {
  const byId = new Map(accounts.map((a) => [a.id, a]));
  const chosen = spec.accounts ?? accounts.map((a) => a.id);
  const config: Record<string, unknown> = {
    accounts: chosen.map((c) => {
      const { id, ...extra } = typeof c === "string" ? { id: c } : c;
      const a = byId.get(id);
      if (a === undefined) throw new Error(`collector spec: no account ${id}`);
      return { id, user_id: a.userId, pat_env: a.patEnv, endpoint, insecure: true, ...extra };
    }),
    destinations: spec.destinations.map((d) => {
      const base = { id: d.id, ...(d.accounts ? { accounts: d.accounts } : {}) };
      if ("lake" in d) return { ...base, to: d.lake };
      if ("postgres" in d) return { ...base, to: d.postgres, ...(d.table ? { table: d.table } : {}) };
      if ("to" in d)
        return {
          ...base,
          to: d.to,
          ...(d.format ? { format: d.format } : {}),
          ...(d.ca ? { ca: d.ca } : {}),
          ...(d.hecTokenEnv ? { hec_token_env: d.hecTokenEnv } : {}),
        };
      const a = d.alerts;
      return {
        ...base,
        rules: a.rules,
        alert_webhook: a.webhooks,
        ...(a.secretEnv ? { alert_secret_env: a.secretEnv } : {}),
        ...(a.attempts ? { alert_attempts: a.attempts } : {}),
        ...(a.backoff ? { alert_backoff: a.backoff } : {}),
      };
    }),
    ...(spec.listen === false ? {} : { listen: spec.listen ?? "127.0.0.1:0" }),
    state_dir: spec.stateDir ?? "state",
    ...TEST_SETTINGS,
    ...spec.settings,
    ...(spec.coordination ? { coordination: spec.coordination } : {}),
  };
  return stringify(config);
}
