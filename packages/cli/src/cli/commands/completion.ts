/** The definition of `completion`: the work is packages/cli/src/cli/completion/completionCommand.ts's. */
import { Argument, type Command } from "commander";
import { SHELLS } from "../completion/model.js";
import { verboseOption } from "../sharedFlags.js";
import type { CommandRuns } from "./runs.js";

/** Registers `completion`; the script is generated from `program`'s definitions when it runs. */
export function defineCompletion(program: Command, runs: CommandRuns): Command {
  return program
    .command("completion")
    .description(
      "Print the shell completion script of clarifai-audit for bash, zsh or fish (commands, flags, formats, operation names, profile names); it makes no request.",
    )
    .addArgument(new Argument("<shell>", "the shell to complete in").choices(SHELLS))
    .addOption(
      verboseOption("accepted as everywhere; completion makes no request and prints only the script"),
    )
    .action((shell: string) =>
      runs.run({ command: "completion", graceful: false }, async (ctx) =>
        (await import("../completion/completionCommand.js")).runCompletion(ctx, program, shell),
      ),
    );
}
