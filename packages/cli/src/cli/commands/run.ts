/** The definition of `run --config FILE`: the collector (its work: packages/cli/src/cli/collectorCommand.ts). */
import { type Command, Option } from "commander";
import type { CollectorFlags } from "../collectorCommand.js";
import { addOutputOptions } from "../sharedFlags.js";
import { LOG_FORMATS } from "../vocabulary.js";
import type { CommandRuns } from "./runs.js";

const RUN_HELP = `
The config file (YAML; its JSON Schema ships as schema/collector.schema.json) names the accounts,
the destinations each feeds, the listener of /metrics, /healthz and /readyz, and optionally the
PostgreSQL that instances share accounts through (docs/collector.md). \`config check FILE\` checks it
without running. Signals: SIGHUP reloads the file (an invalid one keeps the running one and says
why in one line); SIGTERM or SIGINT drains (every round commits what it walked) and exits 0.`;

/** Registers `run`. */
export function defineRun(program: Command, runs: CommandRuns): Command {
  const cmd = program
    .command("run")
    .description(
      "Run the collector: every account of the config file walked once and fanned out to its destinations (lakes, PostgreSQL tables, S3, alerts exactly once; syslog and Splunk HEC at least once), with metrics, health and failover.",
    )
    .requiredOption("--config <file>", "the collector's config file (YAML)")
    .option("--once", "one round per account (each destination brought up to now − settle), then exit")
    .addOption(
      new Option("--log-format <format>", "log lines on stderr: text, or json (one object per line)")
        .choices([...LOG_FORMATS])
        .default("text"),
    )
    .addHelpText("after", RUN_HELP);
  addOutputOptions(cmd, { quiet: true });
  return cmd.action((flags: CollectorFlags) =>
    runs.run({ command: "run", json: flags.json, secrets: true }, async (ctx) =>
      (await import("../collectorCommand.js")).runCollectorCommand(ctx, flags),
    ),
  );
}
