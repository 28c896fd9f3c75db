/**
 * `clarifai-audit completion <shell>`: prints the completion script of the whole program, generated
 * from its definitions (packages/cli/src/cli/completion/model.ts), on stdout. It makes no request and
 * writes nothing else.
 */
import { OPERATIONS } from "@clarifai-audit/client/internal/domain/operations.js";
import type { Command } from "commander";
import type { CommandContext, CommandResult } from "../runner.js";
import { bashScript } from "./bash.js";
import { fishScript } from "./fish.js";
import { completionModel, type Shell } from "./model.js";
import { zshScript } from "./zsh.js";

const RENDERERS: Readonly<Record<Shell, typeof bashScript>> = {
  bash: bashScript,
  zsh: zshScript,
  fish: fishScript,
};

/** The completion script of `program` for `shell`. */
export function completionScript(program: Command, shell: Shell, version: string): string {
  return RENDERERS[shell](completionModel(program, [...OPERATIONS.keys()]), version);
}

/** Writes the script for `shell` (commander has checked it is one of SHELLS) on stdout. */
export async function runCompletion(
  ctx: CommandContext,
  program: Command,
  shell: string,
): Promise<CommandResult | undefined> {
  ctx.io.stdout.write(completionScript(program, shell as Shell, ctx.version));
  return undefined;
}
