/** The definition of `export`: its flags; the work is packages/cli/src/cli/exportCommand.ts's. */

import { EXPORT_MAX_ATTEMPTS, MAX_PER_PAGE } from "@clarifai-audit/client/internal/domain/limits.js";
import type { Command } from "commander";
import { collect } from "../duration.js";
import type { ExportFlags } from "../exportCommand.js";
import {
  addConnectionOptions,
  addFilterOptions,
  addOutputOptions,
  addWalkOptions,
  FILE_FORMATS,
  formatOption,
  memoryOption,
  settleOption,
} from "../sharedFlags.js";
import type { CommandRuns } from "./runs.js";

/** Registers `export`. */
export function defineExport(program: Command, runs: CommandRuns): Command {
  const cmd = program
    .command("export")
    .description(
      "Export a pinned window of the audit log to a file: parallel, ordered, deduplicated, resumable.",
    )
    .requiredOption(
      "--out <file>",
      "output file; .gz compresses; FILE.partial and FILE.manifest.json live beside it; - writes to stdout (not resumable; ./- for a file named -)",
    )
    .addOption(
      formatOption(
        FILE_FORMATS,
        "the output's format (default: from the file name (.ocsf.jsonl: ocsf), else jsonl; stdout: jsonl; ocsf: OCSF 1.8 events as JSON lines)",
      ),
    )
    .addOption(settleOption());
  addWalkOptions(cmd, {
    concurrency: true,
    perPage: { default: MAX_PER_PAGE },
    commitInterval: ["how often progress is made durable in the manifest (0 = every page)", 1000],
  })
    .addOption(
      memoryOption(
        "lean: tune V8's garbage collector for a small, steady footprint; fast: V8's defaults (more RSS, a little less CPU)",
      ),
    )
    .option("--resume", "continue the interrupted export of FILE (same query required; not with --out -)")
    .option("--force", "overwrite FILE, or discard an interrupted export of it")
    .option(
      "--sign <key>",
      "sign each commit with this Ed25519 private key (keys generate): a digest per commit in FILE.digests/; two keys while changing keys; repeatable; not with csv or --out -",
      collect,
    )
    .option(
      "--tsa <url>",
      "a time-stamping authority (RFC 3161): each digest carries its token; needs --sign",
    );
  addOutputOptions(cmd, { quiet: true });
  addFilterOptions(cmd);
  addConnectionOptions(cmd, { maxAttempts: EXPORT_MAX_ATTEMPTS });
  return cmd.action((flags: ExportFlags) =>
    runs.run({ command: "export", json: flags.json, secrets: true }, async (ctx) =>
      (await import("../exportCommand.js")).runExportCommand(ctx, flags),
    ),
  );
}
