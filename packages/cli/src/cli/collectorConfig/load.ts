/**
 * `run --config FILE` and `config check FILE`: the collector's config file read, checked and
 * resolved into a {@link CollectorPlan} (packages/cli/src/collector/plan.ts). Everything is checked
 * here, before any request and any write: the file's trust (as the profiles file: regular, ≤ 1 MiB,
 * not group- or world-writable), YAML, the schema (schema.ts: unknown keys, types, ranges), then
 * what a schema cannot say (accounts.ts, destinations.ts, settings.ts). Each refusal is one
 * ConfigError line naming the file, the line and the key path, never a secret; exit 2.
 */
import { dirname, resolve } from "node:path";
import { registerSecret, registerUrlSecrets } from "@clarifai-audit/client/internal/domain/redact.js";
import type { ErrorObject, ValidateFunction } from "ajv";
import type { CollectorPlan } from "../../collector/plan.js";
import type { CliEnv } from "../cliIo.js";
import { ConfigError, compileConfigSchema, expandHome, readYamlFile } from "../options/configFile.js";
import { type AccountConfig, checkPatSources, resolveAccounts } from "./accounts.js";
import { type DestinationConfig, resolveDestinations } from "./destinations.js";
import { COLLECTOR_KEY_HELP, COLLECTOR_SCHEMA, DURATION_HELP, DURATION_KEYS } from "./schema.js";
import { resolveSettings, type SettingsConfig } from "./settings.js";
import { ConfigSite, type KeyPath } from "./where.js";

/** The file as the schema lets it be. */
export interface CollectorConfigData extends SettingsConfig {
  accounts: AccountConfig[];
  destinations: DestinationConfig[];
}

let validator: ValidateFunction | undefined;

/**
 * Reads, checks and resolves the collector's config file at `path` (`~` expands; relative to the
 * working folder) in the run's environment `env`. Reads each pat_env and pat_file (a pat_command is
 * run only by an account's `connect`); opens nothing, sends nothing, writes nothing.
 * @throws ConfigError (one line: `config file PATH:LINE: accounts[1].pat_env: …`), exit 2.
 */
export async function loadCollectorConfig(path: string, env: CliEnv): Promise<CollectorPlan> {
  const file = resolve(expandHome(path, env));
  const yaml = await readYamlFile(file);
  if (yaml === undefined) throw new ConfigError(`config file ${file} does not exist`);
  registerSecrets(yaml.data);
  const site = new ConfigSite(file, yaml);
  validator ??= await compileConfigSchema(COLLECTOR_SCHEMA);
  if (!validator(yaml.data)) throw schemaError(site, yaml.data, validator.errors ?? []);
  const data = yaml.data as CollectorConfigData;
  const dir = dirname(file);
  const nowMs = Date.now();
  const secretVariables = (data.destinations ?? []).flatMap((d) =>
    [d.hec_token_env, d.alert_secret_env].filter((v): v is string => v !== undefined),
  );
  const accounts = await resolveAccounts(site, data.accounts, env, nowMs, secretVariables);
  const settings = resolveSettings(site, data, env, dir, accounts);
  const destinations = await resolveDestinations(site, data.destinations, accounts, {
    env,
    dir,
    stateDir: settings.stateDir,
  });
  accounts.forEach((account, i) => {
    if (!destinations.some((d) => d.accounts.includes(account.id)))
      throw site.fail(
        ["accounts", i, "id"],
        `"${account.id}" is held by no destination (add it to a destination's accounts, or remove it)`,
      );
  });
  // Last: a config whose structure is wrong says so before what only this machine's environment lacks.
  await checkPatSources(site, data.accounts, env);
  return { file, accounts, destinations, ...settings.plan };
}

/**
 * Whether the file at `path` is a collector config (its top level has `accounts`) rather than a
 * profiles file: how `config check FILE` tells them apart. False when it cannot be read as YAML (nor
 * trusted, nor found): the profiles check then reads it and says why, in the same words.
 */
export async function isCollectorConfig(path: string, env: CliEnv): Promise<boolean> {
  let data: unknown;
  try {
    data = (await readYamlFile(resolve(expandHome(path, env))))?.data;
  } catch (error) {
    if (error instanceof ConfigError) return false;
    throw error;
  }
  return data !== null && typeof data === "object" && !Array.isArray(data) && Object.hasOwn(data, "accounts");
}

/** Every secret the file may hold is registered before anything can quote it, valid or not. */
function registerSecrets(data: unknown): void {
  const top = (data ?? {}) as Record<string, unknown>;
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
  for (const account of list(top.accounts)) {
    const pat = (account as { pat?: unknown } | null)?.pat;
    if (typeof pat === "string") registerSecret(pat);
  }
  const urls: unknown[] = [(top.coordination as { url?: unknown } | null)?.url];
  for (const d of list(top.destinations)) {
    const dest = (d ?? {}) as Record<string, unknown>;
    urls.push(dest.to, ...list(dest.alert_webhook), ...list(dest.alert_slack));
  }
  for (const url of urls) if (typeof url === "string") registerUrlSecrets(url);
}

/** Keys whose values are never quoted in a message: they may be, or hold, a secret. */
const UNQUOTED = new Set(["pat", "to", "url", "alert_webhook", "alert_slack", "alert_exec", "pat_command"]);

/** The schema of the object at `keys` (the top level, an account, a destination, coordination). */
function objectSchemaAt(keys: KeyPath): { properties: object } | undefined {
  if (keys.length === 0) return COLLECTOR_SCHEMA;
  if (keys.length === 2 && keys[0] === "accounts") return COLLECTOR_SCHEMA.$defs.account;
  if (keys.length === 2 && keys[0] === "destinations") return COLLECTOR_SCHEMA.$defs.destination;
  if (keys.length === 1 && keys[0] === "coordination") return COLLECTOR_SCHEMA.properties.coordination;
  return undefined;
}

/** The one line of a schema refusal. */
function schemaError(site: ConfigSite, data: unknown, errors: ErrorObject[]): ConfigError {
  // A misspelt key also fails other keywords: the unknown key is the error to show; a value that is
  // neither form of a string-or-list is shown as such, not as its first form's failure.
  const error = (errors.find((e) => e.keyword === "additionalProperties") ??
    errors.find((e) => e.keyword === "anyOf") ??
    errors[0]) as ErrorObject;
  const keys: (string | number)[] = error.instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const params = error.params as Record<string, unknown>;
  if (error.keyword === "additionalProperties") {
    const key = String(params.additionalProperty);
    const allowed = Object.keys(objectSchemaAt(keys)?.properties ?? {});
    return site.fail([...keys, key], `unknown key (allowed: ${allowed.join(", ")})`);
  }
  if (error.keyword === "required")
    return site.fail(
      [...keys, String(params.missingProperty)],
      `missing${keys.length === 0 ? "" : ` (${objectName(keys)} needs it)`}`,
    );
  const name = [...keys].reverse().find((k): k is string => typeof k === "string");
  const value = keys.reduce<unknown>(
    (v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined),
    data,
  );
  const got =
    value === undefined || (name !== undefined && UNQUOTED.has(name))
      ? ""
      : ` (got ${value !== null && typeof value === "object" ? (Array.isArray(value) ? "a list" : "a map") : JSON.stringify(value)})`;
  const help =
    name === undefined
      ? "a map with accounts and destinations"
      : keys.length === 1 && name === "accounts"
        ? "a list of accounts (each a map with id, user_id and a PAT source)"
        : DURATION_KEYS.has(name)
          ? DURATION_HELP
          : (COLLECTOR_KEY_HELP[name] ??
            (name === "destinations" ? "a list of destinations" : "see the schema"));
  const problem = error.keyword === "pattern" || error.keyword === "anyOf" ? "is not valid" : error.message;
  return keys.length === 0
    ? site.fail(keys, `the file: ${problem}${got}; allowed: ${help}`)
    : site.fail(keys, `${problem}${got}; allowed: ${help}`);
}

function objectName(keys: KeyPath): string {
  if (keys[0] === "accounts") return "an account";
  if (keys[0] === "destinations") return "a destination";
  return String(keys[keys.length - 1]);
}
