/**
 * `clarifai-audit run --config FILE`: reads and checks the config file
 * (packages/cli/src/cli/collectorConfig/), starts the collector (packages/cli/src/collector/collector.ts) and
 * keeps it until SIGTERM/SIGINT (a drain: exit 0) or, with --once, until each account's round is done.
 * SIGHUP reads the file again: a valid one replaces the running plan, an invalid one is refused in one
 * log line and the running plan goes on.
 */

import { AuditUsageError } from "@clarifai-audit/client/internal/domain/errors.js";
import { DestinationOpenError } from "../collector/accountRunner.js";
import { Collector } from "../collector/collector.js";
import { type CollectorLog, createLogger, type LogFormat } from "../collector/ops/logger.js";
import { loadCollectorConfig } from "./collectorConfig/load.js";
import { errorLine, UsageError } from "./exitCodes.js";
import { requestLogger } from "./requestLog.js";
import type { CommandContext, CommandResult } from "./runner.js";

/** The flags of `run`, as commander parses them. */
export interface CollectorFlags {
  config: string;
  once?: boolean;
  logFormat: LogFormat;
  quiet?: boolean;
  json?: boolean;
}

/** Under -q, only warnings and errors. */
function quietened(log: CollectorLog, quiet: boolean | undefined): CollectorLog {
  return quiet ? { ...log, info: () => {} } : log;
}

/**
 * A destination's refusal (its lock held by another collector or sync, its state another log's) in
 * the config file's words: the destination's place in the file, then the problem, without the
 * option name (`--dest`) a store's refusal is given when `sync` reports it.
 */
function destinationRefusal(error: DestinationOpenError): UsageError {
  const cause = error.cause;
  const problem = cause instanceof AuditUsageError && cause.input === "store" ? cause.problem : error.message;
  return new UsageError(`${error.destination.where}: ${problem}`);
}

/** Runs `run` with its parsed flags (defined in packages/cli/src/cli/commands/run.ts). */
export async function runCollectorCommand(
  ctx: CommandContext,
  flags: CollectorFlags,
): Promise<CommandResult> {
  const plan = await loadCollectorConfig(flags.config, ctx.env);
  if (flags.once && plan.coordination !== undefined)
    throw new UsageError(
      "--once: not with `coordination` in the config file (instances share the accounts over time; run without --once)",
    );
  // As sync's default `--memory lean`: a steady heap of short-lived entries, with V8's GC tuned for
  // it (bench part 11: peak RSS of ten accounts × three destinations), checked after every page as
  // sync's is.
  const memory = await ctx.tuneMemory("lean");
  const log = quietened(
    createLogger({ format: flags.logFormat, write: (line) => ctx.io.stderr.write(line) }),
    flags.quiet,
  );
  let collector: Collector;
  try {
    collector = await Collector.start(plan, {
      env: ctx.env,
      onPage: () => memory.afterPage(),
      log,
      clock: ctx.clock,
      signal: ctx.signal,
      ...(flags.once ? { once: true } : {}),
      ...(ctx.verbose
        ? { onRequest: (account: string) => requestLogger((line) => log.info(line, { account })) }
        : {}),
    });
  } catch (error) {
    // A destination refused (its lock is held by another collector or sync, its state is another
    // log's): the file's own words, before any request.
    if (error instanceof DestinationOpenError) throw destinationRefusal(error);
    throw error;
  }
  // When the drain began, for whoever reads the log (a slow drain is then explained, and a second
  // signal is known to end it at once).
  const onStop = () =>
    log.info(
      `${ctx.stoppedBy ?? "stop"}: draining (each round in progress commits what it walked); a second signal ends at once`,
    );
  ctx.signal.addEventListener("abort", onStop, { once: true });
  ctx.defer(() => ctx.signal.removeEventListener("abort", onStop));
  let reloads = Promise.resolve();
  const onHangUp = () => {
    reloads = reloads.then(async () => {
      try {
        const next = await loadCollectorConfig(flags.config, ctx.env);
        await collector.reload(next);
        log.info(
          `reloaded ${next.file}: ${next.accounts.length} account(s), ${next.destinations.length} destination(s)`,
        );
      } catch (error) {
        const refusal = error instanceof DestinationOpenError ? destinationRefusal(error) : error;
        const line = errorLine(refusal).replace(/^clarifai-audit: (error: )?/, "");
        log.error(`reload refused: ${line}; the running configuration goes on`);
      }
    });
  };
  process.on("SIGHUP", onHangUp);
  ctx.defer(() => process.off("SIGHUP", onHangUp));
  log.info(
    `collector started: ${plan.accounts.length} account(s), ${plan.destinations.length} destination(s)${
      plan.coordination ? `, sharing accounts through ${plan.coordination.description}` : ""
    }`,
  );
  // A service waits on its leases and its next round; what it waits with (the coordinator's timers)
  // does not hold the process open on its own, so this does, until the drain.
  const alive = setInterval(() => {}, 1 << 30);
  ctx.defer(() => clearInterval(alive));
  await collector.wait();
  await reloads;
  const figures = collector.figures();
  // A --once run is a job (cron, a CI step): a destination left failing, or an account that could
  // not start, ends it with an error after the summary, not with 0.
  const failures = flags.once ? collector.failures() : [];
  return {
    ...(failures.length > 0
      ? {
          failure: new Error(
            `run --once: ${failures.length} failure(s), each retried by the next run: ${failures.join("; ")}`,
          ),
        }
      : {}),
    ...(flags.quiet
      ? {}
      : {
          summary: `run: ${figures.rounds} round(s) over ${figures.accounts} account(s): ${figures.inserted} entries stored across ${figures.destinations} destination(s), ${figures.requests} requests`,
        }),
    figures: { ...figures },
  };
}
