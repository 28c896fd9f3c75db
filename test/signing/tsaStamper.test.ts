/**
 * The stamper against a local authority that misbehaves (test/helpers/tsa.ts): every failure is a
 * TimestampError of one line naming the authority, its URL's password never in it; retries on 5xx
 * and dead connections are bounded, and a reply is bounded in size and time.
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:net";
import { ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import { clearSecrets } from "@clarifai-audit/client/internal/domain/redact.js";
import {
  checkTimestamp,
  createTsaStamper,
  TimestampError,
  type TsaOptions,
} from "clarifai-audit/internal/timestamp/index.js";
import { makeTestTls } from "../helpers/tls.js";
import { startTestTsa, type TestTsa } from "../helpers/tsa.js";

const PASSWORD = "s3cr3t-Pa55word";
const hash = createHash("sha256").update("digest").digest();
let tsa: TestTsa;
/** The TSA's URL with user info. */
let secretUrl: string;

beforeAll(async () => {
  tsa = await startTestTsa();
  secretUrl = tsa.url.replace("http://", `http://auditor:${PASSWORD}@`);
});

afterAll(async () => {
  await tsa?.close();
  clearSecrets();
});

beforeEach(() => {
  tsa.mode = "ok";
  tsa.failFirst = 0;
  tsa.requests = 0;
});

/** The stamper's failure: a TimestampError of one line without the password. */
async function failure(options: Partial<TsaOptions> = {}): Promise<string> {
  const stamper = createTsaStamper({ url: secretUrl, timeoutMs: 3000, backoffMs: 20, ...options });
  const error = await stamper(hash).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TimestampError);
  expect(error).toBeInstanceOf(ClarifaiAuditError);
  const message = (error as Error).message;
  expect(message).not.toContain(PASSWORD);
  expect(message).not.toMatch(/\n/);
  expect(message).toMatch(/^time-stamping authority http:\/\/\[REDACTED\]@127\.0\.0\.1:\d+\/tsa: /);
  return message.replace(/^time-stamping authority \S+: /, "");
}

test("a good stamp: Basic credentials from the URL, the URL recorded without them, one request", async () => {
  const stamp = await createTsaStamper({ url: secretUrl })(hash);
  expect(stamp.tsa).toBe(tsa.url);
  expect(stamp.tsa).not.toContain(PASSWORD);
  expect(tsa.requests).toBe(1);
  expect(tsa.lastAuthorization).toBe(`Basic ${Buffer.from(`auditor:${PASSWORD}`).toString("base64")}`);
  await expect(checkTimestamp(stamp, hash, [tsa.caCertPem])).resolves.toMatchObject({ ok: true });
  // A query string (often a credential) is not recorded either.
  const withQuery = await createTsaStamper({ url: `${tsa.url}?key=abcdef123` })(hash);
  expect(withQuery.tsa).toBe(tsa.url);
});

test("the authority's rejection is named with its status and text", async () => {
  tsa.mode = "reject";
  expect(await failure()).toBe(
    "did not grant the time-stamp (rejection: Message digest algorithm is not supported.; failInfo badAlg)",
  );
  expect(tsa.requests).toBe(1);
});

test("a token for another hash, or without the request's nonce, is refused", async () => {
  tsa.mode = "wrongImprint";
  expect(await failure()).toMatch(
    new RegExp(
      `^its token does not answer the request: its imprint is [0-9a-f]{64}, not ${hash.toString("hex")}$`,
    ),
  );
  tsa.mode = "noNonce";
  expect(await failure()).toBe("its token does not echo the request's nonce");
  tsa.mode = "otherNonce";
  expect(await failure()).toBe("its token echoes another nonce than the request's");
});

test("garbage and oversized replies are refused without retrying", async () => {
  tsa.mode = "garbage";
  expect(await failure()).toMatch(/^its reply is not an RFC 3161 time-stamp response \(.+\)$/);
  expect(tsa.requests).toBe(1);
  tsa.mode = "huge";
  expect(await failure()).toBe("its reply is 102400 bytes, more than 65536");
  tsa.mode = "hugeChunked";
  expect(await failure()).toBe("its reply is more than 65536 bytes");
  expect(tsa.requests).toBe(3);
  tsa.mode = "notFound";
  expect(await failure()).toBe("answered HTTP 404");
  expect(tsa.requests).toBe(4);
});

test("5xx is retried a bounded number of times", async () => {
  tsa.failFirst = 2;
  const stamp = await createTsaStamper({ url: secretUrl, backoffMs: 20 })(hash);
  expect(tsa.requests).toBe(3);
  await expect(checkTimestamp(stamp, hash, [tsa.tsaCertPem])).resolves.toMatchObject({ ok: true });
  tsa.requests = 0;
  tsa.mode = "error500";
  expect(await failure({ retries: 1 })).toBe("answered HTTP 500");
  expect(tsa.requests).toBe(2);
});

test("a silent authority costs the deadline per attempt, then fails", async () => {
  tsa.mode = "hang";
  expect(await failure({ timeoutMs: 300, retries: 1 })).toBe("no complete reply within 300 ms");
  expect(tsa.requests).toBe(2);
});

test("an unreachable authority fails after the retries", async () => {
  const closed: Server = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as { port: number }).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const url = `http://auditor:${PASSWORD}@127.0.0.1:${port}/tsa`;
  expect(await failure({ url })).toBe("unreachable (ECONNREFUSED)");
});

test("an interrupted stamp stops at once", async () => {
  tsa.mode = "hang";
  const controller = new AbortController();
  const pending = createTsaStamper({ url: secretUrl, timeoutMs: 30_000, signal: controller.signal })(hash);
  setTimeout(() => controller.abort(), 100);
  await expect(pending).rejects.toThrow(/: interrupted$/);
  await expect(pending).rejects.toMatchObject({ interrupted: true });
});

test("https with an extra CA file; refused without it", async () => {
  const tls = makeTestTls();
  const secure = await startTestTsa({ tls: { cert: tls.cert, key: tls.key } });
  try {
    const stamp = await createTsaStamper({ url: secure.url, ca: tls.caPath })(hash);
    expect(stamp.tsa).toBe(secure.url);
    await expect(checkTimestamp(stamp, hash, [secure.caCertPem])).resolves.toMatchObject({ ok: true });
    secure.requests = 0;
    const error = await createTsaStamper({ url: secure.url })(hash).catch((e: Error) => e);
    expect((error as Error).message).toMatch(
      /^time-stamping authority https:\/\/127\.0\.0\.1:\d+\/tsa: its certificate is not trusted \([A-Z_]+\)$/,
    );
    expect(secure.requests).toBe(0);
  } finally {
    await secure.close();
  }
});

test("bad options are usage errors before any request", () => {
  expect(() => createTsaStamper({ url: "ftp://x/tsa" })).toThrow(
    "`tsa`: ftp://x/tsa is not an http or https URL",
  );
  expect(() => createTsaStamper({ url: `not a url ${PASSWORD}` })).toThrow(/^`tsa`: is not a URL$/);
  expect(() => createTsaStamper({ url: tsa.url, ca: "/nonexistent/ca.pem" })).toThrow(
    "`ca`: cannot read /nonexistent/ca.pem (ENOENT)",
  );
  expect(tsa.requests).toBe(0);
});

test("a hash that is not 32 bytes is refused", async () => {
  await expect(createTsaStamper({ url: tsa.url })(Buffer.alloc(20))).rejects.toThrow(
    /: asked to stamp 20 bytes, not a 32-byte SHA-256 hash$/,
  );
});
