#!/usr/bin/env node
/**
 * `clarifai-audit`: search, export, tail and the local emulator. Each subcommand lives in its own
 * module and registers itself here; this file owns only the program and the top-level error exit.
 */
import { readFileSync } from "node:fs";
import { Command } from "commander";
import { registerEmulatorCommand } from "../emulator/command.js";
import { oneLine, reportError } from "./exitCodes.js";
import { registerExportCommand } from "./exportCommand.js";
import { registerSearchCommand } from "./searchCommand.js";
import { registerTailCommand } from "./tailCommand.js";

// No stack trace, ever: anything that escapes becomes the one-line report and its exit code.
process.on("uncaughtException", (error) => process.exit(reportError(error)));
process.on("unhandledRejection", (error) => process.exit(reportError(error)));

// The CLI always runs built: dist/src/cli/main.js is three levels below the package root.
const { version } = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
  version: string;
};

const program = new Command("clarifai-audit")
  .version(version)
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
