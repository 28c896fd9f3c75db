/**
 * `config check FILE` of a collector config (a file whose top level has `accounts`): the whole
 * file checked as `run --config FILE` checks it, without running; one line of summary. With
 * `--resolve`, each account's PAT source is read too (a pat_command run) and its client made, but
 * nothing is sent.
 */
import type { CommandContext, CommandResult } from "../runner.js";
import { loadCollectorConfig } from "./load.js";

/** Runs `config check FILE` on a collector config. */
export async function runCollectorCheck(
  ctx: CommandContext,
  path: string,
  flags: { resolve?: boolean },
): Promise<CommandResult> {
  const plan = await loadCollectorConfig(path, ctx.env);
  if (flags.resolve) {
    for (const account of plan.accounts) (await account.connect({ signal: ctx.signal })).close();
  }
  const kinds = { lake: 0, postgres: 0, alerts: 0, s3: 0, syslog: 0, hec: 0 };
  for (const d of plan.destinations) kinds[d.kind === "stream" ? d.target.kind : d.kind]++;
  const parts = [
    `${plan.accounts.length} account${plan.accounts.length === 1 ? "" : "s"}`,
    `${plan.destinations.length} destination${plan.destinations.length === 1 ? "" : "s"} (${Object.entries(
      kinds,
    )
      .filter(([, n]) => n > 0)
      .map(([kind, n]) => `${n} ${kind}`)
      .join(", ")})`,
    plan.listen === undefined ? "no listener" : `listen ${formatListen(plan.listen)}`,
    plan.coordination === undefined ? "no coordination" : `coordination group ${plan.coordination.group}`,
    flags.resolve ? "every PAT source gave a PAT" : "pat_command not run (--resolve runs it)",
  ];
  ctx.io.stdout.write(`${plan.file}: valid collector config: ${parts.join(", ")}\n`);
  return {
    figures: {
      kind: "collector",
      accounts: plan.accounts.length,
      destinations: plan.destinations.length,
      ...kinds,
      listen: plan.listen === undefined ? null : formatListen(plan.listen),
      coordination: plan.coordination?.group ?? null,
      resolved: flags.resolve === true,
    },
  };
}

function formatListen(l: { host: string; port: number }): string {
  return `${l.host.includes(":") ? `[${l.host}]` : l.host}:${l.port}`;
}
