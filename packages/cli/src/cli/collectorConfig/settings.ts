/**
 * The service's settings of the collector's config: pacing and walk settings (sync's flags, with
 * sync's defaults), the ops listener, the state folder and the coordination of instances.
 */
import { createHash } from "node:crypto";
import { isAbsolute, resolve } from "node:path";
import { durationProblem } from "@clarifai-audit/client/internal/domain/duration.js";
import { redactUrl } from "@clarifai-audit/client/internal/domain/redact.js";
import type { AccountPlan, CollectorPlan } from "../../collector/plan.js";
import { parsePostgresUrl } from "../../sync/postgres/url.js";
import { SyncUsageError } from "../../sync/store.js";
import type { CliEnv } from "../cliIo.js";
import { SYNC_DEFAULTS } from "../commands/sync.js";
import { parseDurationMs } from "../duration.js";
import { expandHome } from "../options/configFile.js";
import { CONCURRENCY_DEFAULT, SETTLE_DEFAULT_MS } from "../sharedFlags.js";
import { COLLECTOR_DEFAULTS } from "./schema.js";
import type { ConfigSite, KeyPath } from "./where.js";

/** The top-level settings as the file holds them. */
export interface SettingsConfig {
  listen?: string;
  state_dir?: string;
  interval?: string;
  settle?: string;
  reconcile?: string;
  concurrency?: number;
  per_page?: number;
  commit_interval?: string;
  unhealthy_after?: string;
  coordination?: { url: string; group?: string; lease?: string; poll?: string };
}

/** What the settings resolve to: the plan's fields, and the state folder (absolute). */
export interface ResolvedSettings {
  stateDir: string;
  plan: Omit<CollectorPlan, "file" | "accounts" | "destinations">;
}

/** A path as the file gives it: `~` expanded, relative to the config file's folder `dir`. */
export function configRelative(path: string, dir: string, env: CliEnv): string {
  const expanded = expandHome(path, env);
  return isAbsolute(expanded) ? resolve(expanded) : resolve(dir, expanded);
}

/** The settings, checked, with their defaults. */
export function resolveSettings(
  site: ConfigSite,
  data: SettingsConfig,
  env: CliEnv,
  dir: string,
  accounts: readonly AccountPlan[],
): ResolvedSettings {
  const ms = (keys: KeyPath, text: string | undefined, fallback: number, min = 0): number =>
    durationMs(site, keys, text, fallback, min);
  const plan: ResolvedSettings["plan"] = {
    intervalMs: ms(["interval"], data.interval, SYNC_DEFAULTS.intervalMs, 1),
    settleMs: ms(["settle"], data.settle, SETTLE_DEFAULT_MS),
    reconcileMs: ms(["reconcile"], data.reconcile, SYNC_DEFAULTS.reconcileMs),
    concurrency: data.concurrency ?? CONCURRENCY_DEFAULT,
    perPage: data.per_page ?? SYNC_DEFAULTS.perPage,
    commitIntervalMs: ms(["commit_interval"], data.commit_interval, SYNC_DEFAULTS.commitIntervalMs),
    unhealthyAfterMs: ms(["unhealthy_after"], data.unhealthy_after, COLLECTOR_DEFAULTS.unhealthyAfterMs, 1),
  };
  if (data.listen !== undefined) plan.listen = parseListen(site, data.listen);
  const c = data.coordination;
  if (c !== undefined) {
    try {
      parsePostgresUrl(c.url, env);
    } catch (error) {
      if (!(error instanceof SyncUsageError)) throw error;
      throw site.fail(["coordination", "url"], error.problem);
    }
    const leaseMs = ms(["coordination", "lease"], c.lease, COLLECTOR_DEFAULTS.leaseMs, 1);
    const pollMs = ms(["coordination", "poll"], c.poll, COLLECTOR_DEFAULTS.pollMs, 1);
    // Renewed at least twice per lease: one late renewal does not lose it.
    if (pollMs * 2 > leaseMs)
      throw site.fail(
        ["coordination", "poll"],
        `must be at most half of lease (poll ${data.coordination?.poll ?? "default"}, lease ${c.lease ?? "default"})`,
      );
    plan.coordination = {
      url: c.url,
      description: redactUrl(c.url),
      group: c.group ?? defaultGroup(accounts),
      leaseMs,
      pollMs,
    };
  }
  const stateDir = configRelative(data.state_dir ?? COLLECTOR_DEFAULTS.stateDir, dir, env);
  return { stateDir, plan };
}

/** `collector-` and a digest of the sorted account ids: instances of one config share it. */
function defaultGroup(accounts: readonly AccountPlan[]): string {
  const ids = accounts.map((a) => a.id).sort();
  return `collector-${createHash("sha256").update(ids.join("\n")).digest("hex").slice(0, 16)}`;
}

function durationMs(
  site: ConfigSite,
  keys: KeyPath,
  text: string | undefined,
  fallback: number,
  min: number,
): number {
  if (text === undefined) return fallback;
  const ms = parseDurationMs(String(text));
  if (ms === undefined) throw site.fail(keys, durationProblem(String(text)));
  if (ms < min) throw site.fail(keys, `must be at least ${min}ms (got ${JSON.stringify(text)})`);
  return ms;
}

/** `host:port` of the ops listener; port 0: any free port. */
function parseListen(site: ConfigSite, text: string): { host: string; port: number } {
  const at = text.lastIndexOf(":");
  const host = text.slice(0, at).replace(/^\[(.*)\]$/, "$1");
  const port = Number(text.slice(at + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw site.fail(["listen"], `port ${JSON.stringify(text.slice(at + 1))} is not a TCP port (0-65535)`);
  return { host, port };
}
