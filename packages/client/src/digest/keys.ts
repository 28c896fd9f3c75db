/**
 * Signing keys of signed logs: Ed25519 (RFC 8032), a private key as PKCS#8 PEM, a public key as
 * SPKI PEM. A key's id is derived from its public key alone (the first 128 bits of SHA-256 over its
 * SPKI DER, hex), so a digest names the key it needs and an auditor can compare ids by eye.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { AuditUsageError } from "../domain/errors.js";
import { readRegularFile } from "../state/regularFile.js";
import { type DigestBody, type DigestSignature, digestBytes } from "./document.js";

/** A private key to sign digests with. */
export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Where it was read from, for messages. */
  source: string;
}

/** A public key to check signatures with. */
export interface VerifyingKey {
  keyId: string;
  publicKey: KeyObject;
  source: string;
}

/** Largest key file read. */
const MAX_KEY_BYTES = 16 * 1024;

/** The id of a public key: the first 128 bits of SHA-256 over its SPKI DER, hex. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("hex").slice(0, 32);
}

/** A new Ed25519 key pair: the private key as PKCS#8 PEM, the public key as SPKI PEM, and its id. */
export function generateSigningKey(): { privatePem: string; publicPem: string; keyId: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privatePem: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    publicPem: publicKey.export({ type: "spki", format: "pem" }) as string,
    keyId: keyIdOf(publicKey),
  };
}

/** A key file that cannot be used (`input`: the option that named it). */
export class SigningKeyError extends AuditUsageError {
  override name = "SigningKeyError";
}

async function readKeyFile(input: string, path: string, privateKey: boolean): Promise<string> {
  const fail = (problem: string) =>
    new SigningKeyError({ input, problem: `${path} ${problem}` }, `\`${input}\`: ${path} ${problem}`);
  const bytes = await readRegularFile(path, MAX_KEY_BYTES, fail, "a key file", (info) =>
    // A private key others can read is not private: refused as ssh refuses one.
    privateKey && (info.mode & 0o077) !== 0 && process.getuid?.() !== undefined
      ? `is readable by ${(info.mode & 0o070) !== 0 ? "its group" : "others"} (mode 0${(info.mode & 0o777).toString(8)}): a private key must be mode 0600; run chmod 600 on it`
      : undefined,
  );
  if (bytes === undefined) throw fail("does not exist");
  return bytes.toString("utf8");
}

/**
 * Reads the private key at `path` (option `input` named it).
 * @throws SigningKeyError when it is missing, readable by others, or not an Ed25519 private key.
 */
export async function readSigningKey(path: string, input = "sign"): Promise<SigningKey> {
  const text = await readKeyFile(input, path, true);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: text, format: "pem" });
  } catch {
    throw new SigningKeyError(
      { input, problem: `${path} is not a private key in PEM` },
      `\`${input}\`: ${path} is not a private key in PEM (make one with keys generate)`,
    );
  }
  if (privateKey.asymmetricKeyType !== "ed25519")
    throw new SigningKeyError(
      { input, problem: `${path} is a ${privateKey.asymmetricKeyType ?? "?"} key` },
      `\`${input}\`: ${path} is a ${privateKey.asymmetricKeyType ?? "?"} key; digests are signed with Ed25519 keys (make one with keys generate)`,
    );
  const publicKey = createPublicKey(privateKey);
  return { keyId: keyIdOf(publicKey), privateKey, publicKey, source: path };
}

/**
 * Reads the public key at `path` (SPKI PEM, as `KEY.pub`).
 * @throws SigningKeyError when it is missing or not an Ed25519 public key (a private key is refused:
 * an auditor is given the public key only).
 */
export async function readVerifyingKey(path: string, input = "key"): Promise<VerifyingKey> {
  const text = await readKeyFile(input, path, false);
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text))
    throw new SigningKeyError(
      { input, problem: `${path} is a private key` },
      `\`${input}\`: ${path} is a private key; verify takes the public key (KEY.pub)`,
    );
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: text, format: "pem" });
  } catch {
    throw new SigningKeyError(
      { input, problem: `${path} is not a public key in PEM` },
      `\`${input}\`: ${path} is not a public key in PEM (KEY.pub as keys generate writes it)`,
    );
  }
  if (publicKey.asymmetricKeyType !== "ed25519")
    throw new SigningKeyError(
      { input, problem: `${path} is a ${publicKey.asymmetricKeyType ?? "?"} key` },
      `\`${input}\`: ${path} is a ${publicKey.asymmetricKeyType ?? "?"} key; digests are signed with Ed25519 keys`,
    );
  return { keyId: keyIdOf(publicKey), publicKey, source: path };
}

/** Signs `body` with each key, in order. */
export function signDigest(body: DigestBody, keys: readonly SigningKey[]): DigestSignature[] {
  const bytes = digestBytes(body);
  return keys.map((k) => ({
    keyId: k.keyId,
    algorithm: "Ed25519" as const,
    signature: sign(null, bytes, k.privateKey).toString("base64"),
  }));
}

/** Whether `signature` is `key`'s over `body`. */
export function checkSignature(body: DigestBody, signature: DigestSignature, key: VerifyingKey): boolean {
  if (signature.keyId !== key.keyId || signature.algorithm !== "Ed25519") return false;
  const sig = Buffer.from(signature.signature, "base64");
  if (sig.length !== 64) return false;
  return verify(null, digestBytes(body), key.publicKey, sig);
}
