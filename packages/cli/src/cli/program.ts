/**
 * The whole `clarifai-audit` program, built without running it: {@link buildProgram} declares every
 * command from its definition (src/cli/commands/*.ts, packages/cli/src/cli/emulatorCommand.ts), each loading nothing
 * but commander; a command's work is imported when it runs. packages/cli/src/cli/cli.ts's `main` parses with it;
 * the docs generator reads the definitions from it.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Clock } from "@clarifai-audit/client/internal/domain/clock.js";
import { Command } from "commander";
import { type CliEnv, type CliIo, processIo } from "./cliIo.js";
import { defineCompletion } from "./commands/completion.js";
import { defineConfig } from "./commands/config.js";
import { defineExport } from "./commands/export.js";
import { defineKeys } from "./commands/keys.js";
import { defineQuery } from "./commands/query.js";
import { defineReport } from "./commands/report.js";
import { defineRules } from "./commands/rules.js";
import { defineRun } from "./commands/run.js";
import { CommandRuns } from "./commands/runs.js";
import { defineSearch } from "./commands/search.js";
import { defineSync } from "./commands/sync.js";
import { defineTail } from "./commands/tail.js";
import { defineVerify } from "./commands/verify.js";
import { defineWatch } from "./commands/watch.js";
import { registerEmulatorCommand } from "./emulatorCommand.js";
import { addVerboseEverywhere } from "./sharedFlags.js";

/**
 * The package's version, from the nearest package.json above this module: src/cli/ in the sources,
 * dist/src/cli/ built, and the bundled bin beside it.
 */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = join(dir, "package.json");
    if (existsSync(file)) return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
    const up = dirname(dir);
    if (up === dir) return "0.0.0";
    dir = up;
  }
}

/**
 * A terminal's width, as commander asks it; elsewhere undefined, for commander's default width (its
 * own default does the same with process.stdout, though its type says a number).
 */
function terminalColumns(stream: { isTTY?: boolean; columns?: number }): number {
  return (stream.isTTY ? stream.columns : undefined) as number;
}

/** What a program built by {@link buildProgram} writes to and runs with. */
export interface ProgramSetup {
  io: CliIo;
  env: CliEnv;
  /** Commander's own messages (bad flags), held for the caller to print in the CLI's words. */
  usageMessages: string[];
  /** What commands wait with (default: the system clock): a test may drive it. */
  clock?: Clock;
}

/**
 * Builds the whole commander program without running it. With no `setup`, it is bound to the
 * process's streams and environment (what a docs generator needs: only the definitions). The
 * returned `runs` holds the exit code of the command that ran.
 */
export function buildProgram(
  setup: ProgramSetup = { io: processIo(), env: process.env, usageMessages: [] },
): { program: Command; runs: CommandRuns } {
  const version = packageVersion();
  const runs = new CommandRuns({
    io: setup.io,
    env: setup.env,
    version,
    ...(setup.clock !== undefined ? { clock: setup.clock } : {}),
  });
  const program = new Command("clarifai-audit")
    .version(version)
    .description(
      "Search, export, tail and sync Clarifai audit logs (to a Parquet lake or PostgreSQL), query the lake, watch them with detection rules (rules checks and backtests them), report on them; run a local audit-log emulator.",
    )
    .showHelpAfterError(false)
    // Usage errors end with exit 2 and one line; inherited by the subcommands defined below.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => setup.io.stdout.write(text),
      writeErr: (text) => setup.io.stderr.write(text),
      getOutHelpWidth: () => terminalColumns(setup.io.stdout),
      getErrHelpWidth: () => terminalColumns(setup.io.stderr),
      outputError: (text) => setup.usageMessages.push(text),
    });
  defineSearch(program, runs);
  defineExport(program, runs);
  defineTail(program, runs);
  defineSync(program, runs);
  defineWatch(program, runs);
  defineRun(program, runs);
  defineRules(program, runs);
  defineReport(program, runs);
  defineVerify(program, runs);
  defineKeys(program, runs);
  registerEmulatorCommand(program, (work, json) =>
    runs.run({ command: "emulator", json }, async (ctx) =>
      work({
        stdout: ctx.io.stdout,
        stderr: ctx.io.stderr,
        signal: ctx.signal,
        get stoppedBy() {
          return ctx.stoppedBy;
        },
      }),
    ),
  );
  defineQuery(program, runs);
  defineConfig(program, runs);
  defineCompletion(program, runs);
  addVerboseEverywhere(program, (verbose) => {
    runs.verbose = verbose;
  });
  return { program, runs };
}
