/**
 * `s3://` URLs and the shared bucket access (packages/cli/src/sync/s3/url.ts, bucket.ts) against a
 * real s3rver: objects round-trip, conditional writes are probed (s3rver has none), and a missing
 * bucket, a wrong secret and an unreachable endpoint fail in one line of the right class.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openBucket } from "clarifai-audit/internal/sync/s3/bucket.js";
import { parseS3Url } from "clarifai-audit/internal/sync/s3/url.js";
import { SyncUsageError } from "clarifai-audit/internal/sync/store.js";
import { freePort } from "../helpers/postgres.js";
import { type S3Server, startS3Server } from "../helpers/s3.js";

let s3: S3Server;
let scratch: string;

beforeAll(async () => {
  s3 = await startS3Server();
  await s3.createBucket("audit");
  scratch = await mkdtemp(join(tmpdir(), "s3bucket-"));
});

afterAll(async () => {
  await s3?.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe("parseS3Url", () => {
  it("normalizes the prefix and reads the parameters", () => {
    expect(parseS3Url("s3://my-bucket//logs/clarifai/")).toEqual({
      bucket: "my-bucket",
      prefix: "logs/clarifai",
      layout: "lake",
      description: "s3://my-bucket/logs/clarifai",
    });
    expect(parseS3Url("s3://my.bucket")).toMatchObject({ prefix: "", description: "s3://my.bucket" });
    expect(parseS3Url("s3://b12/p?layout=stream&path_style=true")).toEqual({
      bucket: "b12",
      prefix: "p",
      layout: "stream",
      pathStyle: true,
      description: "s3://b12/p?layout=stream",
    });
    expect(parseS3Url("s3://b12/a%20b?path_style=false")).toMatchObject({ prefix: "a b", pathStyle: false });
  });

  it.each([
    ["s3://Bad_Bucket/x", /bucket name "Bad_Bucket" may hold lowercase/],
    ["s3://ab/x", /3 to 63 characters/],
    ["s3://192.168.1.1/x", /IP address/],
    ["s3://a..b/x", /two dots/],
    ["s3://bucket/x?layout=table", /layout=table is not allowed/],
    ["s3://bucket/x?region=eu", /region="eu" is not allowed: it must be an AWS Region/],
    ["s3://bucket/x?region=us-east-1", /region only go with layout=security-lake/],
    ["s3://bucket/x?colour=blue", /unknown parameter "colour"/],
    ["s3://bucket/x?layout=lake&layout=lake", /given twice/],
    ["s3://bucket/a/../b", /\. or \.\. segments/],
    ["s3://bucket/x#frag", /fragment/],
  ])("refuses %s in one line", (url, problem) => {
    let error: unknown;
    try {
      parseS3Url(url);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(SyncUsageError);
    expect((error as Error).message).toMatch(problem);
    expect((error as Error).message).not.toContain("\n");
  });

  it("names the allowed parameters", () => {
    expect(() => parseS3Url("s3://bucket/x?foo=1")).toThrow(
      /layout=lake\|stream\|security-lake, path_style=true\|false/,
    );
  });

  it("refuses credentials in the URL without echoing them", () => {
    let message = "";
    try {
      parseS3Url("s3://AKIDEXAMPLE:wJalrXUtnFEMI@bucket/x");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/credentials in the URL are not allowed/);
    expect(message).not.toContain("wJalrXUtnFEMI");
    expect(message).not.toContain("AKIDEXAMPLE");
  });
});

describe("openBucket", () => {
  it("stores, lists, copies and deletes objects below the prefix, and finds no conditional writes in s3rver", async () => {
    const bucket = await openBucket(parseS3Url("s3://audit/base/dir"), s3.env);
    try {
      expect(bucket.description).toBe("s3://audit/base/dir");
      expect(bucket.conditionalWrites).toBe(false);
      const { etag } = await bucket.put("a/one.txt", Buffer.from("one"));
      expect(etag).toMatch(/^"/);
      const file = join(scratch, "two.bin");
      await writeFile(file, Buffer.alloc(100_000, 7));
      await bucket.putFile("a/_two.bin", file);
      await bucket.copy("a/_two.bin", "a/two.bin");
      expect((await bucket.get("a/one.txt"))?.body.toString()).toBe("one");
      expect((await bucket.get("a/two.bin"))?.body.equals(Buffer.alloc(100_000, 7))).toBe(true);
      expect(await bucket.get("a/none")).toBeUndefined();
      await expect(bucket.get("a/two.bin", { maxBytes: 1000 })).rejects.toThrow(/more than the 1000/);
      const listed = [];
      for await (const o of bucket.list("a/")) listed.push([o.key, o.size]);
      expect(listed).toEqual([
        ["a/_two.bin", 100_000],
        ["a/one.txt", 3],
        ["a/two.bin", 100_000],
      ]);
      await bucket.delete(["a/_two.bin", "a/missing"]);
      expect(await s3.listKeys("audit", "base/")).toEqual(["base/dir/a/one.txt", "base/dir/a/two.bin"]);
    } finally {
      bucket.close();
    }
  });

  it("refuses a missing bucket in one line", async () => {
    const error = await openBucket(parseS3Url("s3://no-such-bucket/x"), s3.env).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncUsageError);
    expect((error as SyncUsageError).problem).toBe(
      "s3://no-such-bucket/x: the bucket no-such-bucket does not exist (NoSuchBucket)",
    );
  });

  // s3rver 3.7.1 checks a SigV4 request's access key id only (its SigV4 signature check is not
  // implemented), so an unknown key id is the bad credential it can refuse.
  it("refuses unknown credentials in one line that does not print the secret", async () => {
    const secret = "not-the-right-secret-4711";
    const error = await openBucket(parseS3Url("s3://audit/x"), {
      ...s3.env,
      AWS_ACCESS_KEY_ID: "AKIAWRONGWRONGWRONG0",
      AWS_SECRET_ACCESS_KEY: secret,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyncUsageError);
    expect((error as SyncUsageError).problem).toMatch(
      /^s3:\/\/audit\/x: access denied \(InvalidAccessKeyId\)/,
    );
    expect((error as Error).message).not.toContain(secret);
  });

  it("fails an unreachable endpoint with a plain error (exit 1 class)", async () => {
    const port = await freePort();
    const error = await openBucket(parseS3Url("s3://audit/x"), {
      ...s3.env,
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(SyncUsageError);
    expect((error as Error).message).toMatch(
      new RegExp(
        `^s3://audit/x: cannot reach 127\\.0\\.0\\.1:${port} while listing the prefix \\(ECONNREFUSED\\)$`,
      ),
    );
  });

  it("refuses an endpoint variable that is not an http(s) URL", async () => {
    await expect(
      openBucket(parseS3Url("s3://audit/x"), { ...s3.env, AWS_ENDPOINT_URL_S3: "ftp://host" }),
    ).rejects.toThrow(SyncUsageError);
  });
});
