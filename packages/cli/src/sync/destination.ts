/**
 * Every destination `sync --dest` and a collector's `to` can name, parsed by its scheme before
 * anything is opened: a folder (the Parquet lake), `postgres://…`, `s3://BUCKET/PREFIX` (the lake or
 * the stream layout on object storage), `syslog://` / `syslog+tls://` (RFC 5424 over TCP) and
 * `splunk+https://` (Splunk's HTTP Event Collector). Each kind's module parses its own URL and makes
 * its own store; this module only dispatches, so a store's dependencies load only when it is chosen.
 */

import type { DestinationOptions } from "./destinationOptions.js";
import type { HecTarget } from "./hec/url.js";
import type { S3Target } from "./s3/url.js";
import { type SyncStore, SyncUsageError } from "./store.js";
import type { SyslogTarget } from "./syslog/url.js";

export type { DestinationOptions, EntryFormat } from "./destinationOptions.js";

/** A destination, parsed. */
export type DestinationTarget =
  | { kind: "lake"; dir: string }
  | { kind: "postgres"; url: string }
  | { kind: "s3"; target: S3Target }
  | { kind: "syslog"; target: SyslogTarget }
  | { kind: "hec"; target: HecTarget };

/** The kinds that deliver at least once and keep their cursor in a local state file. */
export const STREAM_KINDS = new Set<DestinationTarget["kind"]>(["syslog", "hec"]);

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

/** Whether `d` keeps a Parquet lake (a folder, or the lake layout of an S3 prefix): the destinations that sign. */
export function isLakeDestination(d: DestinationTarget): boolean {
  return d.kind === "lake" || (d.kind === "s3" && d.target.layout === "lake");
}

/** Makes the store of `d`; `sign` is refused for a destination that is not a lake. */
export async function createDestinationStore(
  d: DestinationTarget,
  o: DestinationOptions,
): Promise<SyncStore> {
  if (o.sign !== undefined && !isLakeDestination(d))
    throw new SyncUsageError({
      input: "sign",
      problem: `signed commits are for a lake (a folder, or s3://… with the lake layout), not ${describeDestination(d)}`,
    });
  switch (d.kind) {
    case "lake": {
      const { createLakeStore } = await import("./lake/store.js");
      return createLakeStore({
        dir: d.dir,
        ...(o.memory !== undefined ? { memory: o.memory } : {}),
        ...(o.sign !== undefined ? { sign: o.sign } : {}),
      });
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
