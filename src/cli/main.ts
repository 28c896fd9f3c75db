#!/usr/bin/env node
/**
 * `clarifai-audit`: search, export, tail, report and the local emulator. The subcommands are declared from
 * src/cli/commands.ts and src/emulator/command.ts, which load nothing but commander; each action
 * imports its implementation when it runs. This file owns only the program and the top-level error exit.
 */
import "./warnings.js";
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { redact } from "../domain/redact.js";
import { registerEmulatorCommand } from "../emulator/command.js";
import {
  registerExportCommand,
  registerQueryCommand,
  registerReportCommand,
  registerRulesCommand,
  registerSearchCommand,
  registerSyncCommand,
  registerTailCommand,
  registerWatchCommand,
} from "./commands.js";
import { exitOnEpipe, ignoreEpipe } from "./epipe.js";

type ErrorReporting = typeof import("./exitCodes.js");

// exitCodes.js knows the client's and the exporter's error classes, so importing it loads both: it is
// imported before a client command's action runs, or when an error is to be reported — never for
// --help or --version.
let errorReporting: ErrorReporting | undefined;
async function loadErrorReporting(): Promise<ErrorReporting> {
  if (errorReporting === undefined) errorReporting = await import("./exitCodes.js");
  return errorReporting;
}

/** Prints the one-line report of `error` and exits with its code (at once when the reporting is loaded). */
function exitOnError(error: unknown): void {
  if (errorReporting !== undefined) process.exit(errorReporting.reportError(error));
  loadErrorReporting().then(
    (reporting) => process.exit(reporting.reportError(error)),
    (loadError: unknown) => {
      process.stderr.write(`clarifai-audit: error: cannot load the error reporting: ${String(loadError)}\n`);
      process.exit(1);
    },
  );
}

// `… | head -1`: a quiet exit 0 for every command (src/cli/epipe.ts).
exitOnEpipe(process.stdout);
ignoreEpipe(process.stderr);

// The last line of defence of the redaction layer: every line on stderr (ours, a dependency's
// warning, a destination's name that quotes a command) has the known secrets and URL credentials
// removed. Not stdout: that is data, and exact.
const writeStderr = process.stderr.write.bind(process.stderr) as (...args: unknown[]) => boolean;
process.stderr.write = ((chunk: unknown, ...rest: unknown[]) =>
  writeStderr(typeof chunk === "string" ? redact(chunk) : chunk, ...rest)) as typeof process.stderr.write;

// No stack trace, ever: anything that escapes becomes the one-line report and its exit code.
process.on("uncaughtException", exitOnError);
process.on("unhandledRejection", exitOnError);

// The CLI always runs built: dist/src/cli/main.js, and the bundled bin beside it
// (clarifai-audit.mjs), are three levels below the package root.
const { version } = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

// Commander's own messages (bad flags), held until the error reporting is loaded to print them.
const usageMessages: [text: string, write: (text: string) => void][] = [];

const program = new Command("clarifai-audit")
  .version(version)
  .description(
    "Search, export, tail and sync Clarifai audit logs (to a Parquet lake or PostgreSQL), query the lake, watch them with detection rules (rules checks and backtests them), report on them; run a local audit-log emulator.",
  )
  .showHelpAfterError(false)
  // Usage errors exit 2 with one line; inherited by the subcommands registered below.
  .exitOverride()
  .configureOutput({ outputError: (text, write) => usageMessages.push([text, write]) });

for (const command of [
  registerSearchCommand(program),
  registerExportCommand(program),
  registerTailCommand(program),
  registerSyncCommand(program),
  registerWatchCommand(program),
  ...registerRulesCommand(program),
  registerReportCommand(program),
]) {
  // Their implementations load the reporting anyway; loaded first, it reports what escapes at once.
  command.hook("preAction", async () => {
    (await loadErrorReporting()).registerEnvironmentSecrets();
  });
}
registerEmulatorCommand(program);
// Reads a local lake only: the client that the error reporting loads would be dead weight.
registerQueryCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // --help and --version end here.
  if (error instanceof CommanderError && error.exitCode === 0) process.exit(0);
  const { oneLine } = await loadErrorReporting();
  for (const [text, write] of usageMessages) write(`clarifai-audit: ${oneLine(text)}\n`);
  exitOnError(error);
}
