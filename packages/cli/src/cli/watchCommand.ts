/**
 * `clarifai-audit watch`: polls the live log like `tail --follow` and evaluates detection rules on
 * every new entry; each alert goes to stdout and every destination. With --checkpoint, exactly once
 * across restarts: see packages/cli/src/watch/checkpoint.ts and docs/cli/watch.md.
 */

import { redactUrl, registerSecret } from "@clarifai-audit/client/internal/domain/redact.js";
import { formatTs, nowTs, tsToNs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import {
  followPoll,
  type PollBatch,
  type PollState,
} from "@clarifai-audit/client/internal/export/followPoll.js";
import { resumeIdentity } from "@clarifai-audit/client/internal/export/identity.js";
import { checkOutputPath, checkRegularOrAbsent } from "@clarifai-audit/client/internal/state/outputPath.js";
import { StateFileError } from "@clarifai-audit/client/internal/state/stateReader.js";
import type { Alert } from "../watch/alert.js";
import { readWatchCheckpoint, type WatchState, writeWatchCheckpoint } from "../watch/checkpoint.js";
import {
  checkWebhook,
  DeadLetter,
  DeliveryJournal,
  type DeliveryOptions,
  type Destination,
  execDestination,
  webhookDestination,
} from "../watch/destinations.js";
import { type AlertFormat, Dispatcher } from "../watch/dispatcher.js";
import { Evaluator } from "../watch/evaluator.js";
import { loadRules } from "../watch/rules.js";
import { webhookUrlProblem } from "../watch/webhookUrl.js";
import { UndeliveredError, UsageError } from "./exitCodes.js";
import { type ConnectionFlags, resolveWindow } from "./queryOptions.js";
import { requestFigures } from "./requestStats.js";
import type { CommandContext, CommandResult } from "./runner.js";

/** The flags of `watch`, as commander parses them. */
export interface WatchFlags extends ConnectionFlags {
  rules: string[];
  checkpoint?: string;
  interval: number;
  lookback: number;
  from?: string;
  since?: number;
  perPage: number;
  once?: boolean;
  alertWebhook?: string[];
  alertSlack?: string[];
  alertExec?: string[];
  alertSecret?: string;
  alertTimeout: number;
  alertAttempts: number;
  alertBackoff: number;
  deadLetter?: string;
  destinationCheck: boolean;
  format: string;
  quiet?: boolean;
  json?: boolean;
}

/** The environment variable read for --alert-secret (keeps the secret out of `ps`). */
export const ALERT_SECRET_ENV = "CLARIFAI_AUDIT_ALERT_SECRET";

/** Runs `watch` with its parsed flags (defined in packages/cli/src/cli/commands/watch.ts). */
export async function runWatch(ctx: CommandContext, flags: WatchFlags): Promise<CommandResult> {
  if (flags.format !== "jsonl" && flags.format !== "text")
    throw new UsageError(`--format: "${flags.format}" is not one of jsonl, text`);
  if (flags.interval < 1) throw new UsageError("--interval must be at least 1ms");
  if (flags.alertTimeout < 1) throw new UsageError("--alert-timeout must be at least 1ms");
  const rules = await loadRules(flags.rules);
  const secret = flags.alertSecret ?? ctx.env[ALERT_SECRET_ENV];
  registerSecret(secret);
  if (secret !== undefined && secret.trim() === "")
    throw new UsageError(`--alert-secret (or ${ALERT_SECRET_ENV}): must not be empty`);
  const options: DeliveryOptions = {
    attempts: flags.alertAttempts,
    backoffMs: flags.alertBackoff,
    timeoutMs: flags.alertTimeout,
    ...(secret !== undefined ? { secret } : {}),
    // The run's environment (main's `env`), not the process's: an in-process run sees only its own.
    env: ctx.env,
  };
  const destinations: Destination[] = [];
  const hooks: Array<[flag: string, url: string, flavour: "json" | "slack"]> = [
    ...(flags.alertWebhook ?? []).map((u): [string, string, "json"] => ["--alert-webhook", u, "json"]),
    ...(flags.alertSlack ?? []).map((u): [string, string, "slack"] => ["--alert-slack", u, "slack"]),
  ];
  for (const [flag, url, flavour] of hooks) {
    const problem = webhookUrlProblem(url, flavour, "--alert-secret");
    if (problem !== undefined) throw new UsageError(`${flag}: ${problem}`);
    destinations.push(webhookDestination(url, flavour, options));
  }
  for (const cmd of flags.alertExec ?? []) {
    if (cmd.trim() === "") throw new UsageError("--alert-exec: the command is empty");
    destinations.push(execDestination(cmd, options));
  }
  const window = resolveWindow(flags, ctx.clock.now());
  const client = await ctx.client(flags);
  if (flags.destinationCheck) {
    const problems = await Promise.all(hooks.map(([, url]) => checkWebhook(url, options.timeoutMs)));
    problems.forEach((problem, i) => {
      if (problem === undefined) return;
      const [flag, url] = hooks[i] as [string, string, string];
      const shown = flag === "--alert-slack" ? new URL(url).origin : redactUrl(url);
      throw new UsageError(
        `${flag}: ${shown}: ${problem} (start it, fix the URL, or pass --no-destination-check)`,
      );
    });
  }
  const checkpoint = flags.checkpoint;
  // Every file watch may write, checked before the first request (packages/client/src/state/outputPath.ts).
  if (checkpoint !== undefined) {
    await checkOutputPath("--checkpoint", checkpoint);
    await checkRegularOrAbsent("--checkpoint", `${checkpoint}.delivered`);
  }
  const deadLetterPath =
    flags.deadLetter ??
    (checkpoint ? `${checkpoint}.dead-letter.jsonl` : "clarifai-audit-watch.dead-letter.jsonl");
  if (flags.deadLetter !== undefined) await checkOutputPath("--dead-letter", deadLetterPath);
  else await checkRegularOrAbsent("--dead-letter", deadLetterPath);
  // Held for the whole life of the watch: a second watch of the checkpoint is refused at once.
  if (checkpoint !== undefined) await ctx.lock("--checkpoint", checkpoint);
  // A delivery in flight ends at once on SIGINT/SIGTERM (its alert goes to the dead-letter file).
  options.signal = ctx.signal;
  const queryId = JSON.stringify(resumeIdentity(client, { lookbackMs: flags.lookback }));
  const saved = checkpoint ? await readWatchCheckpoint(checkpoint, queryId) : undefined;
  const start = window.from ?? nowTs();
  const poll: PollState = saved?.poll ?? { start, position: start, seen: new Map() };
  const evaluator = new Evaluator(rules, saved?.rules);
  const journal = checkpoint ? new DeliveryJournal(`${checkpoint}.delivered`) : undefined;
  await journal?.load().catch((error: unknown) => {
    if (error instanceof StateFileError) throw new UsageError(`--checkpoint: ${error.message}`);
    throw error;
  });
  const deadLetter = new DeadLetter(deadLetterPath);
  const dispatcher = new Dispatcher(
    ctx.io.stdout,
    flags.format as AlertFormat,
    destinations,
    options,
    deadLetter,
    journal,
    (line) => ctx.say(line),
  );
  const info = (line: string) => {
    if (!flags.quiet) ctx.say(line);
  };
  info(
    `watch ${saved ? "resuming" : "starting"} at ${formatTs(poll.position)} (UTC): ${rules.length} rules, ${
      destinations.length
    } destination(s)${saved?.outbox.length ? `, ${saved.outbox.length} alert(s) to finish delivering` : ""}`,
  );
  for (const id of evaluator.reset)
    info(`watch: rule ${id} changed since the checkpoint; its state starts afresh`);
  const lookbackNs = BigInt(flags.lookback) * 1_000_000n;
  let outboxWritten = saved?.outbox.length ?? 0;
  let written = false;
  const save = async (outbox: Alert[], at: PollState = poll): Promise<void> => {
    if (checkpoint === undefined) return;
    const state: WatchState = { poll: at, rules: evaluator.snapshot(), outbox };
    await writeWatchCheckpoint(checkpoint, queryId, state);
    // The journal only matters for alerts of the checkpoint's outbox, none of which is sent yet.
    await journal?.clear();
    outboxWritten = outbox.length;
    written = true;
  };
  // Alerts of the last run's checkpoint not yet delivered everywhere come first.
  await Promise.all((saved?.outbox ?? []).map((alert) => dispatcher.deliver(alert)));
  const onPage = async (batch: PollBatch): Promise<void> => {
    const alerts: Alert[] = [];
    for (const f of batch.entries) {
      for (const a of evaluator.evaluate({ json: JSON.parse(f.line), line: f.line })) alerts.push(a);
    }
    evaluator.prune(tsToNs(batch.cursor.position));
    // The page's poll state goes into the checkpoint with its alerts; acknowledged once written.
    if (batch.entries.length > 0 || alerts.length > 0) await save(alerts, batch.cursor);
    batch.ack();
    await Promise.all(alerts.map((alert) => dispatcher.deliver(alert)));
  };
  const source = followPoll({
    client,
    state: poll,
    lookbackNs,
    perPage: flags.perPage,
    follow: flags.once !== true,
    intervalMs: flags.interval,
    clock: ctx.clock,
    signal: ctx.signal,
  });
  try {
    for await (const event of source) {
      if (event.kind === "page") await onPage(event);
      // Nothing to write after a quiet poll, unless an outbox is on disk (now delivered) or no file yet.
      else if (outboxWritten > 0 || !written) await save([]);
    }
  } catch (error) {
    if (!ctx.signal.aborted) throw error;
  }
  return {
    ...(flags.quiet
      ? {}
      : { summary: `watch: ${dispatcher.alerts} alert(s), ${dispatcher.deadLettered} dead-lettered` }),
    figures: {
      alerts: dispatcher.alerts,
      deadLettered: dispatcher.deadLettered,
      ...requestFigures(client.stats()),
    },
    ...(dispatcher.deadLettered > 0
      ? {
          failure: new UndeliveredError(
            `watch: ${dispatcher.deadLettered} alert delivery(ies) failed; written to ${deadLetter.path}`,
          ),
        }
      : {}),
  };
}
