/**
 * The definitions of `config list`, `config show` and `config check`; the work is
 * packages/cli/src/cli/configCommand.ts's (the config file: packages/cli/src/cli/options/).
 */
import type { Command } from "commander";
import type { ConnectionFlags } from "../queryOptions.js";
import { addConnectionOptions, addOutputOptions, verboseOption } from "../sharedFlags.js";
import type { CommandRuns } from "./runs.js";

const CONFIG_FILE_HELP = `
Config file: CLARIFAI_AUDIT_CONFIG, else $XDG_CONFIG_HOME/clarifai-audit/config.yaml (XDG_CONFIG_HOME
defaults to ~/.config). Each connection setting: flag, else environment, else the profile, else the
default. These commands make no request and write nothing; none prints a PAT.`;

/** `-v` on config's subcommands: accepted as on every command, but they make no request. */
const CONFIG_VERBOSE = "accepted as everywhere; config makes no request, so it adds nothing";

/** Registers `config` and its subcommands. */
export function defineConfig(program: Command, runs: CommandRuns): Command[] {
  const config = program
    .command("config")
    .description(
      "List, show and check the profiles of the config file (user id, endpoint, PAT source); no request, nothing written.",
    );
  const list = config
    .command("list")
    .description(
      "The profiles: name, * for the one in effect, user id, endpoint, PAT source (never the PAT).",
    )
    .addHelpText("after", CONFIG_FILE_HELP);
  // Not -q: -q means "only errors and warnings on stderr" on every command (docs/vocabulary.md).
  list.option(
    "--names",
    "profile names only, one per line (for shell completion; nothing when there is no config file)",
  );
  addOutputOptions(list, {});
  list.addOption(verboseOption(CONFIG_VERBOSE));
  list.action((flags: { names?: boolean; json?: boolean }) =>
    runs.run({ command: "config list", json: flags.json, secrets: true, graceful: false }, async (ctx) =>
      (await import("../configCommand.js")).runConfigList(ctx, flags),
    ),
  );
  const show = config
    .command("show")
    .description(
      "What a command given the same flags would connect with: each setting and where it comes from (flag, env, profile, default); the PAT only as set or not.",
    )
    .argument("[name]", "the profile (default: --profile, CLARIFAI_AUDIT_PROFILE, else default_profile)");
  addOutputOptions(show, {});
  addConnectionOptions(show).addHelpText("after", CONFIG_FILE_HELP);
  show.addOption(verboseOption(CONFIG_VERBOSE));
  show.action((name: string | undefined, flags: ConnectionFlags & { json?: boolean }) =>
    runs.run({ command: "config show", json: flags.json, secrets: true, graceful: false }, async (ctx) =>
      (await import("../configCommand.js")).runConfigShow(ctx, name, flags),
    ),
  );
  const check = config
    .command("check")
    .description(
      "Validate a config file: schema, modes, each pat_file (present, private); exit 0 when usable, else one line naming file, profile and key, exit 2. A FILE with accounts: is a collector config (run --config), checked as run checks it.",
    )
    .argument(
      "[file]",
      "the file (default: the config file this run would read); a collector config when its top level has accounts",
    )
    .option("--resolve", "also run each profile's PAT source and say whether it gave a PAT (never the PAT)")
    .addHelpText("after", CONFIG_FILE_HELP);
  addOutputOptions(check, {});
  check.addOption(verboseOption(CONFIG_VERBOSE));
  check.action((file: string | undefined, flags: { resolve?: boolean; json?: boolean }) =>
    runs.run({ command: "config check", json: flags.json, secrets: true, graceful: false }, async (ctx) =>
      (await import("../configCommand.js")).runConfigCheck(ctx, file, flags),
    ),
  );
  return [list, show, check];
}
