/**
 * End to end, as users run it: an `s3://` signed lake (s3rver) written by `sync --sign --tsa` over
 * three runs that change keys (A; A and B; B) while the log grows, copied to local disk object by
 * object (as `aws s3 sync` would), verifies offline with `verify DIR --key A.pub --key B.pub
 * --tsa-cert`; with B.pub alone it does not, naming A's key. `verify` writes nothing into the copy;
 * no private key in anything printed.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DIGESTS_DIR } from "../../packages/cli/src/sync/lake/manifest.js";
import { digestName } from "../../packages/client/src/digest/document.js";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import { cliEnv, connection, PAT, tempDir, USER } from "../cli/helpers.js";
import { type S3Server, startS3Server } from "../helpers/s3.js";
import { startTestTsa, type TestTsa } from "../helpers/tsa.js";
import {
  bin,
  cli,
  expectNoSecretPrinted,
  expectUntouched,
  type GeneratedKey,
  generateKey,
  readDigestFile,
  summaryOf,
} from "./endToEndHelpers.js";
import { copyS3Lake } from "./lakeChain.js";

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let tsa: TestTsa;
let s3: S3Server;
let keyA: GeneratedKey;
let keyB: GeneratedKey;
/** The copy of the lake, and the head of each run. */
let copy: string;
const heads: { seq: number; hash: string }[] = [];

const FLAGS = [
  "--settle",
  "0s",
  "--reconcile",
  "3650d",
  "--per-page",
  "100",
  "--commit-entries",
  "100",
  "--json",
  "-q",
];

function env(): NodeJS.ProcessEnv {
  return { ...cliEnv(), ...s3.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };
}

beforeAll(async () => {
  tmp = tempDir();
  [emu, tsa, s3] = await Promise.all([
    startEmulator({ pats: { [PAT]: USER }, generate: { count: 200, seed: 61 }, restPort: false }),
    startTestTsa(),
    startS3Server(),
  ]);
  await s3.createBucket("audit");
  keyA = await generateKey(join(tmp.dir, "keys"), "a.key", env());
  keyB = await generateKey(join(tmp.dir, "keys"), "b.key", env());
  const sync = ["sync", ...connection(emu.grpcAddress), "--dest", "s3://audit/signed", ...FLAGS];
  const runs = [
    ["--sign", keyA.path],
    ["--sign", keyA.path, "--sign", keyB.path],
    ["--sign", keyB.path],
  ];
  for (const [i, keys] of runs.entries()) {
    // The first run the built bin, as users run it; the log grows under the later ones.
    if (i === 1) emu.setGrowth(USER, { count: 4, everyMs: 20, lateFraction: 0.4 });
    const args = [...sync, ...keys, "--tsa", tsa.url];
    const r = i === 0 ? await bin(args, env()) : await cli(args, env());
    expect({ run: i, code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({
      run: i,
      code: 0,
      stderr: "",
    });
    heads.push((summaryOf(r) as { digest: { seq: number; hash: string } }).digest);
  }
  emu.setGrowth(USER, undefined);
  copy = join(tmp.dir, "copy");
  await copyS3Lake(s3, "audit", "signed", copy);
}, 60_000);

afterAll(async () => {
  await Promise.all([emu?.close(), tsa?.close(), s3?.stop()]);
  tmp?.cleanup();
});

test("the copied s3:// lake verifies offline with both keys and the authority's certificate", async () => {
  const head = heads.at(-1) as { seq: number; hash: string };
  const names = readdirSync(join(copy, DIGESTS_DIR)).sort();
  expect(names).toEqual(Array.from({ length: head.seq }, (_, i) => digestName(i + 1)));
  // The keys changed as the runs say: A, then a digest signed by both, then B.
  const signers = names.map((n) => readDigestFile(join(copy, DIGESTS_DIR, n)).digest.keyIds.join("+"));
  expect(signers.filter((k, i) => signers.indexOf(k) === i)).toEqual([
    keyA.keyId,
    `${keyA.keyId}+${keyB.keyId}`,
    keyB.keyId,
  ]);
  const args = [
    "verify",
    copy,
    "--key",
    keyA.pub,
    "--key",
    keyB.pub,
    "--tsa-cert",
    tsa.tsaCertPath,
    "--expect-head",
    head.hash,
    "--json",
  ];
  const r = await expectUntouched(copy, () => bin(args, env()));
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 0, stdout: "" });
  expect(summaryOf(r)).toMatchObject({
    verified: true,
    log: "lake",
    digests: head.seq,
    head,
    keyIds: [keyA.keyId, keyB.keyId],
    timestamps: { checked: head.seq },
    expectedHead: { ...head, newest: true },
  });
  // Each run's head is in the chain.
  for (const h of heads)
    expect(
      (await cli(["verify", copy, "--key", keyA.pub, "--key", keyB.pub, "--expect-head", h.hash], env()))
        .code,
    ).toBe(0);
}, 30_000);

test("with B.pub alone it is not verified: the first digests are signed by A, named", async () => {
  const r = await expectUntouched(copy, () => cli(["verify", copy, "--key", keyB.pub, "--json"], env()));
  expect(r.code).toBe(6);
  expect(summaryOf(r).problem).toMatchObject({ kind: "key-unknown", digest: digestName(1) });
  const human = await cli(["verify", copy, "--key", keyB.pub], env());
  expect(human.code).toBe(6);
  expect(human.stderr).toMatch(/^not verified: .* /);
  expect(human.stderr).toContain(keyA.keyId);
  expect(human.stderr.trimEnd().split("\n")).toHaveLength(1);
  // And with A.pub alone: the digests B signed alone are unknown.
  const a = await cli(["verify", copy, "--key", keyA.pub, "--json"], env());
  expect(a.code).toBe(6);
  expect(summaryOf(a).problem).toMatchObject({ kind: "key-unknown" });
  expect((summaryOf(a).problem as { message: string }).message).toContain(keyB.keyId);
});

test("verify s3://… itself: a usage error (exit 2) saying to copy the lake first, not a failed verification", async () => {
  const r = await cli(["verify", "s3://audit/signed", "--key", keyA.pub], env());
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
  expect(r.stderr).toBe(
    "clarifai-audit: error: verify: s3://audit/signed is a URL; verify reads a local copy, offline: copy it to a folder first (e.g. aws s3 sync s3://audit/signed DIR) and verify that\n",
  );
});

test("trust: no private key in anything printed", () => {
  expectNoSecretPrinted([keyA, keyB]);
});
