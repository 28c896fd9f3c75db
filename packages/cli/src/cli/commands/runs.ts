/**
 * How a command definition hands its work to the runner: `runs.action(options, body)` is the
 * commander action of every command (packages/cli/src/cli/runner.ts owns what happens around `body`), and the exit
 * code of the run is kept for packages/cli/src/cli/cli.ts's `main` to return.
 */
import {
  type CommandContext,
  type CommandResult,
  type RunnerSetup,
  type RunOptions,
  runCommand,
} from "../runner.js";

/** A command's work: what it does with the runner's context. */
export type CommandBody = (ctx: CommandContext) => Promise<CommandResult | undefined>;

/** The runs of one program: its setup, and the exit code of the command that ran. */
export class CommandRuns {
  /** The exit code of the last command run (0 when none ran: --help, --version). */
  exitCode = 0;
  /** Whether the command about to run was given `-v/--verbose` (set by the program before its action). */
  verbose = false;

  constructor(readonly setup: RunnerSetup) {}

  /** Runs `body` through the runner and keeps its exit code. */
  async run(options: RunOptions, body: CommandBody): Promise<void> {
    this.exitCode = await runCommand(this.setup, { verbose: this.verbose, ...options }, body);
  }
}
