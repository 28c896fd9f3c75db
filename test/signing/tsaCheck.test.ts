/**
 * RFC 3161 time-stamps on digests against a real authority (openssl ts -reply behind
 * test/helpers/tsa.ts): a token the stamper stored checks offline with the TSA's certificate or its
 * CA, openssl ts -verify (the independent peer) accepts it as stored, and the check refuses another
 * hash, a changed byte, another authority, a signer that may not stamp time and a token that does
 * not name its signer's certificate.
 */
import { execFile } from "node:child_process";
import { createHash, createPrivateKey, createPublicKey, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { DigestChain } from "@clarifai-audit/client/internal/digest/chain.js";
import { digestHash } from "@clarifai-audit/client/internal/digest/document.js";
import { generateSigningKey, keyIdOf } from "@clarifai-audit/client/internal/digest/keys.js";
import { LeafHashes } from "@clarifai-audit/client/internal/digest/leaves.js";
import { AuditUsageError } from "@clarifai-audit/client/internal/domain/errors.js";
import { checkTimestamp, createTsaStamper } from "clarifai-audit/internal/timestamp/index.js";
import * as pkijs from "pkijs";
import { issue, startTestTsa, type TestTsa, TSA_EXT } from "../helpers/tsa.js";

const run = promisify(execFile);

let tsa: TestTsa;
let other: TestTsa;
const hash = createHash("sha256").update("a digest's canonical bytes").digest();
let stamp: { tsa: string; token: string };

beforeAll(async () => {
  tsa = await startTestTsa();
  other = await startTestTsa({ name: "another TSA" });
  // Signers of the tokens resigned below, made before the stamp (so valid at its time).
  issue(
    tsa.dir,
    "ca",
    "noeku",
    "no timeStamping",
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
  );
  issue(tsa.dir, "ca", "noess", "timeStamping without ESS", TSA_EXT);
  stamp = await createTsaStamper({ url: tsa.url })(hash);
});

afterAll(async () => {
  await tsa?.close();
  await other?.close();
});

/** openssl ts -verify over the stored token (DER) and `digest`: its exit and output. */
async function opensslVerify(
  token: string,
  digest: Buffer,
  t: TestTsa,
): Promise<{ ok: boolean; out: string }> {
  const path = join(t.dir, `token-${randomBytes(4).toString("hex")}.der`);
  writeFileSync(path, Buffer.from(token, "base64"));
  try {
    const r = await run("openssl", [
      "ts",
      "-verify",
      "-digest",
      digest.toString("hex"),
      "-in",
      path,
      "-token_in",
      "-CAfile",
      t.caPath,
      "-untrusted",
      t.tsaCertPath,
    ]);
    return { ok: true, out: r.stdout + r.stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    return { ok: false, out: `${err.stdout ?? ""}${err.stderr ?? ""}` };
  }
}

/** The token's TSTInfo bytes and where they are in the token. */
function tstInfoSpan(token: Buffer): { start: number; length: number } {
  const info = pkijs.ContentInfo.fromBER(new Uint8Array(token));
  const signed = new pkijs.SignedData({ schema: info.content });
  const tst = Buffer.from((signed.encapContentInfo.eContent as { getValue(): ArrayBuffer }).getValue());
  return { start: token.indexOf(tst), length: tst.length };
}

/** The types of a token's signed attributes. */
function signedAttributeTypes(token: string): string[] {
  const info = pkijs.ContentInfo.fromBER(new Uint8Array(Buffer.from(token, "base64")));
  const signed = new pkijs.SignedData({ schema: info.content });
  return (signed.signerInfos[0]?.signedAttrs?.attributes ?? []).map((a) => a.type);
}

test("a stored token checks with the TSA's certificate and with its CA's, at the token's time", async () => {
  expect(stamp.tsa).toBe(tsa.url);
  const byTsa = await checkTimestamp(stamp, hash, [tsa.tsaCertPem]);
  expect(byTsa).toEqual({
    ok: true,
    genTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/),
  });
  const genTime = (byTsa as { genTime: string }).genTime;
  expect(Math.abs(Date.parse(genTime) - Date.now())).toBeLessThan(10 * 60_000);
  await expect(checkTimestamp(stamp, hash, [tsa.caCertPem])).resolves.toEqual({ ok: true, genTime });
  // Among others, or with both in one PEM text.
  await expect(checkTimestamp(stamp, hash, [other.caCertPem, tsa.caCertPem])).resolves.toEqual({
    ok: true,
    genTime,
  });
  await expect(checkTimestamp(stamp, hash, [other.tsaCertPem + tsa.tsaCertPem])).resolves.toEqual({
    ok: true,
    genTime,
  });
});

test("a token naming its signer by SHA-1 (ESS signing-certificate v1) checks too", async () => {
  const v1 = await startTestTsa({ essCertIdAlg: "sha1" });
  try {
    const token = await createTsaStamper({ url: v1.url })(hash);
    const types = signedAttributeTypes(token.token);
    expect(types).toContain("1.2.840.113549.1.9.16.2.12");
    expect(types).not.toContain("1.2.840.113549.1.9.16.2.47");
    expect(signedAttributeTypes(stamp.token)).toContain("1.2.840.113549.1.9.16.2.47");
    await expect(checkTimestamp(token, hash, [v1.caCertPem])).resolves.toMatchObject({ ok: true });
    expect((await opensslVerify(token.token, hash, v1)).ok).toBe(true);
  } finally {
    await v1.close();
  }
});

test("openssl ts -verify accepts the stored token over the digest's hash, and refuses another hash", async () => {
  const good = await opensslVerify(stamp.token, hash, tsa);
  expect(good.out).toContain("Verification: OK");
  expect(good.ok).toBe(true);
  const bad = await opensslVerify(stamp.token, randomBytes(32), tsa);
  expect(bad.ok).toBe(false);
});

test("a digest chain stamps each digest's hash: the token checks against the digest's hash, and openssl agrees", async () => {
  const k = generateSigningKey();
  const privateKey = createPrivateKey(k.privatePem);
  const publicKey = createPublicKey(k.publicPem);
  const key = { keyId: keyIdOf(publicKey), privateKey, publicKey, source: "test" };
  const chain = new DigestChain("export", { keys: [key], stamp: createTsaStamper({ url: tsa.url }) });
  for (let i = 0; i < 2; i++) {
    const leaves = new LeafHashes();
    leaves.add(Buffer.from(`{"n":${i}}`));
    const next = await chain.next({ identity: { q: 1 }, cursor: null, files: [], leaves });
    expect(next.hash).toBe(digestHash(next.document.digest));
    const ts = next.document.timestamp as { tsa: string; token: string };
    const digestHashBytes = Buffer.from(next.hash, "hex");
    await expect(checkTimestamp(ts, digestHashBytes, [tsa.caCertPem])).resolves.toMatchObject({ ok: true });
    expect((await opensslVerify(ts.token, digestHashBytes, tsa)).ok).toBe(true);
  }
});

test("another hash, another authority's certificate, a changed byte: not ok, one line each", async () => {
  const another = await checkTimestamp(stamp, createHash("sha256").update("another").digest(), [
    tsa.caCertPem,
  ]);
  expect(another).toEqual({
    ok: false,
    problem: expect.stringMatching(/^the time-stamp: it is over another hash: /),
  });
  for (const certs of [[other.caCertPem], [other.tsaCertPem]]) {
    const r = await checkTimestamp(stamp, hash, certs);
    expect(r).toEqual({
      ok: false,
      problem:
        'the time-stamp: its signer "clarifai-audit test TSA" is not one of the given TSA certificates nor issued by one',
    });
  }
  const token = Buffer.from(stamp.token, "base64");
  const { start, length } = tstInfoSpan(token);
  expect(start).toBeGreaterThan(0);
  // Every byte of what was stamped, and the signature's last bytes.
  const positions = [...Array(length).keys()].map((i) => start + i);
  for (let i = 1; i <= 16; i++) positions.push(token.length - i);
  for (const at of positions) {
    const changed = Buffer.from(token);
    changed[at] = (changed[at] as number) ^ 0x01;
    const r = await checkTimestamp({ tsa: stamp.tsa, token: changed.toString("base64") }, hash, [
      tsa.caCertPem,
    ]);
    expect([at, r.ok]).toEqual([at, false]);
    if (!r.ok) expect(r.problem).not.toMatch(/\n/);
  }
  // A token that is not base64, or not a token.
  const notBase64 = await checkTimestamp({ tsa: stamp.tsa, token: "@@@" }, hash, [tsa.caCertPem]);
  expect(notBase64).toEqual({ ok: false, problem: "the time-stamp: its token is not base64" });
  const notToken = await checkTimestamp({ tsa: stamp.tsa, token: randomBytes(64).toString("base64") }, hash, [
    tsa.caCertPem,
  ]);
  expect(notToken.ok).toBe(false);
});

/** The stored token's TSTInfo signed again by `signer` with openssl cms (no ESS attribute). */
async function resigned(signer: string): Promise<string> {
  const token = Buffer.from(stamp.token, "base64");
  const { start, length } = tstInfoSpan(token);
  const p = (f: string) => join(tsa.dir, f);
  writeFileSync(p("tst.der"), token.subarray(start, start + length));
  await run("openssl", [
    "cms",
    "-sign",
    "-binary",
    "-nodetach",
    "-in",
    p("tst.der"),
    "-outform",
    "DER",
    "-out",
    p(`${signer}.tok`),
    "-signer",
    p(`${signer}.pem`),
    "-inkey",
    p(`${signer}.key`),
    "-md",
    "sha256",
    "-econtent_type",
    "1.2.840.113549.1.9.16.1.4",
    "-nosmimecap",
  ]);
  return readFileSync(p(`${signer}.tok`)).toString("base64");
}

test("a signer that may not stamp time, or a token not naming its signer's certificate, is refused", async () => {
  const noEku = { tsa: stamp.tsa, token: await resigned("noeku") };
  const noEkuPem = readFileSync(join(tsa.dir, "noeku.pem"), "utf8");
  for (const certs of [[tsa.caCertPem], [noEkuPem]])
    await expect(checkTimestamp(noEku, hash, certs)).resolves.toEqual({
      ok: false,
      problem:
        'the time-stamp: its signer "no timeStamping" may not stamp time (no extended key usage timeStamping)',
    });
  // openssl agrees.
  expect((await opensslVerify(noEku.token, hash, tsa)).ok).toBe(false);

  const noEss = { tsa: stamp.tsa, token: await resigned("noess") };
  await expect(checkTimestamp(noEss, hash, [tsa.caCertPem])).resolves.toEqual({
    ok: false,
    problem:
      "the time-stamp: it does not name its signer's certificate (no ESS signing-certificate attribute)",
  });
});

test("certificates that are not PEM certificates are a usage error (`tsaCerts`)", async () => {
  await expect(checkTimestamp(stamp, hash, [])).rejects.toThrow(AuditUsageError);
  await expect(checkTimestamp(stamp, hash, ["hello"])).rejects.toThrow(
    "`tsaCerts`: certificate file 1 holds no PEM certificate",
  );
  const broken = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  await expect(checkTimestamp(stamp, hash, [tsa.caCertPem, broken])).rejects.toThrow(
    /^`tsaCerts`: certificate file 2: /,
  );
});
