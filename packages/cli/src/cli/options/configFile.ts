/**
 * The CLI's config file: where it is, whether it may be trusted, and what it holds. It is read from
 * the run's environment (`CLARIFAI_AUDIT_CONFIG`, else `$XDG_CONFIG_HOME/clarifai-audit/config.yaml`,
 * else `$HOME/.config/…`), parsed by `yaml` and checked against packages/cli/src/cli/options/configSchema.ts
 * by `ajv`. Every refusal is one line naming the file (and its line), the profile and the key.
 *
 * The file can name a command the CLI runs (`pat_command`), so, as ssh does with its config, a file
 * that others could have written (group- or world-writable, or owned by another user but root) is
 * refused; a file holding a PAT itself (`pat:`) must also be unreadable by others (mode 0600).
 */
import type { Stats } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { parseEndpoint } from "@clarifai-audit/client/internal/client/config.js";
import { registerSecret } from "@clarifai-audit/client/internal/domain/redact.js";
import { ValidationError } from "@clarifai-audit/client/internal/errors.js";
import { readRegularFile } from "@clarifai-audit/client/internal/state/regularFile.js";
import type { ErrorObject, ValidateFunction } from "ajv";
import type { CliEnv } from "../cliIo.js";
import { UsageError } from "../exitCodes.js";
import {
  CONFIG_SCHEMA,
  type ConfigFileData,
  PAT_KEYS,
  PROFILE_KEY_HELP,
  PROFILE_SCHEMA,
  type ProfileConfig,
} from "./configSchema.js";

/** The variable naming the config file. */
export const CONFIG_ENV = "CLARIFAI_AUDIT_CONFIG";
/** Largest config file read: a few profiles take a few hundred bytes. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** A config file that cannot be used: exit 2, before any request. */
export class ConfigError extends UsageError {
  override name = "ConfigError";
}

/** A config file, read and checked. */
export interface ConfigFile {
  /** Its path, as the messages name it. */
  path: string;
  /** Its mode bits (0o600…). */
  mode: number;
  data: ConfigFileData;
  /** The line of a key of a profile (or of the profile itself when `key` is undefined). */
  lineOf(profile: string, key?: string): number | undefined;
}

/** A variable of the run's environment; blank is unset. */
export function envValue(env: CliEnv, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

/** The run's home folder: its HOME, else the account's. */
export function homeOf(env: CliEnv): string {
  return envValue(env, "HOME") ?? homedir();
}

/** Where the config file is looked for, and what decided it. */
export function configPath(env: CliEnv): { path: string; from: string } {
  const named = envValue(env, CONFIG_ENV);
  if (named !== undefined) return { path: resolve(expandHome(named, env)), from: CONFIG_ENV };
  // The XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored.
  const xdg = envValue(env, "XDG_CONFIG_HOME");
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(homeOf(env), ".config");
  return {
    path: join(base, "clarifai-audit", "config.yaml"),
    from: xdg !== undefined && isAbsolute(xdg) ? "XDG_CONFIG_HOME" : "HOME",
  };
}

/** `~` and `~/…` as the run's home; other paths as given. */
export function expandHome(path: string, env: CliEnv): string {
  if (path === "~") return homeOf(env);
  if (path.startsWith("~/")) return join(homeOf(env), path.slice(2));
  return path;
}

/** A mode for messages: `0644`. */
export function octal(mode: number): string {
  return `0${(mode & 0o777).toString(8).padStart(3, "0")}`;
}

/**
 * Why a file that can name a command or hold a secret may not be trusted, as ssh decides it: others
 * can write it, or another user (not root) owns it. Undefined when it may be trusted (and where
 * modes and owners do not exist: Windows).
 */
export function untrusted(info: Stats): string | undefined {
  const uid = process.getuid?.();
  if (uid === undefined) return undefined;
  if ((info.mode & 0o022) !== 0)
    return `is writable by ${(info.mode & 0o020) !== 0 ? "its group" : "others"} (mode ${octal(info.mode)}): anyone who can write it can make this tool run a command as you; run chmod go-w on it`;
  if (info.uid !== uid && info.uid !== 0)
    return `is owned by uid ${info.uid}, not by you (uid ${uid}) or root: chown it or use your own`;
  return undefined;
}

let validator: ValidateFunction | undefined;

/** Compiles a JSON Schema (draft-07) with the options every config file of the CLI is checked with. */
export async function compileConfigSchema(schema: object): Promise<ValidateFunction> {
  // ajv is CommonJS: bundled, a dynamic import gives its exports as \`default\`.
  const mod = (await import("ajv")) as typeof import("ajv") & { default?: typeof import("ajv") };
  const Ajv = mod.Ajv ?? mod.default?.Ajv;
  return new Ajv({ allErrors: false, strict: true, allowUnionTypes: true, verbose: true }).compile(schema);
}

/** A YAML file read for its data, with where each of its nodes is. */
export interface YamlFile {
  /** Its mode bits. */
  mode: number;
  /** What the YAML holds (`{}` for an empty file). */
  data: unknown;
  /** The line of the node at `keys` (map keys and sequence indexes). */
  lineOf(keys: readonly (string | number)[]): number | undefined;
  /** The line of `key` itself in the map at `parent`. */
  keyLine(parent: readonly (string | number)[], key: string): number | undefined;
}

/**
 * Reads a YAML config file that may name commands or hold secrets: a regular file of at most 1 MiB
 * nobody else could have written ({@link untrusted}); undefined when there is none.
 * @throws ConfigError (one line: `config file PATH[:LINE] …`) for a file that may not be trusted or is not YAML.
 */
export async function readYamlFile(path: string): Promise<YamlFile | undefined> {
  let mode = 0;
  const fail = (problem: string) => new ConfigError(`config file ${path} ${problem}`);
  const bytes = await readRegularFile(path, MAX_CONFIG_BYTES, fail, "a config file", (info) => {
    mode = info.mode;
    return untrusted(info);
  });
  if (bytes === undefined) return undefined;
  // Loaded only when there is a file: a run without one (most searches) loads neither.
  // yaml is CommonJS too when bundled: its exports are then under \`default\`.
  const yaml = (await import("yaml")) as typeof import("yaml") & { default?: typeof import("yaml") };
  const { LineCounter, parseDocument } = yaml.default ?? yaml;
  const lines = new LineCounter();
  const doc = parseDocument(bytes.toString("utf8"), { lineCounter: lines, prettyErrors: false });
  const at = (offset: number | undefined) =>
    offset === undefined ? path : `${path}:${lines.linePos(offset).line}`;
  const yamlError = doc.errors[0];
  if (yamlError !== undefined) {
    // The parser's message goes on to quote the text (which may hold a PAT): keep its first clause.
    const problem = yamlError.message.split("\n")[0]?.replace(/ at line \d+, column \d+:?$/, "");
    throw new ConfigError(`config file ${at(yamlError.pos[0])}: not valid YAML: ${problem}`);
  }
  return {
    mode,
    data: (doc.toJS() ?? {}) as unknown,
    lineOf: (keys) => {
      const node = doc.getIn(keys, true) as { range?: [number, number, number] } | undefined;
      return node?.range === undefined ? undefined : lines.linePos(node.range[0]).line;
    },
    keyLine: (parent, key) => {
      const map = (parent.length === 0 ? doc.contents : doc.getIn(parent, true)) as
        | { items?: { key?: { value?: unknown; range?: [number, number, number] } }[] }
        | undefined;
      const pair = map?.items?.find((p) => p.key?.value === key);
      return pair?.key?.range === undefined ? undefined : lines.linePos(pair.key.range[0]).line;
    },
  };
}

/**
 * Reads and checks the config file at `path`; undefined when there is none.
 * @throws ConfigError (one line) for a file that may not be trusted, is not YAML, or breaks the schema.
 */
export async function readConfigFile(path: string): Promise<ConfigFile | undefined> {
  const file = await readYamlFile(path);
  if (file === undefined) return undefined;
  const { mode, data, keyLine } = file;
  registerInlinePats(data);
  const lineOf = (keys: string[]) => file.lineOf(keys);
  validator ??= await compileConfigSchema(CONFIG_SCHEMA);
  if (!validator(data)) {
    const error = pickError(validator.errors ?? []);
    throw new ConfigError(describe(path, data, error, lineOf, keyLine));
  }
  const config = data as ConfigFileData;
  const where = (profile: string, key?: string) => {
    const line = key === undefined ? keyLine(["profiles"], profile) : keyLine(["profiles", profile], key);
    return `config file ${line === undefined ? path : `${path}:${line}`}: profile "${profile}"`;
  };
  for (const [name, profile] of Object.entries(config.profiles ?? {})) {
    checkProfile(profile, (key) => where(name, key), mode);
  }
  const fallback = config.default_profile;
  if (fallback !== undefined && !Object.hasOwn(config.profiles ?? {}, fallback)) {
    const line = keyLine([], "default_profile");
    throw new ConfigError(
      `config file ${line === undefined ? path : `${path}:${line}`}: default_profile: no profile "${fallback}" (${namesText(config)})`,
    );
  }
  return {
    path,
    mode,
    data: config,
    lineOf: (profile, key) =>
      key === undefined ? keyLine(["profiles"], profile) : keyLine(["profiles", profile], key),
  };
}

/** Every inline PAT of the file is a secret from the moment it is read, valid or not. */
function registerInlinePats(data: unknown): void {
  const profiles = (data as { profiles?: unknown } | null)?.profiles;
  if (profiles === null || typeof profiles !== "object") return;
  for (const profile of Object.values(profiles as Record<string, unknown>)) {
    const pat = (profile as { pat?: unknown } | null)?.pat;
    if (typeof pat === "string") registerSecret(pat);
  }
}

/** "profiles: a, b" or "it has no profiles", for refusals of a name. */
export function namesText(config: ConfigFileData | undefined): string {
  const names = Object.keys(config?.profiles ?? {});
  return names.length === 0 ? "it has no profiles" : `profiles: ${names.join(", ")}`;
}

/** What the schema cannot say: one PAT source, a parsable endpoint, an inline PAT only in a private file. */
function checkProfile(profile: ProfileConfig, where: (key?: string) => string, mode: number): void {
  const sources = PAT_KEYS.filter((k) => profile[k] !== undefined);
  if (sources.length > 1)
    throw new ConfigError(
      `${where(sources[1])}: ${sources.join(" and ")}: a profile has one PAT source (allowed: one of ${PAT_KEYS.join(", ")})`,
    );
  if (profile.endpoint !== undefined) {
    try {
      parseEndpoint(profile.endpoint, "endpoint");
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      throw new ConfigError(
        `${where("endpoint")}: endpoint: ${error.problem.replace(/; use insecure: true.*$/, "; use insecure: true")} (got ${JSON.stringify(error.value)}; allowed: ${PROFILE_KEY_HELP.endpoint})`,
      );
    }
  }
  if (profile.pat !== undefined && (mode & 0o077) !== 0 && process.getuid?.() !== undefined)
    throw new ConfigError(
      `${where("pat")}: pat: the file holds a PAT and its mode ${octal(mode)} lets others read it; run chmod 600 on it, or use pat_file or pat_command`,
    );
}

/** A misspelt key also fails other keywords: the unknown key is the error to show. */
function pickError(errors: ErrorObject[]): ErrorObject {
  return (errors.find((e) => e.keyword === "additionalProperties") ?? errors[0]) as ErrorObject;
}

function describe(
  path: string,
  data: unknown,
  error: ErrorObject,
  lineOf: (keys: string[]) => number | undefined,
  keyLine: (parent: string[], key: string) => number | undefined,
): string {
  const parts = error.instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
  const inProfile = parts[0] === "profiles" && parts.length >= 2;
  const params = error.params as Record<string, unknown>;
  const file = (line: number | undefined) => `config file ${line === undefined ? path : `${path}:${line}`}`;
  const scope = inProfile ? `: profile "${parts[1]}"` : "";
  if (error.keyword === "additionalProperties") {
    const key = String(params.additionalProperty);
    const allowed = inProfile
      ? Object.keys(PROFILE_SCHEMA.properties)
      : Object.keys(CONFIG_SCHEMA.properties);
    return `${file(keyLine(parts, key))}${scope}: unknown key "${key}" (allowed: ${allowed.join(", ")})`;
  }
  if (error.keyword === "propertyNames" || (error.propertyName !== undefined && parts[0] === "profiles"))
    return `${file(keyLine(["profiles"], String(params.propertyName ?? error.propertyName)))}: profile name "${String(params.propertyName ?? error.propertyName)}": must be 1-64 letters, digits, _ . - (starting with a letter or digit)`;
  const key = inProfile ? parts[2] : parts[0];
  const value = parts.reduce<unknown>(
    (v, p) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined),
    data,
  );
  // An inline PAT is never quoted, whatever is wrong with it.
  const got =
    value === undefined || key === "pat"
      ? ""
      : ` (got ${typeof value === "object" ? typeof value : JSON.stringify(value)})`;
  const help =
    key !== undefined && inProfile && Object.hasOwn(PROFILE_KEY_HELP, key)
      ? PROFILE_KEY_HELP[key as keyof ProfileConfig]
      : key === "profiles"
        ? "a map of profile names to profiles"
        : key === "default_profile"
          ? "the name of a profile"
          : "a map with default_profile and profiles";
  const what = key === undefined ? "the file" : key;
  const problem = error.keyword === "pattern" || error.keyword === "anyOf" ? "is not valid" : error.message;
  return `${file(lineOf(parts))}${scope}: ${what}: ${problem}${got}; allowed: ${help}`;
}
