/**
 * The one place the connection options are merged: for every field, flag > environment > profile >
 * default. Commands get their client from it (packages/cli/src/cli/queryOptions.ts's clientFromFlags,
 * through the runner's `ctx.client`) and `config show` prints what it decided, field by field, with
 * where each value came from. The client is then given explicit values, and an environment without
 * the CLARIFAI_* connection variables, so that it decides nothing of its own.
 *
 * The profile is `--profile NAME`, else `CLARIFAI_AUDIT_PROFILE`, else the file's `default_profile`,
 * else none. When the environment overrides a field the profile sets (CLARIFAI_USER_ID over its
 * user_id, CLARIFAI_PAT over its PAT source), a warning names both: two accounts are never mixed
 * silently.
 */

import { DEFAULT_ENDPOINT, parseRateLimitText } from "@clarifai-audit/client/internal/client/config.js";
import { ValidationError } from "@clarifai-audit/client/internal/errors.js";
import { HEC_TOKEN_ENV } from "../../sync/hec/url.js";
import type { CliEnv } from "../cliIo.js";
import { connectionError, reworded } from "../cliWording.js";
import { UsageError } from "../exitCodes.js";
import {
  CONFIG_ENV,
  ConfigError,
  type ConfigFile,
  configPath,
  envValue,
  namesText,
  readConfigFile,
} from "./configFile.js";
import { PROFILE_KEY_HELP, type ProfileConfig } from "./configSchema.js";
import { type PatSource, patSourceOf, readPat } from "./patSource.js";

/** The variable selecting a profile. */
export const PROFILE_ENV = "CLARIFAI_AUDIT_PROFILE";

/** The environment variables of the connection fields, as Clarifai's SDKs name them. */
export const CONNECTION_ENV = {
  pat: "CLARIFAI_PAT",
  userId: "CLARIFAI_USER_ID",
  endpoint: "CLARIFAI_GRPC_BASE",
  rateLimit: "CLARIFAI_RATE_LIMIT",
} as const;

/** Where a value came from. */
export type Source = "flag" | "env" | "profile" | "default";

/** One resolved field: its value (undefined: none, the client's default applies) and its origin. */
export interface Setting<T> {
  value: T | undefined;
  source: Source;
  /** The flag, the variable, `profile "prod"`, or what the default is. */
  from: string;
}

/** The connection flags this module reads (a subset of queryOptions.ts's ConnectionFlags). */
export interface ProfileFlags {
  profile?: string;
  endpoint?: string;
  insecure?: boolean;
  userId?: string;
  rateLimit?: number;
}

/** The config file looked for: its path, what named it, and the file when there is one. */
export interface LoadedConfig {
  path: string;
  from: string;
  file: ConfigFile | undefined;
}

/** The profile in effect. */
export interface SelectedProfile {
  name: string;
  /** What selected it: `--profile`, `CLARIFAI_AUDIT_PROFILE` or `default_profile`. */
  by: string;
  profile: ProfileConfig;
  file: ConfigFile;
}

/** Every connection field, resolved, with the PAT's source (the PAT itself is read by {@link readResolvedPat}). */
export interface ConnectionSettings {
  config: LoadedConfig;
  profile: SelectedProfile | undefined;
  userId: Setting<string>;
  endpoint: Setting<string>;
  insecure: Setting<boolean>;
  rateLimit: Setting<number | false>;
  /** The PAT's source: CLARIFAI_PAT (env), the profile's pat_* key (profile), or none (default). */
  pat: Setting<PatSource> & { envValue?: string };
  /** One line each (without the `clarifai-audit: warning: ` prefix). */
  warnings: string[];
}

/**
 * The config file of the run's environment, read and checked; `file` undefined when there is none.
 * @throws ConfigError for a file that exists but may not be used.
 */
export async function loadConfig(env: CliEnv): Promise<LoadedConfig> {
  const { path, from } = configPath(env);
  return { path, from, file: await readConfigFile(path) };
}

/**
 * The profile `name` (from `by`), else CLARIFAI_AUDIT_PROFILE, else the file's default_profile.
 * @throws ConfigError when one is asked for and there is no file, or no such profile in it.
 */
export function selectProfile(
  config: LoadedConfig,
  env: CliEnv,
  asked?: { name: string; by: string },
): SelectedProfile | undefined {
  const fromEnv = envValue(env, PROFILE_ENV);
  const choice =
    asked ??
    (fromEnv !== undefined ? { name: fromEnv, by: PROFILE_ENV } : undefined) ??
    (config.file?.data.default_profile !== undefined
      ? { name: config.file.data.default_profile, by: "default_profile" }
      : undefined);
  if (choice === undefined) return undefined;
  if (config.file === undefined)
    throw new ConfigError(
      `${choice.by} ${choice.name}: no config file at ${config.path} (${
        config.from === CONFIG_ENV
          ? `named by ${CONFIG_ENV}`
          : `from $${config.from}; create it, or name another with ${CONFIG_ENV}`
      })`,
    );
  const profile = config.file.data.profiles?.[choice.name];
  if (profile === undefined || !Object.hasOwn(config.file.data.profiles ?? {}, choice.name))
    throw new ConfigError(
      `${choice.by} ${choice.name}: no such profile in ${config.path} (${namesText(config.file.data)})`,
    );
  return { ...choice, profile, file: config.file };
}

/** `config file F:LINE: profile "p"`: where a profile's key is, for messages. */
export function profileWhere(selected: SelectedProfile, key?: string): string {
  const line = selected.file.lineOf(selected.name, key);
  return `config file ${line === undefined ? selected.file.path : `${selected.file.path}:${line}`}: profile "${selected.name}"`;
}

/**
 * Merges the connection fields: flag > environment > profile > default. Reads the config file, never
 * a PAT source.
 * @throws ConfigError (a bad file, an unknown profile), UsageError (a bad CLARIFAI_RATE_LIMIT).
 */
export async function resolveConnection(
  flags: ProfileFlags,
  env: CliEnv,
  asked?: { name: string; by: string },
): Promise<ConnectionSettings> {
  const config = await loadConfig(env);
  const selected = selectProfile(
    config,
    env,
    asked ?? (flags.profile !== undefined ? { name: flags.profile, by: "--profile" } : undefined),
  );
  const profile = selected?.profile ?? {};
  const fromProfile = selected === undefined ? "" : `profile "${selected.name}"`;
  const warnings: string[] = [];
  /** flag > env > profile > default, warning when the environment hides the profile's value. */
  function pick<T>(
    flag: [string, T | undefined],
    variable: [string, T | undefined] | undefined,
    key: keyof ProfileConfig,
    value: T | undefined,
    fallback: string,
  ): Setting<T> {
    if (flag[1] !== undefined) return { value: flag[1], source: "flag", from: flag[0] };
    if (variable !== undefined && variable[1] !== undefined) {
      if (value !== undefined && selected !== undefined)
        warnings.push(
          `${variable[0]} overrides ${key} of ${fromProfile} (${selected.by}): unset ${variable[0]} to use the profile's`,
        );
      return { value: variable[1], source: "env", from: variable[0] };
    }
    if (value !== undefined) return { value, source: "profile", from: fromProfile };
    return { value: undefined, source: "default", from: fallback };
  }
  const rateText = envValue(env, CONNECTION_ENV.rateLimit);
  const envRate =
    rateText === undefined
      ? undefined
      : reworded(() => parseRateLimitText(rateText, CONNECTION_ENV.rateLimit), connectionError);
  const profileRate = profile.rate_limit === "off" ? false : profile.rate_limit;
  const source = patSourceOf(profile);
  const patFromEnv = envValue(env, CONNECTION_ENV.pat);
  const pat = pick<PatSource>(
    ["", undefined],
    [
      CONNECTION_ENV.pat,
      patFromEnv === undefined ? undefined : { kind: "pat_env", spec: CONNECTION_ENV.pat },
    ],
    source?.kind ?? "pat",
    source,
    "none",
  );
  return {
    config,
    profile: selected,
    userId: pick(
      ["--user-id", flags.userId],
      [CONNECTION_ENV.userId, envValue(env, CONNECTION_ENV.userId)],
      "user_id",
      profile.user_id,
      "none",
    ),
    endpoint: pick(
      ["--endpoint", flags.endpoint],
      [CONNECTION_ENV.endpoint, envValue(env, CONNECTION_ENV.endpoint)],
      "endpoint",
      profile.endpoint,
      DEFAULT_ENDPOINT,
    ),
    // No variable: plaintext is chosen on the command line or in a profile only.
    insecure: pick(
      ["--insecure", flags.insecure || undefined],
      undefined,
      "insecure",
      profile.insecure,
      "TLS",
    ),
    rateLimit: pick(
      ["--rate-limit", flags.rateLimit],
      [CONNECTION_ENV.rateLimit, envRate],
      "rate_limit",
      profileRate,
      "Clarifai's 15/s (a loopback endpoint: not paced until it throttles)",
    ),
    pat: { ...pat, ...(patFromEnv !== undefined ? { envValue: patFromEnv } : {}) },
    warnings,
  };
}

/**
 * The PAT the settings name: CLARIFAI_PAT's value, or what the profile's source gives (a command
 * is run, a file read); undefined when there is no source. Registered as a secret.
 * @throws ConfigError naming the profile when its source gives no PAT.
 */
export async function readResolvedPat(
  settings: ConnectionSettings,
  env: CliEnv,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const { pat, profile } = settings;
  if (pat.source === "env") return pat.envValue;
  if (pat.value === undefined || profile === undefined) return undefined;
  return readPat(pat.value, env, {
    where: profileWhere(profile, pat.value.kind),
    configFile: profile.file.path,
    withheld: patVariables(profile.file),
    ...(signal !== undefined ? { signal } : {}),
    ...(profile.profile.pat !== undefined ? { inline: profile.profile.pat } : {}),
  });
}

/** The variables that hold PATs: CLARIFAI_PAT and every profile's pat_env in `file`. */
export function patVariables(file: ConfigFile): string[] {
  // The HEC tokens' variables too: a secret manager's command is given no secret it does not fetch.
  const named = Object.values(file.data.profiles ?? {}).flatMap((p) =>
    [p.pat_env, p.hec_token_env].filter((v): v is string => v !== undefined),
  );
  return [CONNECTION_ENV.pat, HEC_TOKEN_ENV, ...named];
}

/** The environment the client is given: the run's, less the variables merged here. */
export function clientEnv(env: CliEnv): Record<string, string | undefined> {
  const rest: Record<string, string | undefined> = { ...env };
  for (const name of Object.values(CONNECTION_ENV)) delete rest[name];
  return rest;
}

const PROFILE_KEY_OF: Record<string, keyof ProfileConfig> = {
  userId: "user_id",
  endpoint: "endpoint",
  insecure: "insecure",
  rateLimit: "rate_limit",
};

/**
 * The client's refusal of a resolved value, naming where the value came from: the profile's key in
 * its file, the variable, or the flag (packages/cli/src/cli/cliWording.ts words those).
 */
export function settingError(error: ValidationError, settings: ConnectionSettings): UsageError {
  const key = PROFILE_KEY_OF[error.field];
  const setting =
    key === undefined ? undefined : (settings[error.field as keyof ConnectionSettings] as Setting<unknown>);
  const selected = settings.profile;
  if (key !== undefined && setting?.source === "profile" && selected !== undefined)
    return new ConfigError(
      `${profileWhere(selected, key)}: ${key}: ${error.problem} (got ${JSON.stringify(error.value)}; allowed: ${PROFILE_KEY_HELP[key]})`,
    );
  if (error.field === "endpoint" && setting?.source === "env")
    return connectionError(
      new ValidationError(CONNECTION_ENV.endpoint, error.value, error.allowed ?? "", error.problem),
    );
  const missing = error.value === undefined && (error.field === "pat" || error.field === "userId");
  if (missing && selected !== undefined) {
    const what =
      error.field === "pat"
        ? ["no Personal Access Token", "set CLARIFAI_PAT, or add pat_env, pat_file or pat_command to"]
        : ["no user id", "give --user-id, set CLARIFAI_USER_ID, or add user_id to"];
    return new UsageError(`${what[0]}: ${what[1]} profile "${selected.name}" in ${selected.file.path}`);
  }
  return connectionError(error);
}
