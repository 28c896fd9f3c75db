/**
 * What the TLS transports of the stream destinations (syslog+tls, splunk+https) share: the PEM file
 * of a private CA (`ca`), read bounded and checked before any connection, and the one-line refusal
 * of a certificate or handshake the checks rejected (certificate checks are always on).
 */
import { readRegularFile } from "@clarifai-audit/client/internal/state/stateReader.js";
import { SyncUsageError } from "../store.js";

/** Largest CA file read: a bundle of a few hundred certificates. */
const MAX_CA_BYTES = 4 * 1024 * 1024;

/**
 * The certificates of the PEM file at `path` (the option `ca`).
 * @throws SyncUsageError (one line naming `ca`) for a file that is absent, unreadable, not regular, too large, or holds no certificate.
 */
export async function readCaFile(path: string): Promise<Buffer> {
  const fail = (problem: string) =>
    new SyncUsageError({
      input: "ca",
      problem: `${path} ${problem}`,
      allowed: "a PEM file of CA certificates",
    });
  const bytes = await readRegularFile(path, MAX_CA_BYTES, fail, "a CA file");
  if (bytes === undefined) throw fail("does not exist");
  if (!bytes.includes("-----BEGIN CERTIFICATE-----")) throw fail("holds no PEM certificate");
  return bytes;
}

/** Node's codes of a certificate that failed the checks (OpenSSL's verify errors, the host name check). */
const CERT_CODES =
  /^(ERR_TLS_CERT_ALTNAME_INVALID|UNABLE_TO_|SELF_SIGNED_CERT|DEPTH_ZERO_SELF_SIGNED_CERT|CERT_|ERR_SSL_|ERR_TLS_|HOSTNAME_MISMATCH|INVALID_CA|PATH_LENGTH_EXCEEDED|INVALID_PURPOSE)/;

/**
 * The refusal of a TLS connection the checks (or the server) rejected, as one line naming the
 * destination; undefined for anything else (a refused or dropped connection: transient).
 */
export function tlsRefusal(description: string, error: unknown): SyncUsageError | undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code !== "string" || !CERT_CODES.test(code)) return undefined;
  const reason = (error as Error).message.replace(/\s+/g, " ").trim();
  return SyncUsageError.store(
    `${description}: the TLS connection was refused (${code}: ${reason}); nothing was sent`,
    "a server certificate valid for the host and issued by a trusted CA (`ca` for a private one)",
  );
}
