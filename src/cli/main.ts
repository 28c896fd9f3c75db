#!/usr/bin/env node
/**
 * `clarifai-audit`: search, export, tail and the local emulator. Each subcommand lives in its own
 * module and registers itself here; this file owns only the program and the top-level error exit.
 */
import { Command } from "commander";
import { registerEmulatorCommand } from "../emulator/command.js";
import { registerExportCommand } from "./exportCommand.js";
import { registerSearchCommand } from "./searchCommand.js";
import { registerTailCommand } from "./tailCommand.js";

const program = new Command("clarifai-audit")
  .description("Search, export and follow Clarifai audit logs; run a local audit-log emulator.")
  .showHelpAfterError(false);

registerSearchCommand(program);
registerExportCommand(program);
registerTailCommand(program);
registerEmulatorCommand(program);

await program.parseAsync(process.argv);
