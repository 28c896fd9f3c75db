/** The definition of `watch` (yaml and ajv load only in its work, packages/cli/src/cli/watchCommand.ts). */

import { MAX_PER_PAGE } from "@clarifai-audit/client/internal/domain/limits.js";
import type { Command } from "commander";
import { collect, integerOption } from "../duration.js";
import {
  addConnectionOptions,
  addFollowOptions,
  addOutputOptions,
  addWalkOptions,
  addWindowOptions,
  alertFormatOption,
  durationFlag,
  TIME_FORMS,
} from "../sharedFlags.js";
import type { WatchFlags } from "../watchCommand.js";
import type { CommandRuns } from "./runs.js";

/** watch's alert delivery defaults, also those of the collector's alert destinations. */
export const ALERT_DEFAULTS = {
  /** `--alert-timeout`: deadline of one delivery attempt. */
  timeoutMs: 10_000,
  /** `--alert-attempts`: attempts per alert and destination. */
  attempts: 5,
  /** `--alert-attempts`'s most. */
  attemptsMax: 100,
  /** `--alert-backoff`: delay before the first retry, doubled for each next one. */
  backoffMs: 1000,
} as const;

/** Registers `watch`. */
export function defineWatch(program: Command, runs: CommandRuns): Command {
  const cmd = program
    .command("watch")
    .description(
      "Evaluate detection rules on new audit-log entries as they arrive; alerts to stdout, webhooks, Slack or a command. Exactly once across restarts with --checkpoint.",
    )
    .requiredOption(
      "--rules <file>",
      "rules file (YAML), or builtin for the built-in pack; repeatable",
      collect,
    )
    .option(
      "--checkpoint <file>",
      "resume from and save progress, rule state and pending alerts to this file",
    );
  addFollowOptions(cmd, {
    interval: ["time between polls", 10_000],
    lookback: "re-read this far behind the newest entry seen, for entries that land late",
  });
  addWindowOptions(cmd, "origin", {
    from: `first run: evaluate entries from this time: ${TIME_FORMS} (default now)`,
    since: "first run: evaluate entries from now − duration",
  });
  addWalkOptions(cmd, { perPage: { default: MAX_PER_PAGE } })
    .option(
      "--once",
      "poll once and exit (for cron), instead of polling until interrupted; exit 5 if an alert could not be delivered",
    )
    .option("--alert-webhook <url>", "POST each alert as JSON to this URL; repeatable", collect)
    .option("--alert-slack <url>", "post each alert to this Slack incoming-webhook URL; repeatable", collect)
    .option(
      "--alert-exec <command>",
      "run this shell command with each alert as JSON on stdin; repeatable",
      collect,
    )
    .option(
      "--alert-secret <secret>",
      "sign webhook bodies: X-Clarifai-Audit-Signature: sha256=HMAC (default: CLARIFAI_AUDIT_ALERT_SECRET)",
    )
    .addOption(
      durationFlag(
        "--alert-timeout <duration>",
        "deadline of one delivery attempt",
        ALERT_DEFAULTS.timeoutMs,
      ),
    )
    .option(
      "--alert-attempts <n>",
      "delivery attempts per alert and destination",
      integerOption("--alert-attempts", 1, ALERT_DEFAULTS.attemptsMax),
      ALERT_DEFAULTS.attempts,
    )
    .addOption(
      durationFlag(
        "--alert-backoff <duration>",
        "delay before the first retry, doubled for each next one",
        ALERT_DEFAULTS.backoffMs,
      ),
    )
    .option(
      "--dead-letter <file>",
      "alerts that could not be delivered (default: CHECKPOINT.dead-letter.jsonl, else ./clarifai-audit-watch.dead-letter.jsonl)",
    )
    .option("--no-destination-check", "skip the start-up TCP connect check of webhook URLs");
  addOutputOptions(cmd, { format: alertFormatOption(), quiet: true });
  addConnectionOptions(cmd);
  return cmd.action((flags: WatchFlags) =>
    runs.run({ command: "watch", json: flags.json, secrets: true }, async (ctx) =>
      (await import("../watchCommand.js")).runWatch(ctx, flags),
    ),
  );
}
