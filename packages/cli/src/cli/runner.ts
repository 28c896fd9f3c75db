/**
 * The one command runner: every command (search, export, tail, sync, query, watch, rules, report,
 * emulator) is a definition — its flags and a `run(ctx, …)` that composes library parts — and this
 * module owns the lifecycle around it, the same for all:
 * - the AbortController and the signals (the first SIGINT/SIGTERM aborts `ctx.signal`, a second one
 *   ends the run with 130 at once: packages/cli/src/cli/interrupt.ts);
 * - what is held for the command's whole life and released on every path: the state-file locks
 *   (`ctx.lock`), the client (`ctx.client`), the progress bar (`ctx.progress`), anything `ctx.defer`s;
 * - the memory settings (`ctx.tuneMemory`);
 * - the summary line, and with `--json` one JSON object on stderr for scripts ({@link JsonSummary});
 * - the mapping of a thrown error to its one line and exit code (packages/cli/src/cli/exitCodes.ts);
 * - stdout's EPIPE (a reader that went away ends the run with 0) and stdout's other errors.
 *
 * It loads nothing but this file: the client, the exporter and the error reporting load with the
 * command that needs them, so `--help` and usage errors stay fast (test/cli/startup.test.ts).
 */
import type { AuditLogClient } from "@clarifai-audit/client/internal/client/client.js";
import { type Clock, systemClock } from "@clarifai-audit/client/internal/domain/clock.js";
import type { CliEnv, CliIo } from "./cliIo.js";
import type { ExportMemory, MemoryMode } from "./exportMemory.js";
import { abortOnSignals } from "./interrupt.js";
import type { ProgressView } from "./progress.js";
import type { ConnectionFlags } from "./queryOptions.js";

/**
 * What a command's `run` returns: its summary line (printed on stderr unless undefined, e.g. under
 * --quiet) and the figures of that line for `--json`. `failure` is an error to end with after the
 * summary was printed (watch's undelivered alerts); `exitCode` a code to end with without a line.
 */
export interface CommandResult {
  summary?: string;
  figures?: Record<string, unknown>;
  failure?: unknown;
  exitCode?: number;
}

/**
 * The `--json` object, one line on stderr after everything else the command printed:
 * `{"command":"export","exitCode":0,…figures}`; on failure `"error"` holds the error line's message.
 * Figures are the numbers of the command's summary line (entries, pages, requests, …).
 */
export type JsonSummary = { command: string; exitCode: number; error?: string } & Record<string, unknown>;

/** What a command's `run` is given. */
export interface CommandContext {
  readonly io: CliIo;
  readonly env: CliEnv;
  /** Aborted by the first SIGINT/SIGTERM. */
  readonly signal: AbortSignal;
  /** The signal that aborted {@link signal}, if one did. */
  readonly stoppedBy: NodeJS.Signals | undefined;
  /** The program's version (`report` prints it on the page). */
  readonly version: string;
  /**
   * What the command waits with (the pause between polls of tail, watch and sync --follow): its
   * sleep ends early, without an error, when {@link signal} aborts.
   */
  readonly clock: Clock;
  /**
   * Whether `-v/--verbose` was given: every client of the run then says one line per request on
   * stderr (packages/cli/src/cli/requestLog.ts), and the progress bar gives way to those lines.
   */
  readonly verbose: boolean;
  /** Writes an informational line on stderr. */
  say(line: string): void;
  /**
   * A client from the connection flags, the run's environment and the profile (flag > environment >
   * profile > default: packages/cli/src/cli/options/resolve.ts), closed when the run ends.
   */
  client(flags: ConnectionFlags, defaults?: { maxAttempts?: number }): Promise<AuditLogClient>;
  /** Checks a state file and takes its lock (packages/cli/src/cli/statePaths.ts), held until the run ends. */
  lock(flag: string, path: string): Promise<void>;
  /** The TTY progress bar on stderr (a no-op elsewhere or when not `enabled`), stopped when the run ends. */
  progress(enabled: boolean): Promise<ProgressView>;
  /** Tunes V8 for a long stream of short-lived entries (packages/cli/src/cli/exportMemory.ts). */
  tuneMemory(mode: MemoryMode): Promise<ExportMemory>;
  /** Runs `cleanup` when the run ends, whatever the path (last deferred, first run). */
  defer(cleanup: () => unknown): void;
}

/** What every run shares: the streams, the environment and the version. */
export interface RunnerSetup {
  io: CliIo;
  env: CliEnv;
  version: string;
  /** Default: the system clock. */
  clock?: Clock;
}

/** Options of one command's lifecycle. */
export interface RunOptions {
  /** The command's name as typed (`rules test`), for `--json`. */
  command: string;
  /** Whether `--json` was given. */
  json?: boolean;
  /** Whether `-v/--verbose` was given (see {@link CommandContext.verbose}). */
  verbose?: boolean;
  /**
   * Load the error reporting (and register the environment's secrets) before running: every command
   * that talks to the API does; `query` reads a local lake and loads it only to report an error.
   */
  secrets?: boolean;
  /**
   * Whether the command stops cleanly on `ctx.signal` (the default). One that has nothing to save
   * (query, rules) ends with 130 at the first signal instead.
   */
  graceful?: boolean;
}

type ErrorReporting = typeof import("./exitCodes.js");

/**
 * Runs one command: sets up the context, runs `body`, prints the summary and `--json`, releases what
 * was held and returns the exit code (never throws, never exits the process).
 */
export async function runCommand(
  setup: RunnerSetup,
  options: RunOptions,
  body: (ctx: CommandContext) => Promise<CommandResult | undefined>,
): Promise<number> {
  const { io, env } = setup;
  const controller = new AbortController();
  let stoppedBy: NodeJS.Signals | undefined;
  const onStop = (signal: NodeJS.Signals) => () => {
    stoppedBy ??= signal;
  };
  const noteInt = onStop("SIGINT");
  const noteTerm = onStop("SIGTERM");
  process.prependListener("SIGINT", noteInt);
  process.prependListener("SIGTERM", noteTerm);
  // Ends the run before the body does: a second signal, the stop grace, stdout gone.
  let forceExit: (code: number) => void = () => {};
  const forced = new Promise<number>((resolve) => {
    forceExit = resolve;
  });
  const removeSignalHandlers = abortOnSignals(
    controller,
    forceExit,
    (line) => io.stderr.write(line),
    options.graceful ?? true,
  );
  let reporting: ErrorReporting | undefined;
  const loadReporting = async (): Promise<ErrorReporting> => {
    reporting ??= await import("./exitCodes.js");
    return reporting;
  };
  /** Prints the error's one line (`seen` is shown it too) and returns its exit code. */
  const report = async (error: unknown, seen: (line: string) => void = () => {}): Promise<number> => {
    const stderr = {
      write: (line: string) => {
        seen(line);
        return io.stderr.write(line);
      },
    };
    try {
      return (await loadReporting()).reportError(error, env, stderr);
    } catch (loadError) {
      io.stderr.write(`clarifai-audit: error: cannot load the error reporting: ${String(loadError)}\n`);
      return 1;
    }
  };
  // A reader of stdout that goes away (`… | head -1`) is the normal end of a pipeline: exit 0.
  const onStdoutError = (error: NodeJS.ErrnoException) => {
    controller.abort();
    if (error.code === "EPIPE") forceExit(0);
    else void report(error).then(forceExit);
  };
  io.stdout.on("error", onStdoutError);
  const cleanups: (() => unknown)[] = [];
  const ctx: CommandContext = {
    io,
    env,
    signal: controller.signal,
    get stoppedBy() {
      return stoppedBy;
    },
    version: setup.version,
    clock: setup.clock ?? systemClock,
    verbose: options.verbose === true,
    say: (line) => {
      io.stderr.write(`${line}\n`);
    },
    async client(flags, defaults = {}) {
      const { clientFromFlags } = await import("./queryOptions.js");
      const onRequest = options.verbose
        ? (await import("./requestLog.js")).requestLogger(ctx.say)
        : undefined;
      const client = await clientFromFlags({ ...defaults, ...flags }, env, {
        warn: (line) => io.stderr.write(`clarifai-audit: warning: ${line}\n`),
        signal: controller.signal,
        ...(onRequest !== undefined ? { onRequest } : {}),
      });
      cleanups.push(() => client.close());
      return client;
    },
    async lock(flag, path) {
      const { lockStatePath } = await import("./statePaths.js");
      const held = await lockStatePath(flag, path);
      cleanups.push(() => held.release());
    },
    async progress(enabled) {
      const { progressView } = await import("./progress.js");
      // Drawn only when stderr is a terminal (a tty.WriteStream, or a test's stream that says it is one).
      // With --verbose the request lines are the progress: a bar redrawn over them would garble both.
      const view = progressView(enabled && !options.verbose, io.stderr);
      cleanups.push(() => view.stop());
      return view;
    },
    async tuneMemory(mode) {
      return (await import("./exportMemory.js")).tuneMemoryForExport(mode);
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
  };
  const work = (async (): Promise<number> => {
    let result: CommandResult | undefined;
    let failed = false;
    let failure: unknown;
    try {
      if (options.secrets) (await loadReporting()).registerEnvironmentSecrets(env);
      result = await body(ctx);
      if (result?.failure !== undefined) [failed, failure] = [true, result.failure];
    } catch (error) {
      [failed, failure] = [true, error];
    }
    // Released before the summary: a lock is free once the line saying the work is done is printed.
    const released = await releaseAll(cleanups);
    if (!failed && released.failed) [failed, failure] = [true, released.error];
    if (result?.summary !== undefined) ctx.say(result.summary);
    let code = result?.exitCode ?? 0;
    let errorLine: string | undefined;
    if (failed) {
      code = await report(failure, (line) => {
        errorLine = line;
      });
    }
    if (options.json) {
      const summary: JsonSummary = {
        command: options.command,
        exitCode: code,
        ...(result?.figures ?? {}),
        ...(errorLine !== undefined
          ? { error: errorLine.replace(/^clarifai-audit: (error: )?/, "").trim() }
          : {}),
      };
      io.stderr.write(`${JSON.stringify(summary)}\n`);
    }
    return code;
  })();
  try {
    return await Promise.race([work, forced]);
  } finally {
    removeSignalHandlers();
    process.off("SIGINT", noteInt);
    process.off("SIGTERM", noteTerm);
    io.stdout.off("error", onStdoutError);
  }
}

/** Runs every cleanup, last first; says whether one threw, and the first error thrown. */
async function releaseAll(cleanups: (() => unknown)[]): Promise<{ failed: boolean; error?: unknown }> {
  let failed = false;
  let first: unknown;
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (error) {
      if (!failed) [failed, first] = [true, error];
    }
  }
  return { failed, error: first };
}
