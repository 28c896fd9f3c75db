/** The definition of `verify`: its flags; the work is packages/cli/src/cli/verifyCommand.ts's. */
import type { Command } from "commander";
import { collect } from "../duration.js";
import { addConnectionOptions, addOutputOptions, refuseGroup, verboseOption } from "../sharedFlags.js";
import type { VerifyFlags } from "../verifyCommand.js";
import type { CommandRuns } from "./runs.js";

/** Registers `verify`. */
export function defineVerify(program: Command, runs: CommandRuns): Command {
  const cmd = program
    .command("verify")
    .description(
      "Verify a signed export or lake offline (signatures, the chain of digests, every file's hash, every Merkle root): exit 0 when whole, else one line naming the file, entry and what is wrong (exit 6); --entry proves single entries.",
    )
    .argument(
      "[path]",
      "the export file (its digests in PATH.digests/) or the lake folder (PATH/_clarifai_digests/)",
    )
    .requiredOption(
      "--key <file>",
      "a public key (KEY.pub of keys generate) the digests may be signed by; repeatable",
      collect,
    )
    .option(
      "--expect-head <hash>",
      "a digest hash given earlier: it must be one of the chain's (a dropped newest digest fails)",
    )
    .option(
      "--tsa-cert <file>",
      "a time-stamping authority's certificate (PEM): every digest must carry a valid RFC 3161 time-stamp; repeatable",
      collect,
    )
    .option(
      "--entry <line>",
      "an entry's line, exactly as stored: print and check its inclusion proof; repeatable",
      collect,
    )
    .option(
      "--entry-file <file>",
      "a file of entries' lines (one a line): print and check each one's inclusion proof",
    )
    .option(
      "--proof <file>",
      "check a saved inclusion proof (as --entry prints it) without the log: no PATH",
    );
  addOutputOptions(cmd, {}).addOption(
    verboseOption("accepted as everywhere; verify reads files and makes no request, so it adds nothing"),
  );
  refuseGroup(cmd, addConnectionOptions, "verify reads files only, offline; connection flags do not apply");
  return cmd.action((path: string | undefined, flags: VerifyFlags) =>
    runs.run({ command: "verify", json: flags.json, secrets: true, graceful: false }, async (ctx) =>
      (await import("../verifyCommand.js")).runVerify(ctx, path, flags),
    ),
  );
}
