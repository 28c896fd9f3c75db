/**
 * What every destination's store is made with (packages/cli/src/sync/destination.ts dispatches; each
 * kind's store reads these): a module of its own, so that the stores, which the dispatch imports,
 * do not import the dispatch back.
 */
import type { SignOptions } from "@clarifai-audit/client/internal/digest/chain.js";
import type { LakeMemory } from "./lake/writerPool.js";

/** What each entry becomes at a destination that carries messages or events: its JSON, or an OCSF event. */
export type EntryFormat = "json" | "ocsf";

/** What making a store needs besides its target. */
export interface DestinationOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** The entries' format at the destination (lake, postgres: json only). */
  format: EntryFormat;
  /** The collector's account whose entries the store holds; absent for `sync`. */
  account?: string;
  /** syslog, hec: the local state file (cursor, keys of the reconcile window). */
  statePath?: string;
  /** syslog+tls, splunk+https: a PEM file of the CA(s) to trust instead of Node's. */
  ca?: string;
  /** hec: the HEC token (never printed). */
  hecToken?: string;
  /** hec: where the token came from, named when the collector refuses it (default: CLARIFAI_AUDIT_HEC_TOKEN). */
  hecTokenSource?: string;
  /** lake, s3 lake: DuckDB's memory mode. */
  memory?: LakeMemory;
  /**
   * lake, s3 lake: sign every commit (a digest per commit, chained: docs/verifiable-logs.md). Other
   * destinations refuse it.
   */
  sign?: SignOptions;
  /** PostgreSQL only: the table. */
  table?: string;
  /** Ends a delivery in flight (SIGINT/SIGTERM): the commit rejects and nothing is marked delivered. */
  signal?: AbortSignal;
}
