/**
 * Secret redaction. Server text (status descriptions, gRPC details) is copied into our errors, and a
 * misbehaving server or proxy could echo the request's credentials; every string that reaches an
 * error passes through here first.
 */

/** What a redacted secret is replaced with. */
export const REDACTED = "[REDACTED]";

const AUTH_PHRASE = /\b(Key|Bearer)\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{16,}/g;

/**
 * Replaces every occurrence of `secret` in `text`, and the credential of any `Key <token>` /
 * `Bearer <token>` authorization phrase (so a PAT is hidden even when the secret is not known here).
 */
export function redact(text: string, secret?: string): string {
  let out = text;
  if (secret !== undefined && secret.length > 0 && out.includes(secret))
    out = out.split(secret).join(REDACTED);
  return out.replace(AUTH_PHRASE, `$1 ${REDACTED}`);
}
