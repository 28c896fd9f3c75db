#!/usr/bin/env node
/**
 * `clarifai-audit`: search, export, tail and the local emulator. Each subcommand lives in its own
 * module and registers itself here; this file owns only the program and the top-level error exit.
 */
import { Command } from "commander";
import { registerEmulatorCommand } from "../emulator/command.js";
import { oneLine, reportError } from "./exitCodes.js";
import { registerExportCommand } from "./exportCommand.js";
import { registerSearchCommand } from "./searchCommand.js";
import { registerTailCommand } from "./tailCommand.js";

// No stack trace, ever: anything that escapes becomes the one-line report and its exit code.
process.on("uncaughtException", (error) => process.exit(reportError(error)));
process.on("unhandledRejection", (error) => process.exit(reportError(error)));

const program = new Command("clarifai-audit")
  .description("Search, export and follow Clarifai audit logs; run a local audit-log emulator.")
  .showHelpAfterError(false)
  // Usage errors exit 2 with one line; inherited by the subcommands registered below.
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(`clarifai-audit: ${oneLine(text)}\n`) });

registerSearchCommand(program);
registerExportCommand(program);
registerTailCommand(program);
registerEmulatorCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exit(reportError(error));
}
