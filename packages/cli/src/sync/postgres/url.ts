/**
 * `sync --dest postgres://…`: the destination URL and PG* environment variables, checked before any
 * connection. Light on purpose (no `pg`): the sync command reads it to choose a store.
 */
import {
  redactUrl,
  registerSecret,
  registerUrlSecrets,
} from "@clarifai-audit/client/internal/domain/redact.js";
import { SyncUsageError } from "../store.js";

// One redaction for every URL printed (packages/client/src/domain/redact.ts); re-exported for the store.
export { redactUrl };

/** The default table of entries. */
export const DEFAULT_TABLE = "audit_log";

/** A checked PostgreSQL destination. */
export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  /** From the URL, else PGPASSWORD; undefined lets node-postgres read ~/.pgpass. Never printed. */
  password?: string;
  database: string;
  /** Undefined: the connection's current schema (the first of its search_path, usually `public`). */
  schema?: string;
  table: string;
  /** node-postgres `ssl` from sslmode (URL `sslmode` or PGSSLMODE). */
  ssl: false | { rejectUnauthorized: boolean };
  /** Shown in pg_stat_activity (URL `application_name`, default `clarifai-audit sync`). */
  applicationName: string;
  /** The destination without the password, for messages. */
  description: string;
}

/** The connection settings node-postgres takes for `t` (one place: the store's and the coordinator's sessions). */
export function connectionSettings(t: PostgresTarget, applicationName = t.applicationName) {
  return {
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    database: t.database,
    ssl: t.ssl,
    application_name: applicationName,
  };
}

/**
 * True when `to` names a PostgreSQL destination rather than a directory: any `postgres:` or
 * `postgresql:` text, so that a URL missing a slash is refused (without its password) rather than
 * taken for a folder name.
 */
export function isPostgresUrl(to: string): boolean {
  return /^postgres(ql)?:/i.test(to);
}

// Lower case only, so the name needs no quoting and means the same in psql as here; short enough
// that the index names derived from it stay within PostgreSQL's 63 bytes.
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;
const IDENTIFIER_ALLOWED = "lower-case letters, digits and _ (not first), at most 40 characters";
const PARAMS = ["schema", "table", "sslmode", "application_name"];
const SSLMODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full", "no-verify"];

const usage = SyncUsageError.store;

function checkIdentifier(what: string, value: string): string {
  if (!IDENTIFIER.test(value)) {
    throw usage(
      `${what} ${JSON.stringify(value)} is not allowed: use ${IDENTIFIER_ALLOWED}`,
      IDENTIFIER_ALLOWED,
    );
  }
  return value;
}

/** The URL as printed: scheme, user, host, port, database, never the password. */
function describe(t: Omit<PostgresTarget, "description">): string {
  const where = `${t.schema ? `${t.schema}.` : ""}${t.table}`;
  const host = t.host.includes(":") ? `[${t.host}]` : t.host;
  return `postgres://${encodeURIComponent(t.user)}@${host}:${t.port}/${encodeURIComponent(t.database)} (table ${where})`;
}

/**
 * Parses `postgres://user:pass@host:port/db[?schema=…&table=…&sslmode=…]`. Parts the URL leaves
 * out come from PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE and PGSSLMODE in `env`, then
 * libpq's defaults (localhost, 5432, the user name as database). `table` overrides the URL's.
 * Throws {@link SyncUsageError} (one line, password never included) for anything malformed.
 */
export function parsePostgresUrl(
  url: string,
  env: Record<string, string | undefined> = {},
  table?: string,
): PostgresTarget {
  // Before anything can quote it, even when the URL does not parse.
  registerUrlSecrets(url);
  registerSecret(env.PGPASSWORD);
  if (!/^postgres(ql)?:\/\//i.test(url)) {
    throw usage(`${JSON.stringify(redactUrl(url))} is not a postgres:// or postgresql:// URL`);
  }
  // A raw / ? # or @ in the password ends the host part early: the password's tail would be taken
  // for a host, port, path or query (libpq reads such a URL wrongly too). An @ after the host part
  // is refused with the fix; the message shows the URL redacted up to its last @.
  const afterScheme = url.slice(url.indexOf("://") + 3);
  const hostEnd = afterScheme.search(/[/?#]/);
  if (hostEnd >= 0 && afterScheme.indexOf("@", hostEnd) >= 0) {
    throw usage(
      `${JSON.stringify(redactUrl(url))} holds an @ after its host part: percent-encode / ? # and @ in the user name, password or parameters (%2F %3F %23 %40)`,
    );
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw usage(
      `${JSON.stringify(redactUrl(url))} is not a valid URL: expected postgres://user:password@host:port/database[?schema=…]`,
    );
  }
  if (u.hash) throw usage("a postgres URL takes no #fragment");
  for (const key of u.searchParams.keys()) {
    if (!PARAMS.includes(key)) {
      throw usage(
        `unknown URL parameter ${JSON.stringify(key)}: allowed ${PARAMS.join(", ")}`,
        PARAMS.join(", "),
      );
    }
  }
  const decode = (s: string, what: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw usage(`the URL's ${what} has a malformed %-escape`);
    }
  };
  let host = u.hostname || env.PGHOST || "localhost";
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  if (host.startsWith("/"))
    throw usage("Unix-socket hosts are not supported: give a TCP host name or address");
  const portText = u.port || env.PGPORT || "5432";
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
    throw usage(`port ${JSON.stringify(portText)} is not a TCP port (1-65535)`);
  }
  const user = u.username ? decode(u.username, "user name") : env.PGUSER || env.USER || "postgres";
  const password = u.password ? decode(u.password, "password") : env.PGPASSWORD || undefined;
  registerSecret(password);
  const path = u.pathname.replace(/^\//, "");
  if (path.includes("/"))
    throw usage(`the URL's path must be one database name, not ${JSON.stringify(path)}`);
  const database = path ? decode(path, "database name") : env.PGDATABASE || user;
  const schemaParam = u.searchParams.get("schema");
  const schema = schemaParam === null ? undefined : checkIdentifier("schema", schemaParam);
  const tableName = checkIdentifier("table", table ?? u.searchParams.get("table") ?? DEFAULT_TABLE);
  const sslmode = u.searchParams.get("sslmode") ?? env.PGSSLMODE ?? "disable";
  if (!SSLMODES.includes(sslmode))
    throw usage(`sslmode ${JSON.stringify(sslmode)}: allowed ${SSLMODES.join(", ")}`, SSLMODES.join(", "));
  // node-postgres cannot fall back from TLS to plain (allow/prefer): those connect without TLS.
  const ssl =
    sslmode === "require" || sslmode === "no-verify"
      ? { rejectUnauthorized: false }
      : sslmode === "verify-ca" || sslmode === "verify-full"
        ? { rejectUnauthorized: true }
        : (false as const);
  const applicationName = u.searchParams.get("application_name") ?? "clarifai-audit sync";
  const t = { host, port, user, password, database, schema, table: tableName, ssl, applicationName };
  return { ...t, description: describe(t) };
}
