/**
 * The destinations of the collector's config that are URLs other than postgres://: `s3://` (a lake
 * or a stream layout per account), `syslog://` / `syslog+tls://` and `splunk+https://` (delivered at
 * least once, each account's progress in a state file under `state_dir`). Their keys `format`, `ca`,
 * `hec_token_env` and `hec_token_file` are checked here; a folder and postgres:// take none of them.
 */
import { accessSync, constants, statSync } from "node:fs";
import { join } from "node:path";
import type { S3DestinationPlan, StreamDestinationPlan } from "../../collector/plan.js";
import { type DestinationTarget, type EntryFormat, parseDestination } from "../../sync/destination.js";
import { SyncUsageError } from "../../sync/store.js";
import type { CliEnv } from "../cliIo.js";
import { envValue } from "../options/configFile.js";
import { checkedHecToken, readHecTokenFile } from "../options/hecToken.js";
import { configRelative } from "./settings.js";
import type { ConfigSite, KeyPath } from "./where.js";

/** The keys only URL destinations take, as the file holds them. */
export interface RemoteKeys {
  format?: EntryFormat;
  ca?: string;
  hec_token_env?: string;
  hec_token_file?: string;
}

/** The keys of {@link RemoteKeys}, for the check that a folder or postgres:// names none. */
export const REMOTE_KEYS = ["format", "ca", "hec_token_env", "hec_token_file"] as const;

/** Whether `to` names one of this module's destinations (by its scheme). */
export function isRemoteUrl(to: string): boolean {
  return /^(s3|syslog|syslog\+tls|splunk\+https?):/i.test(to);
}

/** A URL destination, checked: its plan (without the base fields) and the target it holds, for the overlap check. */
export async function resolveRemoteDestination(
  site: ConfigSite,
  keys: KeyPath,
  d: RemoteKeys & { id: string; to: string; table?: string },
  o: { env: CliEnv; dir: string; stateDir: string },
): Promise<{
  plan:
    | Omit<S3DestinationPlan, "id" | "accounts" | "where">
    | Omit<StreamDestinationPlan, "id" | "accounts" | "where">;
  target: string;
}> {
  let parsed: DestinationTarget;
  try {
    parsed = await parseDestination(d.to);
  } catch (error) {
    if (error instanceof SyncUsageError) throw site.fail([...keys, "to"], error.problem);
    throw error;
  }
  if (d.table !== undefined) throw site.fail([...keys, "table"], "PostgreSQL only");
  const format = d.format ?? "json";
  if (parsed.kind === "s3") {
    for (const key of ["ca", "hec_token_env", "hec_token_file"] as const)
      if (d[key] !== undefined)
        throw site.fail(
          [...keys, key],
          `not for an s3:// destination (its credentials come from the AWS chain)`,
        );
    if (format === "ocsf" && parsed.target.layout === "lake")
      throw site.fail(
        [...keys, "format"],
        "ocsf is for the stream layout (`layout=stream` in the URL's query); a lake holds the entries' own columns",
      );
    if (d.format === "json" && parsed.target.layout === "security-lake")
      throw site.fail(
        [...keys, "format"],
        "json is not for the security-lake layout, which holds OCSF events only (leave format out)",
      );
    const t = parsed.target;
    return {
      plan: {
        kind: "s3",
        target: t,
        format: t.layout === "security-lake" ? "ocsf" : format,
        description: t.description,
      },
      target: `s3 ${t.bucket}/${t.prefix}`,
    };
  }
  if (parsed.kind !== "syslog" && parsed.kind !== "hec")
    throw site.fail([...keys, "to"], "not a URL destination");
  const tls = parsed.kind === "hec" || parsed.target.tls;
  let ca: string | undefined;
  if (d.ca !== undefined) {
    if (!tls) throw site.fail([...keys, "ca"], "only for a TLS destination (syslog+tls://, splunk+https://)");
    ca = configRelative(d.ca, o.dir, o.env);
    const problem = readableFileProblem(ca);
    if (problem !== undefined) throw site.fail([...keys, "ca"], `${ca} ${problem}`);
  }
  let hecToken: string | undefined;
  if (parsed.kind === "hec") hecToken = await hecTokenOf(site, keys, d, o);
  else
    for (const key of ["hec_token_env", "hec_token_file"] as const)
      if (d[key] !== undefined) throw site.fail([...keys, key], "only for a Splunk HEC destination");
  const target = parsed.target;
  return {
    plan: {
      kind: "stream",
      target: parsed,
      format,
      ...(ca !== undefined ? { ca } : {}),
      ...(hecToken !== undefined ? { hecToken, hecTokenSource: hecTokenSource(d, o) } : {}),
      stateDir: join(o.stateDir, "streams", d.id),
      description: target.description,
    },
    target: `${parsed.kind} ${target.host}:${target.port}`,
  };
}

async function hecTokenOf(
  site: ConfigSite,
  keys: KeyPath,
  d: RemoteKeys,
  o: { env: CliEnv; dir: string },
): Promise<string> {
  if (d.hec_token_env !== undefined && d.hec_token_file !== undefined)
    throw site.fail([...keys, "hec_token_file"], "give one of hec_token_env and hec_token_file");
  if (d.hec_token_env !== undefined) {
    const value = envValue(o.env, d.hec_token_env);
    if (value === undefined)
      throw site.fail([...keys, "hec_token_env"], `the variable ${d.hec_token_env} is not set (or is blank)`);
    return checkedHecToken(value, site.at([...keys, "hec_token_env"]));
  }
  if (d.hec_token_file !== undefined)
    return readHecTokenFile(configRelative(d.hec_token_file, o.dir, o.env), site.at([...keys]));
  throw site.fail(keys, "a Splunk HEC destination needs its token: hec_token_env or hec_token_file");
}

/** Where a HEC destination's token comes from, in the file's words (hecTokenOf checked that one is given). */
function hecTokenSource(d: RemoteKeys, o: { env: CliEnv; dir: string }): string {
  return d.hec_token_env !== undefined
    ? `hec_token_env ${d.hec_token_env}`
    : `hec_token_file ${configRelative(d.hec_token_file ?? "", o.dir, o.env)}`;
}

function readableFileProblem(path: string): string | undefined {
  try {
    if (!statSync(path).isFile()) return "is not a regular file";
    accessSync(path, constants.R_OK);
    return undefined;
  } catch (error) {
    return `cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
}
