/**
 * `s3://BUCKET/PREFIX[?layout=lake|stream|security-lake&path_style=true|false]` (with
 * `security-lake`: `account_id=` and optionally `region=`, `source=`): an S3 destination, parsed and
 * checked before anything is opened. Credentials never come from the URL (the standard AWS chain
 * supplies them: a URL is printed in messages and kept in shell history), so a URL with user info
 * is refused without being echoed.
 */
import { SyncUsageError } from "../store.js";

/** A checked S3 destination. */
export interface S3Target {
  bucket: string;
  /** Without leading or trailing slash; "" for the bucket's root. */
  prefix: string;
  layout: "lake" | "stream" | "security-lake";
  /** With `layout=security-lake`: where the custom sources' partitions say the events come from. */
  securityLake?: SecurityLakeTarget;
  /** For messages: `s3://BUCKET/PREFIX` (and the layout when not the default). */
  description: string;
  /**
   * `path_style=true|false` as the URL says; undefined when it says nothing (then path-style is used
   * for an endpoint that is an IP address or localhost, where virtual-hosted names cannot resolve).
   */
  pathStyle?: boolean;
}

/** The partition values and name of an AWS Security Lake custom source (securityLake.ts). */
export interface SecurityLakeTarget {
  /** `region=`: an AWS Region (`us-east-1`); undefined = the AWS chain's (`AWS_REGION`). */
  region?: string;
  /** `account_id=`: the 12-digit AWS account the events are filed under. */
  accountId: string;
  /** `source=`: the custom sources' names begin with it, then `-` and the OCSF class_uid. */
  source: string;
}

/** The URL parameters and their values. */
const PARAMETERS =
  "layout=lake|stream|security-lake, path_style=true|false; with security-lake: account_id=12 digits, region=e.g. us-east-1, source=1 to 15 of A-Z a-z 0-9 _ - . :";

/** The custom sources' names' start by default (`clarifai-audit-3004`…). */
export const DEFAULT_SECURITY_LAKE_SOURCE = "clarifai-audit";

/** An AWS Region name (`us-east-1`, `us-gov-west-1`, `ap-southeast-4`). */
export const AWS_REGION_PATTERN = /^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$/;

/**
 * What is wrong with a security-lake parameter, or undefined. A source name: AWS allows 64
 * characters of `[\w\-_:.]` but the source's provider role name (`AmazonSecurityLake-Provider-NAME-REGION`)
 * must stay within 64, hence 20 for the custom source's name; `-` and the 4-digit class take 5.
 */
function securityLakeProblem(name: string, value: string): string | undefined {
  if (name === "account_id" && !/^[0-9]{12}$/.test(value)) return "must be an AWS account id: 12 digits";
  if (name === "region" && !AWS_REGION_PATTERN.test(value)) return "must be an AWS Region such as us-east-1";
  if (name === "source" && !/^[A-Za-z0-9_\-:.]{1,15}$/.test(value))
    return "must be 1 to 15 of A-Z a-z 0-9 _ - . : (the custom source is SOURCE-CLASS_UID, at most 20 characters)";
  return undefined;
}

/** Longest prefix accepted: S3 keys hold 1024 bytes, and the lake's names need room below it. */
const MAX_PREFIX_BYTES = 512;

/**
 * What is wrong with a bucket name under S3's naming rules (general purpose buckets), or undefined:
 * checked here so a typo is refused before any request (the server would answer with a less
 * helpful error, or a DNS failure under virtual-hosted addressing).
 */
export function bucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return "must be 3 to 63 characters long";
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(name))
    return "may hold lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit";
  if (name.includes("..")) return "must not hold two dots in a row";
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return "must not be an IP address";
  if (name.startsWith("xn--") || name.startsWith("sthree-")) return "must not begin with xn-- or sthree-";
  if (name.endsWith("-s3alias") || /-{2}ol-s3$/.test(name))
    return "must not end with -s3alias, or with -ol-s3 after a hyphen";
  return undefined;
}

function refuse(problem: string): never {
  throw SyncUsageError.store(problem);
}

/** The prefix without leading, trailing or doubled slashes; refuses `.`/`..` segments and control characters. */
function normalizePrefix(raw: string, shown: string): string {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    refuse(`${shown}: the prefix is not valid percent-encoding`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(decoded)) refuse(`${shown}: the prefix holds a control character`);
  const segments = decoded.split("/").filter((s) => s !== "");
  if (segments.some((s) => s === "." || s === ".."))
    refuse(`${shown}: the prefix must not hold . or .. segments`);
  const prefix = segments.join("/");
  if (Buffer.byteLength(prefix) > MAX_PREFIX_BYTES)
    refuse(`${shown}: the prefix is longer than ${MAX_PREFIX_BYTES} bytes`);
  return prefix;
}

/** Parses `text` (`s3://BUCKET/PREFIX?…`); throws {@link SyncUsageError} (one line, no secret) for a bad one. */
export function parseS3Url(text: string): S3Target {
  const m = /^s3:\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(#.*)?$/is.exec(text);
  if (m === null || !/^s3:/.test(text)) refuse(`${text.split("?")[0]}: not an s3://BUCKET/PREFIX URL`);
  const authority = m[1] as string;
  if (authority.includes("@"))
    refuse(
      "s3://…: credentials in the URL are not allowed; they come from the AWS chain (AWS_ACCESS_KEY_ID…, AWS_PROFILE, SSO, instance roles)",
    );
  const shown = `s3://${authority}${m[2] as string}`;
  if (m[4] !== undefined) refuse(`${shown}: a fragment (#…) is not allowed`);
  const bucketProblem = bucketNameProblem(authority);
  if (bucketProblem !== undefined)
    refuse(`${shown}: the bucket name ${JSON.stringify(authority)} ${bucketProblem}`);
  const prefix = normalizePrefix(m[2] as string, shown);
  let layout: S3Target["layout"] = "lake";
  let pathStyle: boolean | undefined;
  const lakeParameters = new Map<string, string>();
  const seen = new Set<string>();
  for (const pair of (m[3] ?? "").split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? "" : pair.slice(eq + 1);
    if (seen.has(name)) refuse(`${shown}: the parameter ${name} is given twice`);
    seen.add(name);
    if (name === "layout" && (value === "lake" || value === "stream" || value === "security-lake"))
      layout = value;
    else if (name === "account_id" || name === "region" || name === "source") {
      const problem = securityLakeProblem(name, value);
      if (problem !== undefined)
        refuse(`${shown}: ${name}=${JSON.stringify(value)} is not allowed: it ${problem}`);
      lakeParameters.set(name, value);
    } else if (name === "path_style" && (value === "true" || value === "false")) pathStyle = value === "true";
    else if (name === "layout" || name === "path_style")
      refuse(`${shown}: ${name}=${value} is not allowed (allowed: ${PARAMETERS})`);
    else refuse(`${shown}: unknown parameter ${JSON.stringify(name)} (allowed: ${PARAMETERS})`);
  }
  const base = `s3://${authority}${prefix === "" ? "" : `/${prefix}`}`;
  let securityLake: SecurityLakeTarget | undefined;
  if (layout === "security-lake") {
    const accountId = lakeParameters.get("account_id");
    if (accountId === undefined)
      refuse(
        `${shown}: layout=security-lake needs account_id=<12-digit AWS account id> (the accountId= partition)`,
      );
    const region = lakeParameters.get("region");
    securityLake = {
      accountId,
      source: lakeParameters.get("source") ?? DEFAULT_SECURITY_LAKE_SOURCE,
      ...(region !== undefined ? { region } : {}),
    };
  } else if (lakeParameters.size > 0)
    refuse(
      `${shown}: ${[...lakeParameters.keys()].join(", ")} only go with layout=security-lake (allowed: ${PARAMETERS})`,
    );
  return {
    bucket: authority,
    prefix,
    layout,
    description: layout === "lake" ? base : `${base}?layout=${layout}`,
    ...(pathStyle === undefined ? {} : { pathStyle }),
    ...(securityLake === undefined ? {} : { securityLake }),
  };
}

/** The object key of `name` below the target's prefix. */
export function keyOf(target: Pick<S3Target, "prefix">, name: string): string {
  return target.prefix === "" ? name : `${target.prefix}/${name}`;
}
