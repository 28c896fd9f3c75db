/**
 * `clarifai-audit keys generate --out KEY`: a new Ed25519 signing key, written atomically as KEY
 * (PKCS#8 PEM, mode 0600 from its creation) and KEY.pub (SPKI PEM); its key id on stdout. An
 * existing key is replaced only with --force, and only a regular file.
 */
import { generateSigningKey } from "@clarifai-audit/client/internal/digest/keys.js";
import { pathExists, writeFileAtomic } from "@clarifai-audit/client/internal/state/durableFile.js";
import { checkOutputPath } from "@clarifai-audit/client/internal/state/outputPath.js";
import { UsageError } from "./exitCodes.js";
import type { CommandContext, CommandResult } from "./runner.js";

/** The flags of `keys generate`. */
export interface KeysGenerateFlags {
  out: string;
  force?: boolean;
  json?: boolean;
}

/** Runs `keys generate`. */
export async function runKeysGenerate(ctx: CommandContext, flags: KeysGenerateFlags): Promise<CommandResult> {
  const key = flags.out;
  const pub = `${key}.pub`;
  for (const path of [key, pub]) {
    // A file name in a writable folder, absent or a regular file (a link is never written through).
    await checkOutputPath("out", path);
    if (!flags.force && (await pathExists(path)))
      throw new UsageError(
        `--out: ${path} exists; a key is not replaced without --force (its signed logs need it)`,
      );
  }
  const made = generateSigningKey();
  await writeFileAtomic(key, made.privatePem, 0o600);
  await writeFileAtomic(pub, made.publicPem, 0o644);
  ctx.io.stdout.write(`${made.keyId}\n`);
  return {
    summary: `keys generate: wrote ${key} (private, mode 0600) and ${pub}; key id ${made.keyId}`,
    figures: { keyId: made.keyId, key, publicKey: pub },
  };
}
