/** The definition of `keys generate`: its flags; the work is packages/cli/src/cli/keysCommand.ts's. */
import type { Command } from "commander";
import type { KeysGenerateFlags } from "../keysCommand.js";
import { addConnectionOptions, addOutputOptions, refuseGroup, verboseOption } from "../sharedFlags.js";
import type { CommandRuns } from "./runs.js";

/** Registers `keys generate`. */
export function defineKeys(program: Command, runs: CommandRuns): Command[] {
  const keys = program.command("keys").description("Make the keys signed logs are signed with.");
  const generate = keys
    .command("generate")
    .description(
      "Write a new Ed25519 signing key (PKCS#8 PEM, mode 0600) and its public key KEY.pub (what verify --key takes); print its key id.",
    )
    .requiredOption("--out <file>", "the private key to write (KEY.pub is written beside it)")
    .option("--force", "replace an existing key (a regular file only)");
  addOutputOptions(generate, {}).addOption(
    verboseOption(
      "accepted as everywhere; keys generate writes two files and makes no request, so it adds nothing",
    ),
  );
  refuseGroup(
    generate,
    addConnectionOptions,
    "keys generate writes key files only; connection flags do not apply",
  );
  generate.action((flags: KeysGenerateFlags) =>
    runs.run({ command: "keys generate", json: flags.json, secrets: true, graceful: false }, async (ctx) =>
      (await import("../keysCommand.js")).runKeysGenerate(ctx, flags),
    ),
  );
  return [generate];
}
