/**
 * What `run --config FILE` runs, once the file is read and checked (packages/cli/src/cli/collectorConfig/):
 * the accounts to walk, the destinations each feeds, and the service's settings. Everything here is
 * resolved and valid; nothing has been opened and no PAT has been read.
 */

import type { AuditLogClient } from "@clarifai-audit/client/internal/client/client.js";
import type { AuditLogClientOptions } from "@clarifai-audit/client/internal/client/config.js";
import type { AuditLogSearchQuery } from "@clarifai-audit/client/internal/client/query.js";
import type { SignOptions } from "@clarifai-audit/client/internal/digest/chain.js";
import type { Ts } from "@clarifai-audit/client/internal/domain/timestamps.js";
import type { DestinationTarget, EntryFormat } from "../sync/destination.js";
import type { S3Target } from "../sync/s3/url.js";
import type { CompiledRule } from "../watch/rules.js";

/** One account: a log walked once, whatever the number of destinations it feeds. */
export interface AccountPlan {
  /** Names the account in metrics, logs, partitions and rows (`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`). */
  id: string;
  /** Whose log (`user_id`). */
  userId: string;
  /** `host[:port]` as the client takes it (the default endpoint when the file names none). */
  endpoint: string;
  /** Where the PAT comes from, for messages (`pat_env CLARIFAI_PAT_PROD`); never the PAT. */
  patFrom: string;
  /** The account's filters (part of every destination's identity). */
  query: AuditLogSearchQuery;
  /** Oldest entry walked on a destination's first run (absent: the oldest the server holds). */
  origin?: Ts;
  /** `file:line: accounts[i] (id)`, for messages. */
  where: string;
  /**
   * Reads the PAT (pat_env, pat_file, pat_command or pat) and makes the account's client, with its
   * rate limit, endpoint and TLS settings. Called when the account starts (and again after a reload).
   */
  connect(hooks: {
    signal?: AbortSignal;
    onRequest?: AuditLogClientOptions["onRequest"];
  }): Promise<AuditLogClient>;
}

interface DestinationBase {
  /** Names the destination in metrics, logs and state. */
  id: string;
  /** The ids of the accounts it holds (the file's `accounts`, default: all). */
  accounts: string[];
  /** `file:line: destinations[i] (id)`, for messages. */
  where: string;
  /** For messages and metrics: the folder, or the URL without its password. */
  description: string;
}

/** A Parquet lake: one complete lake per account, `DIR/account=<id>/` (partitions: account, then date). */
export interface LakeDestinationPlan extends DestinationBase {
  kind: "lake";
  /** Absolute. */
  dir: string;
  /** `sign` (and `tsa`): every account's lake signed, each its own chain. */
  sign?: SignOptions;
}

/** A PostgreSQL table: every account in one table, with an `account` column. */
export interface PostgresDestinationPlan extends DestinationBase {
  kind: "postgres";
  url: string;
  table?: string;
}

/** Detection rules and where their alerts go (as `watch` has them), exactly once per destination. */
export interface AlertsDestinationPlan extends DestinationBase {
  kind: "alerts";
  rules: CompiledRule[];
  /** The rules' sources as the file names them (`builtin`, paths), for messages. */
  ruleSources: string[];
  webhooks: string[];
  slack: string[];
  exec: string[];
  /** HMAC secret of the bodies (`alert_secret_env`'s value), if any. */
  secret?: string;
  timeoutMs: number;
  attempts: number;
  backoffMs: number;
  /** Folder of this destination's checkpoints (one file per account), absolute. */
  stateDir: string;
}

/**
 * S3-compatible object storage: a complete lake (or stream layout) per account under
 * `PREFIX/account=<id>/`, each with its own state object, exactly once.
 */
export interface S3DestinationPlan extends DestinationBase {
  kind: "s3";
  /** The destination's own prefix; each account's is {@link accountS3Target}'s. */
  target: S3Target;
  format: EntryFormat;
  /** `sign` (and `tsa`), the lake layout only: every account's lake signed, each its own chain. */
  sign?: SignOptions;
}

/**
 * syslog or Splunk HEC: every account's entries delivered at least once, each account's progress in
 * its own state file, `STATE_DIR/streams/<destination-id>/<account-id>.json`.
 */
export interface StreamDestinationPlan extends DestinationBase {
  kind: "stream";
  target: Extract<DestinationTarget, { kind: "syslog" | "hec" }>;
  format: EntryFormat;
  /** A PEM file of the CA(s) to trust (absolute). */
  ca?: string;
  /** The HEC token (`hec_token_env`'s or `hec_token_file`'s), read when the file was loaded. */
  hecToken?: string;
  /** Where the token came from (`hec_token_env NAME`, `hec_token_file PATH`), named when the collector refuses it. */
  hecTokenSource?: string;
  /** Folder of this destination's state files (one per account), absolute. */
  stateDir: string;
}

/** One destination of the file. */
export type DestinationPlan =
  | LakeDestinationPlan
  | PostgresDestinationPlan
  | AlertsDestinationPlan
  | S3DestinationPlan
  | StreamDestinationPlan;

/**
 * The place of `account`'s lake or stream inside an S3 destination: `PREFIX/account=<id>/`; the
 * destination's own prefix for the Security Lake layout.
 */
export function accountS3Target(target: S3Target, account: string): S3Target {
  // Security Lake reads only its own partitions under PREFIX/ext/: the accounts share the prefix,
  // each with its own objects (the account is in their names), state, intent and lock.
  if (target.layout === "security-lake") return target;
  const prefix = target.prefix === "" ? `account=${account}` : `${target.prefix}/account=${account}`;
  return {
    ...target,
    prefix,
    description: `${target.description.replace(/\?.*$/, "").replace(/\/+$/, "")}/account=${account}`,
  };
}

/** Instances that share this split the accounts through leases in PostgreSQL. */
export interface CoordinationPlan {
  url: string;
  /** The URL without its password. */
  description: string;
  /** Instances of one group share the accounts (default: derived from the file's accounts). */
  group: string;
  /** A lease not renewed for this long may be taken by another instance. */
  leaseMs: number;
  /** How often leases are renewed and free ones looked for. */
  pollMs: number;
}

/** The whole file, resolved. */
export interface CollectorPlan {
  /** Absolute path of the config file. */
  file: string;
  accounts: AccountPlan[];
  destinations: DestinationPlan[];
  /** Address of /metrics, /healthz and /readyz (absent: no listener). */
  listen?: { host: string; port: number };
  coordination?: CoordinationPlan;
  /** Pause between rounds of an account (`interval`, as sync --follow's). */
  intervalMs: number;
  settleMs: number;
  reconcileMs: number;
  concurrency: number;
  perPage: number;
  commitIntervalMs: number;
  /** /readyz fails while a destination has been failing for longer than this. */
  unhealthyAfterMs: number;
}
