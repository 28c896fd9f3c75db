/**
 * The accounts of the collector's config: each a profile on its own (the same keys, PAT sources and
 * checks as packages/cli/src/cli/options/), plus an id, filters and a first run's start. Nothing of
 * the run's environment overrides an account (CLARIFAI_PAT, CLARIFAI_USER_ID…): with several
 * accounts in one process, an override would mix one into another.
 */

import { AuditLogClient } from "@clarifai-audit/client/internal/client/client.js";
import { DEFAULT_ENDPOINT, resolveConfig } from "@clarifai-audit/client/internal/client/config.js";
import { durationProblem } from "@clarifai-audit/client/internal/domain/duration.js";
import { AuditUsageError, ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import { EXPORT_MAX_ATTEMPTS } from "@clarifai-audit/client/internal/domain/limits.js";
import { ValidationError } from "@clarifai-audit/client/internal/errors.js";
import type { AccountPlan } from "../../collector/plan.js";
import { HEC_TOKEN_ENV } from "../../sync/hec/url.js";
import type { CliEnv } from "../cliIo.js";
import { parseDurationMs } from "../duration.js";
import { connectionClientOptions, profileValues } from "../options/clientOptions.js";
import { octal } from "../options/configFile.js";
import { PAT_KEYS, PROFILE_KEY_HELP, type ProfileConfig } from "../options/configSchema.js";
import { patFilePath, patSourceOf, readPat, readPatFile } from "../options/patSource.js";
import { CONNECTION_ENV } from "../options/resolve.js";
import { filtersToQuery, resolveWindow } from "../queryOptions.js";
import type { ConfigSite } from "./where.js";

/** An account as the file holds it. */
export interface AccountConfig extends ProfileConfig {
  id: string;
  user_id: string;
  from?: string;
  since?: string;
  operations?: string[];
  actors?: string[];
  targets?: string[];
  success?: boolean;
  source_ips?: string[];
}

/** The client's fields, by the keys that set them. */
const KEY_OF_FIELD: Record<string, keyof ProfileConfig> = {
  userId: "user_id",
  endpoint: "endpoint",
  insecure: "insecure",
  rateLimit: "rate_limit",
};

/** The filter flags' messages, by the keys that set them. */
const KEY_OF_FLAG: Record<string, string> = {
  "--operation": "operations",
  "--actor": "actors",
  "--target": "targets",
  "--source-ip": "source_ips",
  "--from": "from",
  "--since": "since",
};

/**
 * The accounts, checked: unique ids, one PAT source each, connection values the client takes,
 * filters and a start the CLI takes. PAT sources are read later ({@link checkPatSources}, `connect`).
 */
export async function resolveAccounts(
  site: ConfigSite,
  accounts: readonly AccountConfig[],
  env: CliEnv,
  nowMs: number,
  /** Variables of the file's other secrets (HEC tokens, alert secrets), withheld from pat_commands too. */
  secretVariables: readonly string[] = [],
): Promise<AccountPlan[]> {
  const seen = new Map<string, number>();
  // A pat_command never sees another account's PAT or any other secret of the file (as profiles: patVariables).
  const withheld = [
    CONNECTION_ENV.pat,
    HEC_TOKEN_ENV,
    ...secretVariables,
    ...accounts.flatMap((a) => (a.pat_env === undefined ? [] : [a.pat_env])),
  ];
  return accounts.map((account, i) => {
    const keys = ["accounts", i] as const;
    const first = seen.get(account.id);
    if (first !== undefined)
      throw site.fail([...keys, "id"], `"${account.id}" is already the id of accounts[${first}]`);
    seen.set(account.id, i);
    const sources = PAT_KEYS.filter((k) => account[k] !== undefined);
    if (sources.length === 0) throw site.fail(keys, `no PAT source (allowed: one of ${PAT_KEYS.join(", ")})`);
    if (sources.length > 1)
      throw site.fail(
        [...keys, sources[1] as string],
        `${sources.join(" and ")}: an account has one PAT source (allowed: one of ${PAT_KEYS.join(", ")})`,
      );
    const values = profileValues(account);
    try {
      // The client's own checks of every field (endpoint, plaintext only to loopback, rate…), with a
      // stand-in PAT: the real one is read when the account starts.
      resolveConfig(connectionClientOptions({ ...values, pat: "stand-in" }, env));
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      const key = KEY_OF_FIELD[error.field];
      if (key === undefined) throw site.fail(keys, error.message);
      throw site.fail(
        [...keys, key],
        `${error.problem} (got ${JSON.stringify(error.value)}; allowed: ${PROFILE_KEY_HELP[key]})`,
      );
    }
    const refused = (error: unknown): never => {
      // A target's parser names its input in the library's words (`target`): its problem alone.
      if (error instanceof AuditUsageError && error.input === "target")
        throw site.fail([...keys, "targets"], error.problem);
      if (!(error instanceof ClarifaiAuditError)) throw error;
      const flag = /^(--[a-z-]+)/.exec(error.message)?.[1];
      const key = flag === undefined ? undefined : KEY_OF_FLAG[flag];
      const text = error.message.replace(/^--[a-z-]+( and --[a-z-]+)?: /, "");
      throw site.fail(key === undefined ? keys : [...keys, key], text.replace(/--(from|since)\b/g, "$1"));
    };
    let query: AccountPlan["query"] = {};
    let origin: AccountPlan["origin"];
    try {
      query = filtersToQuery({
        ...(account.operations !== undefined ? { operation: account.operations } : {}),
        ...(account.actors !== undefined ? { actor: account.actors } : {}),
        ...(account.targets !== undefined ? { target: account.targets } : {}),
        ...(account.success === true ? { success: true } : account.success === false ? { failed: true } : {}),
        ...(account.source_ips !== undefined ? { sourceIp: account.source_ips } : {}),
      });
    } catch (error) {
      refused(error);
    }
    if (account.from !== undefined && account.since !== undefined)
      throw site.fail([...keys, "since"], "from and since cannot be combined (give one)");
    const since = account.since === undefined ? undefined : parseDurationMs(account.since);
    if (account.since !== undefined && since === undefined)
      throw site.fail([...keys, "since"], durationProblem(account.since));
    try {
      origin = resolveWindow(
        {
          ...(account.from !== undefined ? { from: account.from } : {}),
          ...(since !== undefined ? { since } : {}),
        },
        nowMs,
      ).from;
    } catch (error) {
      refused(error);
    }
    const source = patSourceOf(account);
    const kind = sources[0] as (typeof PAT_KEYS)[number];
    const spec = source?.spec ?? "";
    const patKeys = [...keys, kind];
    const patFrom =
      kind === "pat_env"
        ? `pat_env ${spec}`
        : kind === "pat_file"
          ? `pat_file ${patFilePath(spec, site.file, env)}`
          : kind === "pat"
            ? "pat (inline)"
            : "pat_command";
    const plan: AccountPlan = {
      id: account.id,
      userId: account.user_id,
      endpoint: account.endpoint ?? DEFAULT_ENDPOINT,
      patFrom,
      query,
      ...(origin !== undefined ? { origin } : {}),
      where: `${site.at(keys)} (${account.id})`,
      async connect(hooks) {
        const pat = await readPat({ kind, spec }, env, {
          where: site.at(keys, patKeys),
          join: ".",
          configFile: site.file,
          withheld,
          ...(hooks.signal !== undefined ? { signal: hooks.signal } : {}),
          ...(account.pat !== undefined ? { inline: account.pat } : {}),
        });
        // The walk's attempts are sync's (a page retried, not the run restarted).
        return new AuditLogClient(
          connectionClientOptions({ ...values, pat, maxAttempts: EXPORT_MAX_ATTEMPTS }, env, hooks.onRequest),
        );
      },
    };
    return plan;
  });
}

/**
 * The PAT sources that can be checked without running anything: each pat_env set, each pat_file
 * present and private, an inline PAT only in a file others cannot read. A pat_command is not run.
 * @throws ConfigError naming the account's key.
 */
export async function checkPatSources(
  site: ConfigSite,
  accounts: readonly AccountConfig[],
  env: CliEnv,
): Promise<void> {
  for (const [i, account] of accounts.entries()) {
    const keys = ["accounts", i] as const;
    const context = (key: string) => ({
      where: site.at(keys, [...keys, key]),
      join: ".",
      configFile: site.file,
      withheld: [],
    });
    if (account.pat_env !== undefined) {
      // Read as `connect` will (blank is unset), so a check that passes means a PAT at the start.
      await readPat({ kind: "pat_env", spec: account.pat_env }, env, context("pat_env"));
    } else if (account.pat_file !== undefined) {
      await readPatFile(account.pat_file, env, context("pat_file"));
    } else if (
      account.pat !== undefined &&
      (site.yaml.mode & 0o077) !== 0 &&
      process.getuid?.() !== undefined
    ) {
      throw site.fail(
        [...keys, "pat"],
        `the file holds a PAT and its mode ${octal(site.yaml.mode)} lets others read it; run chmod 600 on it, or use pat_file or pat_command`,
      );
    }
  }
}
