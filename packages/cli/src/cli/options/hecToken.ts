/**
 * Where `sync --dest splunk+https://…` gets its HEC token: CLARIFAI_AUDIT_HEC_TOKEN, else the
 * profile's `hec_token_env` (a variable's name) or `hec_token_file` (a file only its owner can read,
 * as a pat_file). The token is registered as a secret the moment it is read, and never printed.
 */
import { registerSecret } from "@clarifai-audit/client/internal/domain/redact.js";
import { readRegularFile } from "@clarifai-audit/client/internal/state/regularFile.js";
import { HEC_TOKEN_ENV } from "../../sync/hec/url.js";
import type { CliEnv } from "../cliIo.js";
import { UsageError } from "../exitCodes.js";
import { ConfigError, envValue } from "./configFile.js";
import { MAX_PAT_BYTES, patFilePath, privateFileProblem } from "./patSource.js";
import { loadConfig, profileWhere, selectProfile } from "./resolve.js";

/** A HEC token's form: Splunk's are GUIDs; anything printable without spaces is let through. */
const TOKEN = /^[\x21-\x7e]{1,512}$/;

/** Checks `token` (from `from`) and registers it as a secret. */
export function checkedHecToken(token: string, from: string): string {
  registerSecret(token);
  if (!TOKEN.test(token))
    throw new ConfigError(`${from}: not a HEC token (allowed: 1-512 printable characters without spaces)`);
  return token;
}

/** Reads a file holding a HEC token on its first line, refused unless only its owner may read it. */
export async function readHecTokenFile(path: string, where: string): Promise<string> {
  const fail = (problem: string) => new ConfigError(`${where}: hec_token_file ${path} ${problem}`);
  const bytes = await readRegularFile(path, MAX_PAT_BYTES, fail, "a HEC token file", privateFileProblem);
  if (bytes === undefined) throw fail("does not exist");
  return checkedHecToken(
    bytes.toString("utf8").split(/\r?\n/)[0]?.trim() ?? "",
    `${where}: hec_token_file ${path}`,
  );
}

/** The HEC token for `sync`: the environment's, else the profile's; a UsageError naming both when neither. */
export async function resolveHecToken(flags: { profile?: string }, env: CliEnv): Promise<string> {
  const fromEnv = envValue(env, HEC_TOKEN_ENV);
  if (fromEnv !== undefined) return checkedHecToken(fromEnv, HEC_TOKEN_ENV);
  const config = await loadConfig(env);
  const selected = selectProfile(
    config,
    env,
    flags.profile !== undefined ? { name: flags.profile, by: "--profile" } : undefined,
  );
  const profile = selected?.profile;
  if (selected !== undefined && profile?.hec_token_env !== undefined) {
    const value = envValue(env, profile.hec_token_env);
    const where = `${profileWhere(selected, "hec_token_env")}: hec_token_env`;
    if (value === undefined)
      throw new ConfigError(`${where}: the variable ${profile.hec_token_env} is not set (or is blank)`);
    return checkedHecToken(value, where);
  }
  if (selected !== undefined && profile?.hec_token_file !== undefined)
    return readHecTokenFile(
      patFilePath(profile.hec_token_file, selected.file.path, env),
      profileWhere(selected, "hec_token_file"),
    );
  throw new UsageError(
    `--dest: a Splunk HEC destination needs its token: set ${HEC_TOKEN_ENV}, or hec_token_env / hec_token_file in the profile`,
  );
}
