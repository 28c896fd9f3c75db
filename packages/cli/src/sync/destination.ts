/**
 * Every destination `sync --dest` and a collector's `to` can name, parsed by its scheme before
 * anything is opened: a folder (the Parquet lake), `postgres://…`, `s3://BUCKET/PREFIX` (the lake or
 * the stream layout on object storage), `syslog://` / `syslog+tls://` (RFC 5424 over TCP) and
 * `splunk+https://` (Splunk's HTTP Event Collector). Each kind's module parses its own URL and makes
 * its own store; this module only dispatches, so a store's dependencies load only when it is chosen.
 */

import type { HecTarget } from "./hec/url.js";
import type { LakeMemory } from "./lake/writerPool.js";
import type { S3Target } from "./s3/url.js";
import type { SyncStore } from "./store.js";
import type { SyslogTarget } from "./syslog/url.js";

/** What each entry becomes at a destination that carries messages or events: its JSON, or an OCSF event. */
export type EntryFormat = "json" | "ocsf";

/** A destination, parsed. */
export type DestinationTarget =
  | { kind: "lake"; dir: string }
  | { kind: "postgres"; url: string }
  | { kind: "s3"; target: S3Target }
  | { kind: "syslog"; target: SyslogTarget }
  | { kind: "hec"; target: HecTarget };

/** The kinds that deliver at least once and keep their cursor in a local state file. */
export const STREAM_KINDS = new Set<DestinationTarget["kind"]>(["syslog", "hec"]);

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
  /** PostgreSQL only: the table. */
  table?: string;
  /** Ends a delivery in flight (SIGINT/SIGTERM): the commit rejects and nothing is marked delivered. */
  signal?: AbortSignal;
}

/** The URL schemes of destinations other than a folder. */
const SCHEMES = /^(s3|syslog|syslog\+tls|splunk\+https|splunk\+http|postgres|postgresql):/i;

/** Parses a destination; throws SyncUsageError (one line, no secret) for a bad one. */
export async function parseDestination(text: string): Promise<DestinationTarget> {
  const scheme = SCHEMES.exec(text)?.[1]?.toLowerCase();
  switch (scheme) {
    case undefined:
      return { kind: "lake", dir: text };
    case "postgres":
    case "postgresql":
      return { kind: "postgres", url: text };
    case "s3": {
      const { parseS3Url } = await import("./s3/url.js");
      return { kind: "s3", target: parseS3Url(text) };
    }
    case "syslog":
    case "syslog+tls": {
      const { parseSyslogUrl } = await import("./syslog/url.js");
      return { kind: "syslog", target: parseSyslogUrl(text) };
    }
    default: {
      const { parseHecUrl } = await import("./hec/url.js");
      return { kind: "hec", target: parseHecUrl(text) };
    }
  }
}

/** The destination for messages: a folder, or the URL without its password or token. */
export function describeDestination(d: DestinationTarget): string {
  switch (d.kind) {
    case "lake":
      return d.dir;
    case "postgres":
      return d.url.replace(/\/\/([^@/]*)@/, (_m, info: string) => `//${info.split(":")[0]}@`);
    default:
      return d.target.description;
  }
}

/** Makes the store of `d`. */
export async function createDestinationStore(
  d: DestinationTarget,
  o: DestinationOptions,
): Promise<SyncStore> {
  switch (d.kind) {
    case "lake": {
      const { createLakeStore } = await import("./lake/store.js");
      return createLakeStore({ dir: d.dir, ...(o.memory !== undefined ? { memory: o.memory } : {}) });
    }
    case "postgres": {
      const { createPostgresStore } = await import("./postgres/store.js");
      return createPostgresStore({
        url: d.url,
        ...(o.table !== undefined ? { table: o.table } : {}),
        env: o.env,
        ...(o.account !== undefined ? { account: o.account } : {}),
      });
    }
    case "s3": {
      const { createS3Store } = await import("./s3/store.js");
      return createS3Store(d.target, o);
    }
    case "syslog": {
      const { createSyslogStore } = await import("./syslog/store.js");
      return createSyslogStore(d.target, o);
    }
    case "hec": {
      const { createHecStore } = await import("./hec/store.js");
      return createHecStore(d.target, o);
    }
  }
}
