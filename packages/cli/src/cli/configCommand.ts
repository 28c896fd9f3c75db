/**
 * `clarifai-audit config list|show|check`: the profiles of the config file, what a command would
 * connect with and where each value comes from, and whether a config file can be used. None makes
 * a request or writes a file, and none prints a PAT: a PAT source is shown by its kind, and only
 * `check --resolve` runs the sources, to say whether each gave one.
 */
import { terminalSafe } from "@clarifai-audit/client/internal/domain/terminalText.js";
import { UsageError } from "./exitCodes.js";
import { ConfigError, envValue, octal, readConfigFile } from "./options/configFile.js";
import type { ProfileConfig } from "./options/configSchema.js";
import { patFilePath, patSourceOf, readPat, readPatFile } from "./options/patSource.js";
import {
  type ConnectionSettings,
  loadConfig,
  PROFILE_ENV,
  type ProfileFlags,
  patVariables,
  profileWhere,
  resolveConnection,
  type SelectedProfile,
  type Setting,
} from "./options/resolve.js";
import type { CommandContext, CommandResult } from "./runner.js";

/** Columns padded to their widest cell, two spaces apart. */
function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  "))
    .join("\n");
}

/** Runs `config list` (`--names`: names only, nothing at all without a config file). */
export async function runConfigList(ctx: CommandContext, flags: { names?: boolean }): Promise<CommandResult> {
  const config = await loadConfig(ctx.env);
  const profiles = Object.entries(config.file?.data.profiles ?? {});
  if (flags.names) {
    for (const [name] of profiles) ctx.io.stdout.write(`${name}\n`);
    return { figures: { profiles: profiles.length } };
  }
  if (config.file === undefined) {
    ctx.say(`config: no config file at ${config.path} (see clarifai-audit config check --help)`);
    return { figures: { profiles: 0 } };
  }
  const selected = envValue(ctx.env, PROFILE_ENV) ?? config.file.data.default_profile;
  if (selected !== undefined && !profiles.some(([name]) => name === selected))
    ctx.io.stderr.write(
      `clarifai-audit: warning: ${PROFILE_ENV} names ${selected}, which is not a profile of ${config.file.path}\n`,
    );
  const rows = [["", "NAME", "USER_ID", "ENDPOINT", "PAT"]];
  for (const [name, p] of profiles)
    rows.push([
      name === selected ? "*" : "",
      name,
      terminalSafe(p.user_id ?? "-"),
      terminalSafe(p.endpoint ?? "-"),
      patSourceOf(p)?.kind ?? "-",
    ]);
  ctx.io.stdout.write(`${table(rows)}\n`);
  const by = envValue(ctx.env, PROFILE_ENV) !== undefined ? PROFILE_ENV : "default_profile";
  ctx.say(
    `config: ${config.file.path}: ${profiles.length} profile(s)${selected === undefined ? "" : `; * in effect (${by})`}`,
  );
  return { figures: { profiles: profiles.length } };
}

/** What `config show` prints of a setting's origin. */
function origin(setting: Setting<unknown>): string {
  if (setting.source === "default") return "default";
  // A profile's origin already says so: `profile "prod"`.
  return setting.source === "profile" ? setting.from : `${setting.source}: ${setting.from}`;
}

/** Runs `config show [NAME]`: each field a command given the same flags would use, and its source. */
export async function runConfigShow(
  ctx: CommandContext,
  name: string | undefined,
  flags: ProfileFlags & { timeout?: number; maxAttempts?: number },
): Promise<CommandResult> {
  if (name !== undefined && flags.profile !== undefined && name !== flags.profile)
    throw new UsageError(`--profile: give the profile once (got ${name} and --profile ${flags.profile})`);
  const settings = await resolveConnection(
    flags,
    ctx.env,
    name !== undefined ? { name, by: "config show NAME" } : undefined,
  );
  for (const line of settings.warnings) ctx.io.stderr.write(`clarifai-audit: warning: ${line}\n`);
  const shown = (s: Setting<unknown>, text: (v: unknown) => string, none: string) => [
    s.value === undefined ? none : terminalSafe(text(s.value)),
    origin(s),
  ];
  const rate = (v: unknown) => (v === false ? "off (no budget)" : `${String(v)}/s`);
  const rows = [
    ["profile", ...profileCells(settings.profile, settings)],
    ["user_id", ...shown(settings.userId, String, "none")],
    ["endpoint", ...shown(settings.endpoint, String, settings.endpoint.from)],
    ["insecure", ...shown(settings.insecure, String, "false (TLS)")],
    ["rate_limit", ...shown(settings.rateLimit, rate, settings.rateLimit.from)],
    ["pat", await patCell(ctx, settings), origin(settings.pat)],
    [
      "timeout",
      flags.timeout === undefined ? "60s" : `${flags.timeout}ms`,
      flags.timeout === undefined ? "default" : "flag: --timeout",
    ],
    [
      "max_attempts",
      String(flags.maxAttempts ?? 5),
      flags.maxAttempts === undefined ? "default (export, sync, report: 10)" : "flag: --max-attempts",
    ],
  ];
  ctx.io.stdout.write(`${table(rows)}\n`);
  const figure = (s: Setting<unknown>) => ({ value: s.value ?? null, source: s.source });
  return {
    figures: {
      profile: settings.profile?.name ?? null,
      user_id: figure(settings.userId),
      endpoint: figure(settings.endpoint),
      insecure: figure(settings.insecure),
      rate_limit: figure(settings.rateLimit),
      pat: { kind: settings.pat.value?.kind ?? null, source: settings.pat.source },
    },
  };
}

function profileCells(selected: SelectedProfile | undefined, settings: ConnectionSettings): string[] {
  if (selected === undefined)
    return [
      "none",
      settings.config.file === undefined ? `no config file at ${settings.config.path}` : "none selected",
    ];
  return [selected.name, `${selected.by}: ${selected.file.path}`];
}

/** The PAT as set or not, and from where; a pat_command is not run here. */
async function patCell(ctx: CommandContext, settings: ConnectionSettings): Promise<string> {
  const source = settings.pat.value;
  if (settings.pat.source === "env") return "set, from CLARIFAI_PAT";
  if (source === undefined || settings.profile === undefined)
    return "not set (set CLARIFAI_PAT, or give the profile pat_env, pat_file or pat_command)";
  switch (source.kind) {
    case "pat":
      return "set, inline in the config file";
    case "pat_env":
      return envValue(ctx.env, source.spec) === undefined
        ? `not set: pat_env names ${source.spec}, which is not set`
        : `set, from pat_env ${source.spec}`;
    case "pat_command":
      return "from pat_command (not run here: config check --resolve runs it)";
    case "pat_file":
      try {
        await readPatFile(source.spec, ctx.env, {
          where: profileWhere(settings.profile, "pat_file"),
          configFile: settings.profile.file.path,
        });
        return `set, from pat_file ${patFilePath(source.spec, settings.profile.file.path, ctx.env)}`;
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        return `not usable: ${error.message.replace(/^.*?: profile "[^"]*": /, "")}`;
      }
  }
}

/**
 * Runs `config check [FILE]` (`--resolve`: run each PAT source too). A FILE whose top level has
 * `accounts` is a collector config (`run --config`), checked as such: the profiles file has no such
 * key (its schema is closed) and a collector config must have it.
 */
export async function runConfigCheck(
  ctx: CommandContext,
  file: string | undefined,
  flags: { resolve?: boolean },
): Promise<CommandResult> {
  if (file !== undefined) {
    const collector = await import("./collectorConfig/load.js");
    if (await collector.isCollectorConfig(file, ctx.env))
      return (await import("./collectorConfig/check.js")).runCollectorCheck(ctx, file, flags);
  }
  const path = file ?? (await loadConfig(ctx.env)).path;
  const config = await readConfigFile(path);
  if (config === undefined)
    throw new ConfigError(
      `config file ${path} does not exist${file === undefined ? " (nothing to check)" : ""}`,
    );
  const profiles = Object.entries(config.data.profiles ?? {});
  ctx.io.stdout.write(
    `${path}: valid (mode ${octal(config.mode)}), ${profiles.length} profile(s)${config.data.default_profile === undefined ? "" : `, default_profile ${config.data.default_profile}`}\n`,
  );
  let failed = 0;
  for (const [name, profile] of profiles) {
    const selected: SelectedProfile = { name, by: "config check", profile, file: config };
    const line = await checkPatSource(ctx, selected, profile, flags.resolve === true);
    if (line.startsWith("FAILED")) failed++;
    ctx.io.stdout.write(`profile "${name}": ${line}\n`);
  }
  return {
    figures: { profiles: profiles.length, failed },
    ...(failed > 0
      ? {
          failure: new ConfigError(
            `config file ${path}: ${failed} of ${profiles.length} profile(s) cannot give a PAT (see above)`,
          ),
        }
      : {}),
  };
}

async function checkPatSource(
  ctx: CommandContext,
  selected: SelectedProfile,
  profile: ProfileConfig,
  resolve: boolean,
): Promise<string> {
  const source = patSourceOf(profile);
  if (source === undefined) return "no PAT source (CLARIFAI_PAT is used)";
  const context = {
    where: profileWhere(selected, source.kind),
    configFile: selected.file.path,
    withheld: patVariables(selected.file),
    signal: ctx.signal,
    ...(profile.pat !== undefined ? { inline: profile.pat } : {}),
  };
  const what =
    source.kind === "pat_file"
      ? `pat_file ${patFilePath(source.spec, selected.file.path, ctx.env)}`
      : source.kind === "pat_env"
        ? `pat_env ${source.spec}`
        : source.kind;
  try {
    if (resolve) {
      await readPat(source, ctx.env, context);
      return `${what}: gave a PAT`;
    }
    if (source.kind === "pat_file") {
      await readPatFile(source.spec, ctx.env, context);
      return `${what}: present, private`;
    }
    if (source.kind === "pat_env")
      return `${what}: ${envValue(ctx.env, source.spec) === undefined ? "not set in this environment" : "set"}`;
    return `${what}${source.kind === "pat_command" ? " (not run: --resolve runs it)" : ""}`;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return `FAILED: ${error.message.replace(/^.*?: profile "[^"]*": /, "")}`;
  }
}
