/**
 * The offline check of a digest's time-stamp: the token is a CMS SignedData of a TSTInfo whose
 * imprint is {SHA-256, the digest's hash} (see ./stamper.ts: the hash is stamped as it is), its one
 * signature verifies (pkijs) with a certificate the auditor trusts or that chains to one, and that
 * certificate may stamp time (./trust.ts). No network: revocation is not checked.
 */
import { AuditUsageError } from "@clarifai-audit/client/internal/domain/errors.js";
import * as pkijs from "pkijs";
import {
  AsnError,
  certificatesOfPem,
  imprintProblem,
  OID_CONTENT_TYPE_ATTR,
  OID_TST_INFO,
  parseToken,
  pkijsEngine,
} from "./asn.js";
import { derOf, essProblem, findSigner, trustProblem } from "./trust.js";

/** What {@link checkTimestamp} found (re-exported by ./index.ts). */
export type TimestampCheck = { ok: true; genTime: string } | { ok: false; problem: string };

/** The last certificates parsed (a verifier checks every digest of a chain with the same ones). */
let lastTrusted: { key: string; certs: pkijs.Certificate[] } | undefined;

/** The trusted certificates of PEM texts. @throws AuditUsageError (`tsaCerts`) */
function trustedCertificates(tsaCerts: readonly string[]): pkijs.Certificate[] {
  const key = JSON.stringify(tsaCerts);
  if (lastTrusted?.key === key) return lastTrusted.certs;
  const out: pkijs.Certificate[] = [];
  tsaCerts.forEach((pem, i) => {
    let certs: pkijs.Certificate[];
    try {
      certs = certificatesOfPem(pem);
    } catch (e) {
      throw new AuditUsageError({
        input: "tsaCerts",
        problem: `certificate file ${i + 1}: ${(e as Error).message}`,
      });
    }
    if (certs.length === 0)
      throw new AuditUsageError({
        input: "tsaCerts",
        problem: `certificate file ${i + 1} holds no PEM certificate`,
      });
    out.push(...certs);
  });
  if (out.length === 0) throw new AuditUsageError({ input: "tsaCerts", problem: "no TSA certificate given" });
  lastTrusted = { key, certs: out };
  return out;
}

/**
 * Checks `stamp` offline: a token over `hash` (32 bytes), signed by a certificate among `tsaCerts`
 * (PEM texts) or issued by one, that may stamp time (extended key usage timeStamping).
 * @throws AuditUsageError when `tsaCerts` holds no certificate or one that does not parse
 */
export async function checkTimestamp(
  stamp: { tsa: string; token: string },
  hash: Buffer,
  tsaCerts: readonly string[],
): Promise<{ ok: true; genTime: string } | { ok: false; problem: string }> {
  const trusted = trustedCertificates(tsaCerts);
  const der = Buffer.from(stamp.token, "base64");
  const found =
    der.length === 0 || der.toString("base64") !== stamp.token.replace(/\s+/g, "")
      ? { problem: "its token is not base64" }
      : await examineToken(der, hash, trusted);
  return "problem" in found
    ? { ok: false, problem: `the time-stamp: ${found.problem}` }
    : { ok: true, genTime: found.genTime.toISOString() };
}

/**
 * What is wrong with the token `der` over `hash`, or its time: trusting `trusted`, or, without it,
 * the signer's certificate the token carries (the stamper's own check of a fresh token: signed as
 * it says, by a certificate that may stamp time, valid then).
 */
export async function examineToken(
  der: Buffer,
  hash: Buffer,
  trusted?: readonly pkijs.Certificate[],
): Promise<{ problem: string } | { genTime: Date }> {
  const problem = (text: string) => ({ problem: text });
  let parsed: ReturnType<typeof parseToken>;
  try {
    parsed = parseToken(der);
  } catch (e) {
    if (e instanceof AsnError) return problem(e.message);
    throw e;
  }
  const { signedData, tstInfo } = parsed;
  if (tstInfo.version !== 1) return problem(`its TSTInfo is version ${tstInfo.version}, not 1`);
  const wrong = imprintProblem(tstInfo, hash);
  if (wrong !== undefined) return problem(`it is over another hash: ${wrong}`);
  const genTime = tstInfo.genTime;
  if (!(genTime instanceof Date) || Number.isNaN(genTime.getTime())) return problem("its time is not valid");
  if (signedData.signerInfos.length !== 1)
    return problem(`it has ${signedData.signerInfos.length} signatures, not one`);
  const signerInfo = signedData.signerInfos[0] as pkijs.SignerInfo;
  const contentType = signerInfo.signedAttrs?.attributes.find((a) => a.type === OID_CONTENT_TYPE_ATTR);
  const signedType = (
    contentType?.values[0] as { valueBlock?: { toString(): string } } | undefined
  )?.valueBlock?.toString();
  if (signedType !== OID_TST_INFO) return problem("its signed attributes do not name a TSTInfo content");

  const inToken = (signedData.certificates ?? []).filter(
    (c): c is pkijs.Certificate => c instanceof pkijs.Certificate,
  );
  const pool = [...inToken, ...(trusted ?? [])];
  const signer = findSigner(signerInfo, pool);
  if (signer === undefined)
    return problem(
      `its signer's certificate is not in the token${trusted !== undefined ? " nor given" : ""}`,
    );
  if (!(await signatureVerifies(der, signer))) return problem("its signature does not verify");
  const untrusted = await trustProblem(signer, genTime, trusted ?? [signer], pool);
  if (untrusted !== undefined) return problem(untrusted);
  const ess = essProblem(signerInfo, signer);
  if (ess !== undefined) return problem(ess);
  return { genTime };
}

/**
 * pkijs's check of the one signature, by `signer`: the signed attributes' message digest over the
 * TSTInfo's bytes, and the signature over the signed attributes. pkijs checks a TSTInfo's imprint
 * against the stamped data itself, which a digest's verifier does not have (only its hash, checked
 * above), so the check runs on a fresh parse whose content type is plain data; the signed content-type
 * attribute was checked to be TSTInfo before.
 */
async function signatureVerifies(der: Buffer, signer: pkijs.Certificate): Promise<boolean> {
  const crypto = pkijsEngine();
  // A fresh parse: its signed attributes keep the bytes they were signed as.
  const copy = parseToken(der).signedData;
  copy.encapContentInfo.eContentType = "1.2.840.113549.1.7.1";
  copy.certificates = [signer];
  try {
    const result = await copy.verify({ signer: 0, checkChain: false, extendedMode: true }, crypto);
    return (
      result.signatureVerified === true &&
      derOf(result.signerCertificate as pkijs.Certificate).equals(derOf(signer))
    );
  } catch {
    return false;
  }
}
