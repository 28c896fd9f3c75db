/**
 * Secret redaction: the one layer every printed or logged string goes through. Server text (status
 * descriptions, gRPC details) is copied into our errors, and a misbehaving server or proxy could echo
 * the request's credentials; node-postgres and undici quote what they were given (a connection
 * string, a URL with credentials). Three nets, each catching what the others miss:
 * - the secrets this process knows ({@link registerSecret}: the PAT, database passwords, the alert
 *   signing secret, webhook credentials), replaced wherever they appear, in any of their spellings;
 * - the credential of any `Key <token>` / `Bearer <token>` phrase, known or not;
 * - every URL in the text ({@link redactUrl}): user info, query string and fragment, whether or not
 *   the URL parses.
 */

/** What a redacted secret is replaced with. */
export const REDACTED = "[REDACTED]";

const AUTH_PHRASE = /\b(Key|Bearer)\s+(?!\[REDACTED\])[A-Za-z0-9._~+/=-]{16,}/g;

/**
 * Known secrets shorter than this are not replaced by value (a 2-character password would scrub
 * every word holding those letters); URLs holding them are still redacted by shape.
 */
const MIN_KNOWN_LENGTH = 4;

/** The secrets of this process, in every spelling registered, longest first when applied. */
const known = new Set<string>();
let knownSorted: string[] = [];

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Records a secret value of this process, so that {@link redact} hides it wherever it appears: as
 * given, trimmed, percent-encoded, percent-decoded and JSON-escaped (the ways a message quotes it).
 */
export function registerSecret(value: string | undefined | null): void {
  if (value === undefined || value === null) return;
  const spellings = new Set<string>();
  for (const v of [value, value.trim()]) {
    spellings.add(v);
    spellings.add(encodeURIComponent(v));
    spellings.add(safeDecode(v));
    spellings.add(JSON.stringify(v).slice(1, -1));
  }
  let added = false;
  for (const s of spellings) {
    if (s.length >= MIN_KNOWN_LENGTH && !known.has(s)) {
      known.add(s);
      added = true;
    }
  }
  if (added) knownSorted = [...known].sort((a, b) => b.length - a.length);
}

/** Query parameters whose values are credentials (registered as secrets; all values are hidden in URLs). */
const SECRET_PARAM = /pass|secret|token|key|sig|auth|code|cred|session/i;

/**
 * Registers the secret parts of a URL: the password of its user info (all of a user info without
 * one, except a database URL's user name), and the values of query parameters named like
 * credentials (`token`, `key`, `sig`…). Other query values are not: `?format=json` would make every
 * "json" in a message `[REDACTED]`; the URL rule of {@link redact} hides them inside URLs.
 */
export function registerUrlSecrets(url: string): void {
  const m = /^([a-z][a-z0-9+.-]*:)\/*(.*)$/is.exec(url);
  const database = m !== null && /^postgres(ql)?:$/i.test(m[1] as string);
  const rest = m ? (m[2] as string) : url;
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(":");
    if (colon >= 0) registerSecret(userinfo.slice(colon + 1));
    else if (!database) registerSecret(userinfo);
  }
  const q = rest.search(/[?#]/);
  if (q >= 0) {
    for (const part of rest.slice(q + 1).split(/[&#;]/)) {
      const eq = part.indexOf("=");
      if (eq > 0 && SECRET_PARAM.test(part.slice(0, eq))) registerSecret(part.slice(eq + 1));
    }
  }
}

/** Forgets every registered secret (tests). */
export function clearSecrets(): void {
  known.clear();
  knownSorted = [];
}

/**
 * A URL anywhere in a text: a scheme, `://`, and everything up to white space or a quote, less the
 * punctuation that ends a sentence or a clause (`…/path: reason`).
 */
const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>`]*[^\s"'<>`.,:;!?)]/gi;

/** Query parameters of a PostgreSQL URL that are shown (they name where, never how to log in). */
const PG_SHOWN_PARAMS = /^(schema|table|sslmode|application_name|connect_timeout|target_session_attrs)$/i;

/**
 * `url` for a message: the user name of a database URL is kept, the rest of the user info (and all
 * of it for other URLs, where it is often a token alone), the query string (a database URL keeps
 * its harmless parameters) and the fragment are replaced; Slack's webhook path (the secret itself)
 * too. Works on text that does not parse as a URL: the user info ends at the LAST `@` (a password
 * holding a raw `/`, `?`, `#` or `@` would otherwise leave its tail in the host or path), so an
 * unusual URL is over-redacted rather than under.
 */
export function redactUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:)(\/*)(.*)$/is.exec(url);
  const scheme = m ? (m[1] as string) : "";
  const slashes = m ? (m[2] as string) : "";
  const rest = m ? (m[3] as string) : url;
  const database = /^postgres(ql)?:$/i.test(scheme);
  const at = rest.lastIndexOf("@");
  let userinfo = "";
  let after = rest;
  if (at >= 0) {
    const info = rest.slice(0, at);
    after = rest.slice(at + 1);
    const colon = info.indexOf(":");
    const name = colon < 0 ? info : info.slice(0, colon);
    // A "user name" holding / ? # is the host and path of a URL with a raw @ further on: hide it all.
    const plainName = !/[/?#[\]]/.test(name);
    // A usage hint's placeholder (`postgres://user:password@host…`) is shown as it is.
    const placeholder = info === "user:password";
    if (placeholder) userinfo = `${info}@`;
    else if (database && plainName) userinfo = colon < 0 ? `${name}@` : `${name}:${REDACTED}@`;
    else userinfo = `${REDACTED}@`;
  }
  const q = after.search(/[?#]/);
  let base = q < 0 ? after : after.slice(0, q);
  let tail = q < 0 ? "" : after.slice(q);
  if (/^hooks\.slack\.com(:\d+)?\//i.test(base)) base = base.replace(/\/.*$/, `/${REDACTED}`);
  if (tail !== "") {
    const hash = tail.indexOf("#");
    const query = hash < 0 ? tail : tail.slice(0, hash);
    let shownQuery = "";
    if (query.length > 1) {
      shownQuery = database
        ? `?${query
            .slice(1)
            .split("&")
            .map((p) => {
              const eq = p.indexOf("=");
              const key = eq < 0 ? p : p.slice(0, eq);
              return PG_SHOWN_PARAMS.test(key) ? p : `${key}=${REDACTED}`;
            })
            .join("&")}`
        : `?${REDACTED}`;
    }
    // A fragment is redacted (OAuth-style tokens ride there), except the 8 hex digits that end a
    // watch destination's name (packages/cli/src/watch/destinations.ts: a hash, not a secret).
    const fragment = hash < 0 ? undefined : tail.slice(hash + 1);
    tail = `${shownQuery}${fragment === undefined ? "" : /^[0-9a-f]{8}$/.test(fragment) ? `#${fragment}` : `#${REDACTED}`}`;
  }
  return `${scheme}${slashes}${userinfo}${base}${tail}`;
}

/**
 * `text` with every secret hidden: `secret` and the registered secrets wherever they appear, the
 * credential of any `Key <token>` / `Bearer <token>` phrase (so a PAT is hidden even when the secret
 * is not known here), and the credentials, query strings and fragments of the URLs it holds.
 */
export function redact(text: string, secret?: string): string {
  let out = text.includes("://") ? text.replace(URL_IN_TEXT, (url) => redactUrl(url)) : text;
  if (secret !== undefined && secret.length > 0 && out.includes(secret))
    out = out.split(secret).join(REDACTED);
  for (const s of knownSorted) if (out.includes(s)) out = out.split(s).join(REDACTED);
  return out.replace(AUTH_PHRASE, `$1 ${REDACTED}`);
}
