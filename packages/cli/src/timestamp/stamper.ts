/**
 * Asking a time-stamping authority (RFC 3161) for a token over a digest's hash.
 *
 * What is stamped: the Stamper is given the digest's hash, SHA-256 of the digest's canonical bytes
 * (packages/client/src/digest/document.ts digestHash), 32 bytes. The request's message imprint is
 * {SHA-256, that hash}: the digest's bytes are hashed once, and that value is time-stamped (it is not
 * hashed again). So `openssl ts -verify -digest <the digest's hash, hex>` checks a token as it is.
 *
 * A reply is accepted only when it grants the request (granted or grantedWithMods), carries a
 * token whose TSTInfo imprint is that hash and echoes the request's random nonce; anything else
 * fails the stamp (and so the commit) with one line naming the authority (its URL redacted) and
 * what was wrong. The token is not checked against a certificate here: that is
 * {@link checkTimestamp}'s work, offline, with the certificates an auditor trusts.
 */
import { readFileSync } from "node:fs";
import { rootCertificates } from "node:tls";
import type { Stamper } from "@clarifai-audit/client/internal/digest/chain.js";
import type { DigestTimestamp } from "@clarifai-audit/client/internal/digest/document.js";
import { AuditUsageError, ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import { redact, redactUrl, registerUrlSecrets } from "@clarifai-audit/client/internal/domain/redact.js";
import { terminalSafe } from "@clarifai-audit/client/internal/domain/terminalText.js";
import { AsnError, buildRequest, imprintProblem, integerValue, parseReply, parseToken } from "./asn.js";
import { examineToken } from "./check.js";
import { postQuery, QueryFailure } from "./http.js";

/** Options of {@link createTsaStamper} (re-exported by ./index.ts). */
export interface TsaOptions {
  /** The authority's URL (http or https; user-info is a secret, never printed). */
  url: string;
  /** A CA file (PEM) to trust for an https authority, beside the system's. */
  ca?: string;
  /** Per request (default 10 s). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Attempts after the first on connection failures, deadlines and 5xx (default 2). */
  retries?: number;
  /** The first retry's delay, doubled for each next one (default 500 ms). */
  backoffMs?: number;
}

/**
 * A time-stamping authority did not give a good token (unreachable, refused, or a reply that does
 * not answer the request): the commit that asked fails, and nothing unstamped is written.
 */
export class TimestampError extends ClarifaiAuditError {
  override name = "TimestampError";
  constructor(
    /** The authority, as shown (user info, query and fragment redacted). */
    readonly tsa: string,
    /** What was wrong (one line). */
    readonly problem: string,
    /** The caller's signal stopped it (not the authority's fault). */
    readonly interrupted = false,
  ) {
    super(redact(`time-stamping authority ${tsa}: ${problem}`));
  }
}

/** The largest token a digest holds (its schema caps the base64 at 65536 characters). */
const MAX_TOKEN_BYTES = (65536 / 4) * 3;

/** At most this much of an authority's status text is quoted. */
const MAX_STATUS_TEXT = 200;

/**
 * The URL parsed and its secrets registered, or a usage error (`tsa`) before any request.
 * @throws AuditUsageError
 */
function parseTsaUrl(text: string): URL {
  registerUrlSecrets(text);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new AuditUsageError({ input: "tsa", problem: "is not a URL", allowed: "http://… or https://…" });
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new AuditUsageError({
      input: "tsa",
      problem: `${redactUrl(text)} is not an http or https URL`,
      allowed: "http://… or https://…",
    });
  if (url.password !== "") registerUrlSecrets(url.href);
  return url;
}

function readCa(path: string): string[] {
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "unreadable";
    throw new AuditUsageError({ input: "ca", problem: `cannot read ${path} (${code})` });
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----"))
    throw new AuditUsageError({ input: "ca", problem: `${path} holds no PEM certificate` });
  return [...rootCertificates, pem];
}

/** See the module comment; the options are checked (and the CA file read) here, before any request. */
export function createTsaStamper(options: TsaOptions): Stamper {
  const url = parseTsaUrl(options.url);
  const shown = redactUrl(options.url);
  // What a digest records: no user info, query or fragment (they may carry credentials).
  const recorded = `${url.protocol}//${url.host}${url.pathname}`;
  const target = {
    url,
    ...(options.ca !== undefined ? { ca: readCa(options.ca) } : {}),
    timeoutMs: options.timeoutMs ?? 10_000,
    retries: options.retries ?? 2,
    backoffMs: options.backoffMs ?? 500,
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  };
  const fail = (problem: string, interrupted = false) => new TimestampError(shown, problem, interrupted);

  return async (hash: Buffer): Promise<DigestTimestamp> => {
    if (hash.length !== 32) throw fail(`asked to stamp ${hash.length} bytes, not a 32-byte SHA-256 hash`);
    const request = buildRequest(hash);
    let body: Buffer;
    try {
      body = await postQuery(target, request.der);
    } catch (e) {
      if (e instanceof QueryFailure) throw fail(e.message, e.aborted);
      throw e;
    }
    let token: Buffer;
    try {
      const reply = parseReply(body);
      if (reply.status !== 0 && reply.status !== 1) {
        const text = terminalSafe(reply.statusText.slice(0, MAX_STATUS_TEXT));
        throw fail(`did not grant the time-stamp (${reply.statusName}${text !== "" ? `: ${text}` : ""})`);
      }
      if (reply.token === undefined) throw fail("granted the time-stamp but sent no token");
      token = reply.token;
      if (token.length > MAX_TOKEN_BYTES)
        throw fail(`its token is ${token.length} bytes, more than a digest holds (${MAX_TOKEN_BYTES})`);
      const { tstInfo } = parseToken(token);
      const wrong = imprintProblem(tstInfo, hash);
      if (wrong !== undefined) throw fail(`its token does not answer the request: ${wrong}`);
      if (tstInfo.nonce === undefined) throw fail("its token does not echo the request's nonce");
      if (integerValue(tstInfo.nonce) !== request.nonce)
        throw fail("its token echoes another nonce than the request's");
      // Signed as it says, by a certificate it carries that may stamp time: a token that no
      // certificate can check would make a digest that never verifies.
      const own = await examineToken(token, hash);
      if ("problem" in own) throw fail(`its token is not valid: ${own.problem}`);
    } catch (e) {
      if (e instanceof AsnError)
        throw fail(`its reply is not an RFC 3161 time-stamp response (${e.message})`);
      throw e;
    }
    return { tsa: recorded, token: token.toString("base64") };
  };
}
