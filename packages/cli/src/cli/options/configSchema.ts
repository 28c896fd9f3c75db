/**
 * The JSON Schema of the CLI's config file (`~/.config/clarifai-audit/config.yaml`), shipped with
 * the package. Profiles live under `profiles`, each one {@link PROFILE_SCHEMA}; the top level is
 * closed (`additionalProperties: false`) so a misspelt key is refused, and a later section (the
 * accounts and destinations of `run --config`) is added as a property of its own with its `$defs`
 * entry beside `profile`, reusing the profile's fields under the same names.
 */

/** How a profile may be named (it is typed on command lines and completed by shells). */
export const PROFILE_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$";

/** The keys that name where a profile's PAT comes from; a profile has at most one of them. */
export const PAT_KEYS = ["pat_env", "pat_file", "pat_command", "pat"] as const;
/** One of {@link PAT_KEYS}. */
export type PatKey = (typeof PAT_KEYS)[number];

/** A profile as the file holds it (keys as the collector and issue 23's accounts name them). */
export interface ProfileConfig {
  /** Whose audit log (the `--user-id` of the profile). */
  user_id?: string;
  /** gRPC endpoint `host[:port]`. */
  endpoint?: string;
  /** Plaintext gRPC (loopback hosts only). */
  insecure?: boolean;
  /** Requests per second, or `off`. */
  rate_limit?: number | "off";
  /** The name of an environment variable holding the PAT. */
  pat_env?: string;
  /** A file holding the PAT on its first line (mode 0600 or stricter). */
  pat_file?: string;
  /** A shell command printing the PAT (`pass show clarifai`). */
  pat_command?: string;
  /** The PAT itself: only in a file nobody else can read (mode 0600). */
  pat?: string;
  /** The name of an environment variable holding a Splunk HEC token (`sync --dest splunk+https://…`). */
  hec_token_env?: string;
  /** A file holding a Splunk HEC token on its first line (mode 0600 or stricter). */
  hec_token_file?: string;
}

/** The whole file. */
export interface ConfigFileData {
  default_profile?: string;
  profiles?: Record<string, ProfileConfig>;
}

/** What each profile key holds, for messages (`allowed: …`). */
export const PROFILE_KEY_HELP: Record<keyof ProfileConfig, string> = {
  user_id: "a Clarifai user id (no whitespace)",
  endpoint: 'host[:port], e.g. "api.clarifai.com:443"',
  insecure: "true or false",
  rate_limit: 'a number of requests per second, > 0 and ≤ 10000, or "off"',
  pat_env: "the name of an environment variable, e.g. CLARIFAI_PAT_PROD",
  pat_file: "a path (~ expands to your home; relative to the config file's folder)",
  pat_command: 'a shell command printing the PAT, e.g. "pass show clarifai"',
  pat: "the PAT itself, in a file of mode 0600",
  hec_token_env: "the name of an environment variable holding a Splunk HEC token",
  hec_token_file: "a path to a file of mode 0600 holding a Splunk HEC token",
};

/** One profile. */
export const PROFILE_SCHEMA = {
  type: "object",
  additionalProperties: false,
  properties: {
    user_id: { type: "string", pattern: "^\\S+$" },
    endpoint: { type: "string", minLength: 1 },
    insecure: { type: "boolean" },
    rate_limit: {
      anyOf: [
        { type: "number", exclusiveMinimum: 0, maximum: 10_000 },
        { type: "string", enum: ["off"] },
      ],
    },
    pat_env: { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_]*$" },
    pat_file: { type: "string", minLength: 1 },
    pat_command: { type: "string", pattern: "\\S" },
    pat: { type: "string", pattern: "^[\\x21-\\x7e]+$" },
    hec_token_env: { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_]*$" },
    hec_token_file: { type: "string", minLength: 1 },
  },
} as const;

/** The config file (draft-07, ajv's default draft). */
export const CONFIG_SCHEMA = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "clarifai-audit config file",
  type: "object",
  additionalProperties: false,
  properties: {
    default_profile: { type: "string", pattern: PROFILE_NAME_PATTERN },
    profiles: {
      type: "object",
      propertyNames: { pattern: PROFILE_NAME_PATTERN },
      additionalProperties: { $ref: "#/$defs/profile" },
    },
  },
  $defs: { profile: PROFILE_SCHEMA },
} as const;
