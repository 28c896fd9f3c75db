/**
 * The destinations of the collector's config: a Parquet lake folder or a PostgreSQL table (`to`, as
 * sync's --dest takes them), or detection rules and their alert receivers (`rules`, as watch takes
 * them). Checked here: unique ids, known accounts, receivers watch would take, and no target (a
 * folder, a table) held twice for one account, which would write one account's entries twice.
 */
import { realpathSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import type { SignOptions } from "@clarifai-audit/client/internal/digest/chain.js";
import { AuditUsageError } from "@clarifai-audit/client/internal/domain/errors.js";
import { registerSecret } from "@clarifai-audit/client/internal/domain/redact.js";
import type { AccountPlan, DestinationPlan } from "../../collector/plan.js";
import { isPostgresUrl, parsePostgresUrl } from "../../sync/postgres/url.js";
import { SyncUsageError } from "../../sync/store.js";
import { loadRules, RulesError } from "../../watch/rules.js";
import { webhookUrlProblem } from "../../watch/webhookUrl.js";
import type { CliEnv } from "../cliIo.js";
import { ALERT_DEFAULTS } from "../commands/watch.js";
import { parseDurationMs } from "../duration.js";
import { envValue } from "../options/configFile.js";
import { isRemoteUrl, REMOTE_KEYS, type RemoteKeys, resolveRemoteDestination } from "./remoteDestinations.js";
import { configRelative } from "./settings.js";
import type { ConfigSite, KeyPath } from "./where.js";

/** A destination as the file holds it. */
export interface DestinationConfig extends RemoteKeys {
  id: string;
  to?: string;
  table?: string;
  /** A lake's signing keys (paths relative to the config file's folder). */
  sign?: string | string[];
  /** The time-stamping authority of a signed lake's digests. */
  tsa?: string;
  accounts?: string[];
  rules?: string | string[];
  alert_webhook?: string | string[];
  alert_slack?: string | string[];
  alert_exec?: string | string[];
  alert_secret_env?: string;
  alert_timeout?: string;
  alert_attempts?: number;
  alert_backoff?: string;
}

const ALERT_KEYS = [
  "alert_webhook",
  "alert_slack",
  "alert_exec",
  "alert_secret_env",
  "alert_timeout",
  "alert_attempts",
  "alert_backoff",
] as const;

/** The destinations, checked; every account must be held by one of them. */
export async function resolveDestinations(
  site: ConfigSite,
  destinations: readonly DestinationConfig[],
  accounts: readonly AccountPlan[],
  o: { env: CliEnv; dir: string; stateDir: string },
): Promise<DestinationPlan[]> {
  const ids = accounts.map((a) => a.id);
  const seen = new Map<string, number>();
  const plans: DestinationPlan[] = [];
  /** Each target (a folder's real path, a database table) and who holds it, for the overlap check. */
  const targets = new Map<string, { index: number; accounts: string[] }[]>();
  for (const [i, d] of destinations.entries()) {
    const keys = ["destinations", i] as const;
    const first = seen.get(d.id);
    if (first !== undefined)
      throw site.fail([...keys, "id"], `"${d.id}" is already the id of destinations[${first}]`);
    seen.set(d.id, i);
    const held = d.accounts ?? ids;
    d.accounts?.forEach((id, j) => {
      if (!ids.includes(id))
        throw site.fail(
          [...keys, "accounts", j],
          `"${id}" is not an account id (accounts: ${ids.join(", ")})`,
        );
    });
    const base = { id: d.id, accounts: [...held], where: `${site.at(keys)} (${d.id})` };
    if (d.to !== undefined && d.rules !== undefined)
      throw site.fail(
        [...keys, "rules"],
        "a destination has to (a folder or postgres://…) or rules (alerts), not both: make two destinations",
      );
    if (d.to === undefined && d.rules === undefined)
      throw site.fail(
        keys,
        "no to or rules (allowed: to: a folder or postgres://…; rules: builtin or rules files)",
      );
    if (d.to === undefined && (d.sign !== undefined || d.tsa !== undefined))
      throw site.fail([...keys, d.sign !== undefined ? "sign" : "tsa"], SIGN_ONLY_LAKES);
    if (d.to !== undefined) {
      const alertKey = ALERT_KEYS.find((k) => d[k] !== undefined);
      if (alertKey !== undefined)
        throw site.fail(
          [...keys, alertKey],
          "only an alerts destination (one with rules) takes alert_* keys",
        );
      let plan: DestinationPlan;
      let target: string;
      const remoteKey = REMOTE_KEYS.find((k) => d[k] !== undefined);
      if (isRemoteUrl(d.to)) {
        const remote = await resolveRemoteDestination(site, keys, { ...d, to: d.to }, o);
        plan = { ...base, ...remote.plan } as DestinationPlan;
        target = remote.target;
      } else if (remoteKey !== undefined) {
        throw site.fail(
          [...keys, remoteKey],
          "only for an s3://, syslog://, syslog+tls:// or splunk+https:// destination",
        );
      } else if (isPostgresUrl(d.to)) {
        let parsed: ReturnType<typeof parsePostgresUrl>;
        try {
          parsed = parsePostgresUrl(d.to, o.env, d.table);
        } catch (error) {
          if (!(error instanceof SyncUsageError)) throw error;
          const key = d.table !== undefined && error.problem.startsWith("table ") ? "table" : "to";
          throw site.fail([...keys, key], error.problem);
        }
        plan = {
          ...base,
          kind: "postgres",
          url: d.to,
          ...(d.table !== undefined ? { table: d.table } : {}),
          description: parsed.description,
        };
        target = `postgres ${parsed.host}:${parsed.port}/${parsed.database} table ${parsed.schema ?? "public"}.${parsed.table}`;
      } else {
        if (d.table !== undefined)
          throw site.fail(
            [...keys, "table"],
            "PostgreSQL only (to is a folder: its tables are Parquet files)",
          );
        const dir = configRelative(d.to, o.dir, o.env);
        plan = { ...base, kind: "lake", dir, description: dir };
        target = `folder ${realPath(dir)}`;
      }
      const holders = targets.get(target) ?? [];
      for (const other of holders) {
        const both = other.accounts.find((a) => held.includes(a));
        if (both !== undefined)
          throw site.fail(
            [...keys, "to"],
            `the same ${target} as destinations[${other.index}] and both hold account "${both}": its entries would be written twice (give each account one destination per target)`,
          );
      }
      targets.set(target, [...holders, { index: i, accounts: held }]);
      const sign = await signOf(site, keys, d, plan, o);
      plans.push(sign === undefined ? plan : ({ ...plan, sign } as DestinationPlan));
      continue;
    }
    plans.push({ ...base, ...(await alertsDestination(site, keys, d, o)), kind: "alerts" });
  }
  return plans;
}

const SIGN_ONLY_LAKES =
  "only for a lake (a folder, or s3://… with the lake layout): PostgreSQL, an S3 stream, syslog, Splunk HEC and alerts are not signed";

/**
 * A lake destination's `sign` (its keys read now, so a bad key stops the file from loading) and
 * `tsa`; refused on any other destination, and `tsa` without `sign`.
 */
async function signOf(
  site: ConfigSite,
  keys: KeyPath,
  d: DestinationConfig,
  plan: DestinationPlan,
  o: { env: CliEnv; dir: string },
): Promise<SignOptions | undefined> {
  if (d.sign === undefined) {
    if (d.tsa !== undefined) throw site.fail([...keys, "tsa"], "time-stamps go on digests: give sign too");
    return undefined;
  }
  const lake = plan.kind === "lake" || (plan.kind === "s3" && plan.target.layout === "lake");
  if (!lake) throw site.fail([...keys, "sign"], SIGN_ONLY_LAKES);
  const { readSigningKey, SigningKeyError } = await import("@clarifai-audit/client/internal/digest/keys.js");
  const signing = [];
  for (const [path, at] of items(keys, "sign", d.sign)) {
    try {
      signing.push(await readSigningKey(configRelative(path, o.dir, o.env), "sign"));
    } catch (error) {
      if (error instanceof SigningKeyError) throw site.fail(at, error.problem);
      throw error;
    }
  }
  if (d.tsa === undefined) return { keys: signing };
  const { createTsaStamper } = await import("../../timestamp/index.js");
  try {
    return { keys: signing, stamp: createTsaStamper({ url: d.tsa }) };
  } catch (error) {
    if (error instanceof AuditUsageError) throw site.fail([...keys, "tsa"], error.problem);
    throw error;
  }
}

/** The list form of a string-or-list key, with the key path of each item. */
function items(keys: KeyPath, key: string, value: string | string[] | undefined): [string, KeyPath][] {
  if (value === undefined) return [];
  if (typeof value === "string") return [[value, [...keys, key]]];
  return value.map((v, j) => [v, [...keys, key, j]]);
}

async function alertsDestination(
  site: ConfigSite,
  keys: KeyPath,
  d: DestinationConfig,
  o: { env: CliEnv; dir: string; stateDir: string },
) {
  const ruleSources = items(keys, "rules", d.rules).map(([s]) => s);
  // Rules files are relative to the config file's folder, as every path of the file.
  const specs = ruleSources.map((s) => (s === "builtin" ? s : configRelative(s, o.dir, o.env)));
  let rules: Awaited<ReturnType<typeof loadRules>>;
  try {
    rules = await loadRules(specs);
  } catch (error) {
    if (!(error instanceof RulesError)) throw error;
    // The problem alone: the message names the input in the library's words (`rules`), which the
    // CLI would render as a flag.
    throw site.fail([...keys, "rules"], error.problem);
  }
  const urls = (key: "alert_webhook" | "alert_slack", flavour: "json" | "slack") =>
    items(keys, key, d[key]).map(([url, at]) => {
      const problem = webhookUrlProblem(url, flavour, "alert_secret_env");
      if (problem !== undefined) throw site.fail(at, problem);
      return url;
    });
  const webhooks = urls("alert_webhook", "json");
  const slack = urls("alert_slack", "slack");
  const exec = items(keys, "alert_exec", d.alert_exec).map(([command, at]) => {
    if (command.trim() === "") throw site.fail(at, "the command is empty");
    return command;
  });
  if (webhooks.length + slack.length + exec.length === 0)
    throw site.fail(keys, "an alerts destination needs a receiver: alert_webhook, alert_slack or alert_exec");
  let secret: string | undefined;
  if (d.alert_secret_env !== undefined) {
    secret = envValue(o.env, d.alert_secret_env);
    if (secret === undefined)
      throw site.fail(
        [...keys, "alert_secret_env"],
        `the variable ${d.alert_secret_env} is not set (or is blank)`,
      );
    registerSecret(secret);
  }
  const ms = (key: "alert_timeout" | "alert_backoff", fallback: number, min: number): number => {
    const text = d[key];
    if (text === undefined) return fallback;
    const value = parseDurationMs(text);
    if (value === undefined || value < min)
      throw site.fail(
        [...keys, key],
        `must be a duration of at least ${min}ms (got ${JSON.stringify(text)})`,
      );
    return value;
  };
  return {
    rules,
    ruleSources,
    webhooks,
    slack,
    exec,
    ...(secret !== undefined ? { secret } : {}),
    timeoutMs: ms("alert_timeout", ALERT_DEFAULTS.timeoutMs, 1),
    attempts: d.alert_attempts ?? ALERT_DEFAULTS.attempts,
    backoffMs: ms("alert_backoff", ALERT_DEFAULTS.backoffMs, 0),
    stateDir: join(o.stateDir, "alerts", d.id),
    description: `${ruleSources.join(", ")} → ${[...webhooks.map(() => "webhook"), ...slack.map(() => "slack"), ...exec.map(() => "exec")].join(", ")}`,
  };
}

/**
 * The real path of `path`, or of its nearest existing parent followed by the rest: two spellings of
 * one folder (a symlink, `..`) are one target, whether or not the folder exists yet.
 */
function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realPath(parent), basename(path));
  }
}
