/**
 * The one place resolved connection values become the client's options: the CLI's merge
 * (packages/cli/src/cli/options/resolve.ts, through queryOptions.ts's clientFromFlags) and the
 * collector's accounts (packages/cli/src/cli/collectorConfig/, each account a profile on its own) both
 * come here, so a client is made the same way whoever resolved the values. The client is given an
 * environment without the CLARIFAI_* connection variables, so that it decides nothing of its own.
 */
import type { AuditLogClientOptions } from "@clarifai-audit/client/internal/client/config.js";
import type { CliEnv } from "../cliIo.js";
import type { ProfileConfig } from "./configSchema.js";
import { clientEnv } from "./resolve.js";

/** Connection values, resolved; undefined: the client's default. */
export interface ConnectionValues {
  pat?: string;
  userId?: string;
  endpoint?: string;
  insecure?: boolean;
  /** Requests per second, or false for no budget (`off`). */
  rateLimit?: number | false;
  timeoutMs?: number;
  maxAttempts?: number;
}

/** The client's options for `values`, in the run's environment `env`, with the run's request hook. */
export function connectionClientOptions(
  values: ConnectionValues,
  env: CliEnv,
  onRequest?: AuditLogClientOptions["onRequest"],
): AuditLogClientOptions {
  return {
    env: clientEnv(env),
    ...(onRequest !== undefined ? { onRequest } : {}),
    ...(values.pat !== undefined ? { pat: values.pat } : {}),
    ...(values.userId !== undefined ? { userId: values.userId } : {}),
    ...(values.endpoint !== undefined ? { endpoint: values.endpoint } : {}),
    ...(values.insecure ? { insecure: true } : {}),
    ...(values.rateLimit !== undefined ? { rateLimit: values.rateLimit } : {}),
    ...(values.timeoutMs !== undefined ? { timeoutMs: values.timeoutMs } : {}),
    ...(values.maxAttempts !== undefined ? { retry: { maxAttempts: values.maxAttempts } } : {}),
  };
}

/**
 * A profile's own values, nothing from flags or the environment (the PAT is read apart): what an
 * account of the collector's config connects with, so that CLARIFAI_PAT or CLARIFAI_USER_ID never
 * mixes one account into another.
 */
export function profileValues(profile: ProfileConfig): Omit<ConnectionValues, "pat"> {
  return {
    ...(profile.user_id !== undefined ? { userId: profile.user_id } : {}),
    ...(profile.endpoint !== undefined ? { endpoint: profile.endpoint } : {}),
    ...(profile.insecure !== undefined ? { insecure: profile.insecure } : {}),
    ...(profile.rate_limit !== undefined
      ? { rateLimit: profile.rate_limit === "off" ? false : profile.rate_limit }
      : {}),
  };
}
