/**
 * Which certificate signed a time-stamp token, and whether it may: found by the signer's id among
 * the token's certificates and the trusted ones, trusted when it is one of the trusted certificates
 * or chains to one through CA certificates (each signature checked), valid at the token's time, and
 * allowed to stamp time (extended key usage id-kp-timeStamping). The ESS signing-certificate
 * attribute (RFC 2634 / RFC 5035) must name the same certificate, so that a token cannot be passed
 * off as signed by another certificate with the same key.
 */
import { createHash } from "node:crypto";
import { terminalSafe } from "@clarifai-audit/client/internal/domain/terminalText.js";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { OID_BASIC_CONSTRAINTS, OID_EXT_KEY_USAGE, OID_KP_TIME_STAMPING, OID_SHA256 } from "./asn.js";

/** Most CA certificates between the signer and a trusted certificate. */
const MAX_DEPTH = 4;

const OID_SIGNING_CERTIFICATE = "1.2.840.113549.1.9.16.2.12";
const OID_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47";
const OID_SHA1 = "1.3.14.3.2.26";
const HASH_OF_OID: Readonly<Record<string, string>> = {
  [OID_SHA1]: "sha1",
  [OID_SHA256]: "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

/** A certificate's DER. */
export function derOf(cert: pkijs.Certificate): Buffer {
  return Buffer.from(cert.toSchema().toBER());
}

/** A certificate's subject for a message (its CN, else the whole name). */
export function nameOf(cert: pkijs.Certificate): string {
  const parts = cert.subject.typesAndValues.map((tv) => {
    const v = (tv.value as { valueBlock?: { value?: unknown } }).valueBlock?.value;
    return { type: tv.type, value: typeof v === "string" ? v : "?" };
  });
  const cn = parts.find((p) => p.type === "2.5.4.3");
  return `"${terminalSafe((cn ?? parts[0] ?? { value: "(no subject)" }).value.slice(0, 120))}"`;
}

/** The signer's certificate among `certs`, by the SignerInfo's sid. */
export function findSigner(
  signerInfo: pkijs.SignerInfo,
  certs: readonly pkijs.Certificate[],
): pkijs.Certificate | undefined {
  const sid = signerInfo.sid;
  if (sid instanceof pkijs.IssuerAndSerialNumber)
    return certs.find((c) => c.issuer.isEqual(sid.issuer) && c.serialNumber.isEqual(sid.serialNumber));
  // [0] SubjectKeyIdentifier: SHA-1 of the public key (the usual method 1 of RFC 5280).
  const block = sid as asn1js.Constructed & asn1js.Primitive;
  const keyId = Buffer.from(
    block.idBlock.isConstructed
      ? (block.valueBlock.value[0] as asn1js.Primitive).valueBlock.valueHexView
      : block.valueBlock.valueHexView,
  );
  return certs.find((c) =>
    createHash("sha1")
      .update(c.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView)
      .digest()
      .equals(keyId),
  );
}

function extension(cert: pkijs.Certificate, oid: string): pkijs.Extension | undefined {
  return cert.extensions?.find((e) => e.extnID === oid);
}

function isCa(cert: pkijs.Certificate): boolean {
  const bc = extension(cert, OID_BASIC_CONSTRAINTS)?.parsedValue;
  return bc instanceof pkijs.BasicConstraints && bc.cA === true;
}

function validAt(cert: pkijs.Certificate, at: Date): boolean {
  return cert.notBefore.value.getTime() <= at.getTime() && at.getTime() <= cert.notAfter.value.getTime();
}

/**
 * Why `signer` may not have stamped at `at`, trusting `trusted` (certificates given by the auditor)
 * and using `pool` (the token's certificates and the trusted ones) to find issuers; undefined when
 * it may.
 */
export async function trustProblem(
  signer: pkijs.Certificate,
  at: Date,
  trusted: readonly pkijs.Certificate[],
  pool: readonly pkijs.Certificate[],
): Promise<string | undefined> {
  const eku = extension(signer, OID_EXT_KEY_USAGE)?.parsedValue;
  if (!(eku instanceof pkijs.ExtKeyUsage) || !eku.keyPurposes.includes(OID_KP_TIME_STAMPING))
    return `its signer ${nameOf(signer)} may not stamp time (no extended key usage timeStamping)`;
  const trustedDer = trusted.map(derOf);
  const isTrusted = (c: pkijs.Certificate) => {
    const der = derOf(c);
    return trustedDer.some((t) => t.equals(der));
  };
  let cert = signer;
  for (let depth = 0; ; depth++) {
    if (!validAt(cert, at))
      return `its ${depth === 0 ? "signer" : "issuer"} ${nameOf(cert)} was not valid at ${at.toISOString()}`;
    if (isTrusted(cert)) return undefined;
    if (depth >= MAX_DEPTH) break;
    const issuer = await issuerOf(cert, pool);
    if (issuer === undefined) break;
    cert = issuer;
  }
  return `its signer ${nameOf(signer)} is not one of the given TSA certificates nor issued by one`;
}

async function issuerOf(
  cert: pkijs.Certificate,
  pool: readonly pkijs.Certificate[],
): Promise<pkijs.Certificate | undefined> {
  const own = derOf(cert);
  for (const candidate of pool) {
    if (!isCa(candidate) || !cert.issuer.isEqual(candidate.subject) || derOf(candidate).equals(own)) continue;
    try {
      if (await cert.verify(candidate)) return candidate;
    } catch {
      // Another key type or a broken certificate: not this issuer.
    }
  }
  return undefined;
}

/** Why the ESS signing-certificate attribute does not name `signer`; undefined when it does. */
export function essProblem(signerInfo: pkijs.SignerInfo, signer: pkijs.Certificate): string | undefined {
  const attrs = signerInfo.signedAttrs?.attributes ?? [];
  const v2 = attrs.find((a) => a.type === OID_SIGNING_CERTIFICATE_V2);
  const attr = v2 ?? attrs.find((a) => a.type === OID_SIGNING_CERTIFICATE);
  if (attr === undefined)
    return "it does not name its signer's certificate (no ESS signing-certificate attribute)";
  try {
    // SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), policies OPTIONAL }
    const certs = ((attr.values[0] as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence).valueBlock
      .value;
    const first = (certs[0] as asn1js.Sequence).valueBlock.value;
    let algorithm = v2 !== undefined ? OID_SHA256 : OID_SHA1;
    let hashBlock = first[0];
    // ESSCertIDv2 ::= SEQUENCE { hashAlgorithm DEFAULT sha256, certHash, issuerSerial OPTIONAL }
    if (v2 !== undefined && first[0] instanceof asn1js.Sequence) {
      algorithm = new pkijs.AlgorithmIdentifier({ schema: first[0] }).algorithmId;
      hashBlock = first[1];
    }
    const name = HASH_OF_OID[algorithm];
    if (name === undefined)
      return `its ESS signing-certificate attribute uses an unknown hash (${algorithm})`;
    const got = Buffer.from((hashBlock as asn1js.OctetString).valueBlock.valueHexView);
    const want = createHash(name).update(derOf(signer)).digest();
    if (!got.equals(want))
      return `its ESS signing-certificate attribute names another certificate than its signer ${nameOf(signer)}`;
    return undefined;
  } catch {
    return "its ESS signing-certificate attribute is not valid";
  }
}
