/**
 * Helpers of the end-to-end tests of verifiable logs (endToEnd*.test.ts): the CLI run as users run
 * it (every output kept, to check afterwards that no private key was ever printed), copies of a
 * signed log to tamper with, a digest edited and re-signed, and a listing of a folder with mtimes
 * (to show `verify` writes nothing). No jest globals but `expect`.
 */
import { createPrivateKey, createPublicKey, sign } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { expect } from "@jest/globals";
import {
  type DigestBody,
  type DigestDocument,
  digestBytes,
  digestHash,
  serializeDigest,
} from "../../packages/client/src/digest/document.js";
import { keyIdOf } from "../../packages/client/src/digest/keys.js";
import { type CliResult, runCli, runMain } from "../cli/helpers.js";

/** Everything any command printed (stdout and stderr), for the private-key check. */
export const printed: string[] = [];

/** Runs the CLI in-process, keeping what it printed. */
export async function cli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const r = await runMain(args, env);
  printed.push(r.stdout, r.stderr);
  return r;
}

/** Runs the built bin (`npm run build` first), keeping what it printed. */
export async function bin(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const r = await runCli(args, env);
  printed.push(r.stdout, r.stderr);
  return r;
}

/** The last line of stderr as JSON (the --json summary). */
export function summaryOf(r: CliResult): Record<string, unknown> {
  return JSON.parse(r.stderr.trim().split("\n").at(-1) as string) as Record<string, unknown>;
}

/** A key made by `keys generate --out`, as the CLI printed it. */
export interface GeneratedKey {
  path: string;
  pub: string;
  keyId: string;
  /** The private key's PEM body (base64, without its armour lines). */
  secret: string;
}

/** `keys generate --out dir/name --json` through the built bin. */
export async function generateKey(dir: string, name: string, env: NodeJS.ProcessEnv): Promise<GeneratedKey> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  const r = await bin(["keys", "generate", "--out", path, "--json"], env);
  expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
  const keyId = r.stdout.trim();
  expect(keyId).toMatch(/^[0-9a-f]{32}$/);
  expect(summaryOf(r)).toMatchObject({ keyId, key: path, publicKey: `${path}.pub` });
  expect(statSync(path).mode & 0o777).toBe(0o600);
  const pem = readFileSync(path, "utf8");
  expect(keyIdOf(createPublicKey(createPrivateKey(pem)))).toBe(keyId);
  const secret = pem
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("-----"))
    .join("");
  return { path, pub: `${path}.pub`, keyId, secret };
}

/** Asserts nothing printed so far holds a private key: its PEM, its base64 body or the raw seed. */
export function expectNoSecretPrinted(keys: readonly GeneratedKey[]): void {
  const all = printed.join("\n");
  expect(all.length).toBeGreaterThan(0);
  for (const k of keys) {
    const der = Buffer.from(k.secret, "base64");
    // PKCS#8 of Ed25519: the last 32 bytes are the private seed.
    const seed = der.subarray(der.length - 32);
    for (const needle of [
      k.secret,
      seed.toString("base64"),
      seed.toString("hex"),
      seed.toString("base64url"),
    ])
      expect({ key: k.path, found: all.includes(needle) }).toEqual({ key: k.path, found: false });
    // Neither in parts: no 16-character run of the body.
    for (let i = 0; i + 16 <= k.secret.length; i += 8)
      expect({ key: k.path, part: all.includes(k.secret.slice(i, i + 16)) }).toEqual({
        key: k.path,
        part: false,
      });
  }
  expect(all).not.toContain("PRIVATE KEY");
}

let copies = 0;

/**
 * Copies `paths` (files or folders, all in one folder) into a fresh folder under `root`, keeping
 * their names; returns the folder.
 */
export function copyOf(root: string, paths: readonly string[]): string {
  const dir = join(root, `copy-${++copies}`);
  mkdirSync(dir, { recursive: true });
  for (const p of paths) cpSync(p, join(dir, basename(p)), { recursive: true, preserveTimestamps: true });
  return dir;
}

/** The digest document in `file`. */
export function readDigestFile(file: string): DigestDocument {
  return JSON.parse(readFileSync(file, "utf8")) as DigestDocument;
}

/**
 * Rewrites the digest `file` with its body changed by `edit`, signed again by `keyPath`'s key alone
 * (its keyIds set to that key; its time-stamp dropped: it was over the old hash). Returns the new hash.
 */
export function resign(
  file: string,
  keyPath: string,
  edit: (d: DigestBody) => void = () => undefined,
): string {
  const doc = readDigestFile(file);
  const key = createPrivateKey(readFileSync(keyPath));
  const keyId = keyIdOf(createPublicKey(key));
  const body = structuredClone(doc.digest);
  edit(body);
  body.keyIds = [keyId];
  const signature = sign(null, digestBytes(body), key).toString("base64");
  const next: DigestDocument = { digest: body, signatures: [{ keyId, algorithm: "Ed25519", signature }] };
  writeFileSync(file, serializeDigest(next));
  return digestHash(body);
}

/** Every path under `dir` with its size, mtime and content: any write (or a new file) shows. */
export function listing(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    const names = readdirSync(d).sort();
    out.push(`${d}/ ${names.length} ${statSync(d).mtimeMs}`);
    for (const name of names) {
      const p = join(d, name);
      const info = statSync(p);
      if (info.isDirectory()) walk(p);
      else out.push(`${p} ${info.size} ${info.mtimeMs} ${readFileSync(p).toString("base64")}`);
    }
  };
  walk(dir);
  return out.join("\n");
}

/** Asserts `run` writes nothing in `dir` (its listing, sizes, mtimes and bytes unchanged). */
export async function expectUntouched<T>(dir: string, run: () => Promise<T>): Promise<T> {
  const before = listing(dir);
  const r = await run();
  expect(listing(dir)).toBe(before);
  void dirname;
  return r;
}
