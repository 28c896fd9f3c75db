/**
 * The RFC 3161 structures this layer reads and writes, through pkijs and asn1js: the request
 * (TimeStampReq), the reply (TimeStampResp) and the token (a CMS SignedData whose content is a
 * TSTInfo). Nothing here trusts anything: the stamper and the offline check decide what is good.
 */
import { webcrypto } from "node:crypto";
import { ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";

/** SHA-256, the one imprint algorithm asked for and accepted. */
export const OID_SHA256 = "2.16.840.1.101.3.4.2.1";
/** CMS SignedData. */
export const OID_SIGNED_DATA = "1.2.840.113549.1.7.2";
/** id-ct-TSTInfo, the content type of a time-stamp token. */
export const OID_TST_INFO = "1.2.840.113549.1.9.16.1.4";
/** The CMS content-type signed attribute. */
export const OID_CONTENT_TYPE_ATTR = "1.2.840.113549.1.9.3";
/** id-kp-timeStamping (extended key usage). */
export const OID_KP_TIME_STAMPING = "1.3.6.1.5.5.7.3.8";
/** The extended key usage and basic constraints extensions. */
export const OID_EXT_KEY_USAGE = "2.5.29.37";
export const OID_BASIC_CONSTRAINTS = "2.5.29.19";

let engineSet = false;

/**
 * pkijs's crypto engine: Node's WebCrypto (set once, explicitly, rather than relying on pkijs
 * finding `globalThis.crypto` when it loads).
 */
export function pkijsEngine(): pkijs.ICryptoEngine {
  if (!engineSet) {
    pkijs.setEngine(
      "node",
      new pkijs.CryptoEngine({
        name: "node",
        crypto: webcrypto as unknown as ConstructorParameters<typeof pkijs.CryptoEngine>[0]["crypto"],
      }),
    );
    engineSet = true;
  }
  return pkijs.getCrypto(true);
}

/** The PKIStatus names of RFC 3161 (2.4.2). */
const STATUS_NAMES = [
  "granted",
  "grantedWithMods",
  "rejection",
  "waiting",
  "revocationWarning",
  "revocationNotification",
];

/** A fresh request: its DER and the nonce it carries (random, 64 bits, positive). */
export function buildRequest(hash: Buffer): { der: Buffer; nonce: bigint } {
  const bytes = new Uint8Array(8);
  webcrypto.getRandomValues(bytes);
  // Positive and minimally encoded: the first byte is 0x01-0x7f.
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x01;
  const nonce = BigInt(`0x${Buffer.from(bytes).toString("hex")}`);
  const request = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({
        algorithmId: OID_SHA256,
        algorithmParams: new asn1js.Null(),
      }),
      hashedMessage: new asn1js.OctetString({ valueHex: new Uint8Array(hash).buffer }),
    }),
    nonce: new asn1js.Integer({ valueHex: bytes.buffer }),
    certReq: true,
  });
  return { der: Buffer.from(request.toSchema().toBER()), nonce };
}

/** A structure that did not parse (`what` says which). */
export class AsnError extends ClarifaiAuditError {
  override name = "AsnError";
}

function fromDer<T>(what: string, der: Uint8Array, parse: (schema: asn1js.AsnType) => T): T {
  const view = new Uint8Array(der);
  let decoded: ReturnType<typeof asn1js.fromBER>;
  try {
    decoded = asn1js.fromBER(view);
  } catch {
    // asn1js throws on some malformed values (a GeneralizedTime that is no time).
    throw new AsnError(`${what} is not DER`);
  }
  if (decoded.offset === -1 || decoded.offset !== view.byteLength) throw new AsnError(`${what} is not DER`);
  try {
    return parse(decoded.result);
  } catch {
    throw new AsnError(`${what} is not a valid ${what}`);
  }
}

/** A parsed reply. */
export interface ParsedReply {
  status: number;
  /** The status's RFC 3161 name (`rejection`…). */
  statusName: string;
  /** The authority's free text and failure bits, when it gave any (untrusted text). */
  statusText: string;
  /** The token's DER, when the reply carries one. */
  token?: Buffer;
}

/** Parses a TimeStampResp. @throws AsnError */
export function parseReply(der: Uint8Array): ParsedReply {
  const reply = fromDer("time-stamp response", der, (schema) => new pkijs.TimeStampResp({ schema }));
  const status = reply.status.status as number;
  const texts = (reply.status.statusStrings ?? []).map((s) => s.valueBlock.value);
  const fail = reply.status.failInfo;
  if (fail !== undefined) texts.push(`failInfo ${failBits(fail)}`);
  const token = reply.timeStampToken?.toSchema().toBER();
  return {
    status,
    statusName: STATUS_NAMES[status] ?? `status ${status}`,
    statusText: texts.join("; "),
    ...(token !== undefined ? { token: Buffer.from(token) } : {}),
  };
}

/** PKIFailureInfo's bit names (RFC 3161 2.4.2). */
const FAIL_NAMES: Record<number, string> = {
  0: "badAlg",
  2: "badRequest",
  5: "badDataFormat",
  14: "timeNotAvailable",
  15: "unacceptedPolicy",
  16: "unacceptedExtension",
  17: "addInfoNotAvailable",
  25: "systemFailure",
};

function failBits(bits: asn1js.BitString): string {
  const bytes = bits.valueBlock.valueHexView;
  const names: string[] = [];
  for (let i = 0; i < bytes.length * 8; i++)
    if (((bytes[i >> 3] as number) >> (7 - (i & 7))) & 1) names.push(FAIL_NAMES[i] ?? `bit ${i}`);
  return names.join(",") || "none";
}

/** A parsed token: its SignedData and the TSTInfo it signs. */
export interface ParsedToken {
  signedData: pkijs.SignedData;
  tstInfo: pkijs.TSTInfo;
}

/** Parses a TimeStampToken (ContentInfo of a SignedData of a TSTInfo). @throws AsnError */
export function parseToken(der: Uint8Array): ParsedToken {
  const info = fromDer("time-stamp token", der, (schema) => new pkijs.ContentInfo({ schema }));
  if (info.contentType !== OID_SIGNED_DATA)
    throw new AsnError(`the time-stamp token is not CMS signed data (content type ${info.contentType})`);
  let signedData: pkijs.SignedData;
  try {
    signedData = new pkijs.SignedData({ schema: info.content });
  } catch {
    throw new AsnError("the time-stamp token's signed data is not valid");
  }
  const encap = signedData.encapContentInfo;
  if (encap.eContentType !== OID_TST_INFO || encap.eContent === undefined)
    throw new AsnError(`the time-stamp token's content is not a TSTInfo (${encap.eContentType})`);
  const tstInfo = fromDer(
    "TSTInfo",
    new Uint8Array(encap.eContent.getValue()),
    (schema) => new pkijs.TSTInfo({ schema }),
  );
  return { signedData, tstInfo };
}

/** Whether a TSTInfo's imprint is SHA-256 of `hash`'s preimage, i.e. `hash` itself. */
export function imprintProblem(tstInfo: pkijs.TSTInfo, hash: Buffer): string | undefined {
  const imprint = tstInfo.messageImprint;
  if (imprint.hashAlgorithm.algorithmId !== OID_SHA256)
    return `its imprint is not SHA-256 (algorithm ${imprint.hashAlgorithm.algorithmId})`;
  const got = Buffer.from(imprint.hashedMessage.valueBlock.valueHexView);
  if (!got.equals(hash)) return `its imprint is ${got.toString("hex")}, not ${hash.toString("hex")}`;
  return undefined;
}

/** An INTEGER's value. */
export function integerValue(value: asn1js.Integer): bigint {
  return value.toBigInt();
}

/** Certificates in PEM texts (each may hold several). @throws AsnError */
export function certificatesOfPem(pem: string): pkijs.Certificate[] {
  const out: pkijs.Certificate[] = [];
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  for (const m of pem.matchAll(re)) {
    const der = Buffer.from((m[1] as string).replace(/\s+/g, ""), "base64");
    out.push(fromDer("certificate", der, (schema) => new pkijs.Certificate({ schema })));
  }
  return out;
}
