/**
 * `main(argv, env, io)`: one run of `clarifai-audit`, callable in-process. It parses `argv` (the
 * arguments after the program's name) with the program of packages/cli/src/cli/program.ts, runs the command
 * through the runner (packages/cli/src/cli/runner.ts) and returns the exit code; it never exits the process (the
 * bin, packages/cli/src/cli/main.ts, does). What it installs on the process or the streams — the stderr redaction,
 * the EPIPE handling of stderr, the last-resort handlers of uncaught errors — lasts only for the run.
 */

import type { Clock } from "@clarifai-audit/client/internal/domain/clock.js";
import { redact } from "@clarifai-audit/client/internal/domain/redact.js";
import { CommanderError } from "commander";
import { type CliEnv, type CliIo, processIo } from "./cliIo.js";
import { buildProgram } from "./program.js";

/**
 * Runs the CLI once with `argv` (e.g. `["search", "--all"]`), the environment `env` (what it would
 * read from process.env: CLARIFAI_PAT, CLARIFAI_USER_ID, …) and the streams `io`; resolves with the
 * exit code (packages/cli/src/cli/exitCodes.ts's EXIT). `options.clock` is what commands wait with (a test's clock).
 */
export async function main(
  argv: readonly string[],
  env: CliEnv = process.env,
  io: CliIo = processIo(),
  options: { clock?: Clock } = {},
): Promise<number> {
  const usageMessages: string[] = [];
  const { program, runs } = buildProgram({ io, env, usageMessages, ...options });
  const restoreStderr = redactStderr(io.stderr);
  // A stderr nobody reads any more: nothing can be said there, so its EPIPE is dropped and the
  // command ends with its own exit code (an unheard error report is no reason to crash instead).
  const onStderrError = (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE") crash(error);
  };
  io.stderr.on("error", onStderrError);
  // No stack trace, ever: anything that escapes becomes the one-line report and its exit code.
  let crash: (error: unknown) => void = () => {};
  const crashed = new Promise<number>((resolve) => {
    crash = (error) => {
      void reportError(error, env, io).then(resolve);
    };
  });
  process.on("uncaughtException", crash);
  process.on("unhandledRejection", crash);
  try {
    return await Promise.race([parse(), crashed]);
  } finally {
    process.off("uncaughtException", crash);
    process.off("unhandledRejection", crash);
    io.stderr.off("error", onStderrError);
    restoreStderr();
  }

  async function parse(): Promise<number> {
    try {
      await program.parseAsync(argv, { from: "user" });
      return runs.exitCode;
    } catch (error) {
      // --help and --version end here.
      if (error instanceof CommanderError && error.exitCode === 0) return 0;
      const { oneLine } = await import("./exitCodes.js");
      for (const text of usageMessages) io.stderr.write(`clarifai-audit: ${oneLine(text)}\n`);
      return reportError(error, env, io);
    }
  }
}

/** The error's one line on stderr (unless commander printed it) and its exit code. */
async function reportError(error: unknown, env: CliEnv, io: CliIo): Promise<number> {
  try {
    return (await import("./exitCodes.js")).reportError(error, env, io.stderr);
  } catch (loadError) {
    io.stderr.write(`clarifai-audit: error: cannot load the error reporting: ${String(loadError)}\n`);
    return 1;
  }
}

/**
 * The last line of defence of the redaction layer, for the run: every line on stderr (ours, a
 * dependency's warning, a destination's name that quotes a command) has the known secrets and URL
 * credentials removed. Not stdout: that is data, and exact. Returns the function that removes it.
 */
function redactStderr(stderr: CliIo["stderr"]): () => void {
  const own = Object.hasOwn(stderr, "write");
  const original = stderr.write;
  const write = original.bind(stderr) as (...args: unknown[]) => boolean;
  stderr.write = ((chunk: unknown, ...rest: unknown[]) =>
    write(typeof chunk === "string" ? redact(chunk) : chunk, ...rest)) as typeof stderr.write;
  return () => {
    if (own) stderr.write = original;
    else delete (stderr as { write?: unknown }).write;
  };
}
