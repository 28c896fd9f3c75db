/** `clarifai-audit keys generate --out KEY`: the key pair, its mode, its id, and what it refuses. */
import { lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readSigningKey, readVerifyingKey } from "@clarifai-audit/client/internal/digest/keys.js";
import { runMain } from "../cli/helpers.js";
import { tempDir } from "./fixtures.js";

let tmp: { dir: string; cleanup: () => void };
beforeAll(() => {
  tmp = tempDir();
});
afterAll(() => tmp.cleanup());

test("writes KEY (0600, PKCS#8) and KEY.pub, prints the key id", async () => {
  const key = join(tmp.dir, "a.pem");
  const r = await runMain(["keys", "generate", "--out", key, "--json"]);
  expect(r.code).toBe(0);
  const id = r.stdout.trim();
  expect(id).toMatch(/^[0-9a-f]{32}$/);
  expect(statSync(key).mode & 0o777).toBe(0o600);
  expect(readFileSync(key, "utf8")).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  expect(readFileSync(`${key}.pub`, "utf8")).toMatch(/^-----BEGIN PUBLIC KEY-----/);
  expect((await readSigningKey(key)).keyId).toBe(id);
  expect((await readVerifyingKey(`${key}.pub`)).keyId).toBe(id);
  expect(JSON.parse(r.stderr.trim().split("\n").at(-1) as string)).toEqual({
    command: "keys generate",
    exitCode: 0,
    keyId: id,
    key,
    publicKey: `${key}.pub`,
  });
});

test("refuses an existing key without --force; replaces it with --force", async () => {
  const key = join(tmp.dir, "b.pem");
  const first = (await runMain(["keys", "generate", "--out", key])).stdout.trim();
  const again = await runMain(["keys", "generate", "--out", key]);
  expect(again.code).toBe(2);
  expect(again.stderr).toContain("exists; a key is not replaced without --force");
  expect((await readSigningKey(key)).keyId).toBe(first);
  // An existing KEY.pub alone is refused too.
  const c = join(tmp.dir, "c.pem");
  writeFileSync(`${c}.pub`, "x");
  expect((await runMain(["keys", "generate", "--out", c])).code).toBe(2);
  const forced = await runMain(["keys", "generate", "--out", key, "--force"]);
  expect(forced.code).toBe(0);
  expect(forced.stdout.trim()).not.toBe(first);
  expect(statSync(key).mode & 0o777).toBe(0o600);
});

test("only a regular file is replaced, even with --force", async () => {
  const target = join(tmp.dir, "target");
  writeFileSync(target, "keep");
  const link = join(tmp.dir, "link.pem");
  symlinkSync(target, link);
  const r = await runMain(["keys", "generate", "--out", link, "--force"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("symbolic link");
  expect(readFileSync(target, "utf8")).toBe("keep");
  expect(lstatSync(link).isSymbolicLink()).toBe(true);
  const noFolder = await runMain(["keys", "generate", "--out", join(tmp.dir, "none", "k.pem")]);
  expect(noFolder.code).toBe(2);
  expect(noFolder.stderr).toContain("does not exist; create it first");
  mkdirSync(join(tmp.dir, "dir.pem"));
  expect((await runMain(["keys", "generate", "--out", join(tmp.dir, "dir.pem"), "--force"])).code).toBe(2);
});
