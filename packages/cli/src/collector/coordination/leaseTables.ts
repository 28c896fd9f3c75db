/**
 * The SQL of account leases (docs/design/coordination.md): two tables in the coordination URL's
 * schema, `clarifai_audit_leases` (one row per group and account: owner, fencing token, expiry) and
 * `clarifai_audit_instances` (one row per live instance of a group, for balancing), and one session
 * that runs every statement under a bounded time. Every expiry is judged by the DATABASE clock
 * (`now()`), never by an instance's, so instances whose clocks disagree still agree on who holds what.
 */
import { ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import pg from "pg";
import { connectError, pgMessage } from "../../sync/postgres/errors.js";
import { connectionSettings, type PostgresTarget, parsePostgresUrl } from "../../sync/postgres/url.js";

/** Table of leases. */
export const LEASES_TABLE = "clarifai_audit_leases";
/** Table of the instances of each group (their heartbeat). */
export const INSTANCES_TABLE = "clarifai_audit_instances";

/** One lease as read from the table. */
export interface LeaseRow {
  account: string;
  owner: string;
  token: number;
  /** Unexpired by the database's clock. */
  live: boolean;
}

/** A lease this session renewed or took, and its fencing token. */
export interface LeaseGrant {
  account: string;
  token: number;
}

/** A statement that did not answer within the session's bound: the connection is dropped. */
export class LeaseQueryTimeout extends ClarifaiAuditError {
  override name = "LeaseQueryTimeout";
}

/**
 * One connection to the coordination database, replaced when it breaks or a statement overruns
 * `timeoutMs` (its state is then unknown: a late answer must not be taken for a current one).
 */
export class LeaseSession {
  readonly target: PostgresTarget;
  #client: pg.Client | undefined;
  #leases = "";
  #instances = "";
  #ready = false;
  /** Set by {@link close}: a statement still queued then must not open a new connection. */
  #closed = false;
  /** Statements run one at a time (node-postgres queues them, but deprecates relying on it). */
  #queue: Promise<unknown> = Promise.resolve();

  /** Parses the URL (throws SyncUsageError, one line, no password); connects lazily. */
  constructor(
    url: string,
    env: Record<string, string | undefined>,
    readonly timeoutMs: number,
  ) {
    this.target = parsePostgresUrl(url, env);
  }

  /** The URL without its password. */
  get description(): string {
    return this.target.description.replace(/ \(table [^)]*\)$/, "");
  }

  /** One line for `err`, the password removed. */
  message(err: unknown): string {
    return pgMessage(err, this.target);
  }

  /** Connects (if needed) and creates the tables when missing. */
  async ready(): Promise<void> {
    await this.#query("SELECT 1", []);
  }

  /** Marks this instance alive for `leaseMs` more (by the database's clock). */
  async heartbeat(group: string, owner: string, leaseMs: number): Promise<void> {
    await this.#query(
      `INSERT INTO ${this.#instances} (grp, owner, seen_at, expires_at)
       VALUES ($1, $2, now(), now() + $3 * interval '1 millisecond')
       ON CONFLICT (grp, owner) DO UPDATE SET seen_at = EXCLUDED.seen_at, expires_at = EXCLUDED.expires_at`,
      [group, owner, leaseMs],
    );
  }

  /** The owners of the group's live instances, sorted. */
  async liveInstances(group: string): Promise<string[]> {
    const r = await this.#query<{ owner: string }>(
      `SELECT owner FROM ${this.#instances} WHERE grp = $1 AND expires_at > now() ORDER BY owner COLLATE "C"`,
      [group],
    );
    return r.rows.map((x) => x.owner);
  }

  /** Deletes this instance's row (a graceful stop) and rows long dead (a day past their expiry). */
  async leave(group: string, owner: string): Promise<void> {
    await this.#query(
      `DELETE FROM ${this.#instances} WHERE grp = $1 AND (owner = $2 OR expires_at < now() - interval '1 day')`,
      [group, owner],
    );
  }

  /** Every lease of the group. */
  async leases(group: string): Promise<LeaseRow[]> {
    const r = await this.#query<{ account: string; owner: string; token: string; live: boolean }>(
      `SELECT account, owner, token::text AS token, expires_at > now() AS live FROM ${this.#leases} WHERE grp = $1`,
      [group],
    );
    return r.rows.map((x) => ({ account: x.account, owner: x.owner, token: Number(x.token), live: x.live }));
  }

  /**
   * Extends the leases `held` (account → token) still this owner's, with that token and unexpired:
   * the ones returned. A lease missing from the answer is not ours any more.
   */
  async renew(
    group: string,
    owner: string,
    held: Map<string, number>,
    leaseMs: number,
  ): Promise<LeaseGrant[]> {
    if (held.size === 0) return [];
    const r = await this.#query<{ account: string; token: string }>(
      `UPDATE ${this.#leases} l SET expires_at = now() + $3 * interval '1 millisecond'
       FROM unnest($4::text[], $5::bigint[]) AS h(account, token)
       WHERE l.grp = $1 AND l.owner = $2 AND l.account = h.account AND l.token = h.token AND l.expires_at > now()
       RETURNING l.account, l.token::text AS token`,
      [group, owner, leaseMs, [...held.keys()], [...held.values()].map(String)],
    );
    return r.rows.map((x) => ({ account: x.account, token: Number(x.token) }));
  }

  /**
   * Takes the lease of `account` when it is free, expired, or recorded as this owner's (a lease this
   * instance gave up locally): the token goes up by one on every taking, so a former holder's token
   * is always smaller. Undefined when another instance holds it.
   */
  async take(group: string, owner: string, account: string, leaseMs: number): Promise<number | undefined> {
    const r = await this.#query<{ token: string }>(
      `INSERT INTO ${this.#leases} AS l (grp, account, owner, token, expires_at)
       VALUES ($1, $2, $3, 1, now() + $4 * interval '1 millisecond')
       ON CONFLICT (grp, account) DO UPDATE
         SET owner = EXCLUDED.owner, token = l.token + 1, expires_at = EXCLUDED.expires_at
         WHERE l.expires_at <= now() OR l.owner = EXCLUDED.owner
       RETURNING l.token::text AS token`,
      [group, account, owner, leaseMs],
    );
    const token = r.rows[0]?.token;
    return token === undefined ? undefined : Number(token);
  }

  /** Frees the lease (expired at once) if it is still this owner's with this token. */
  async release(group: string, owner: string, account: string, token: number): Promise<void> {
    await this.#query(
      `UPDATE ${this.#leases} SET expires_at = '-infinity'
       WHERE grp = $1 AND account = $2 AND owner = $3 AND token = $4`,
      [group, account, owner, String(token)],
    );
  }

  /** Closes the connection (not waiting on a server that does not answer). */
  close(): void {
    this.#closed = true;
    this.#drop();
  }

  async #session(): Promise<pg.Client> {
    if (this.#closed) throw new Error(`the connection to ${this.description} is closed`);
    if (this.#client) return this.#client;
    const t = this.target;
    const client = new pg.Client({
      ...connectionSettings(
        t,
        t.applicationName === "clarifai-audit sync" ? "clarifai-audit coordination" : t.applicationName,
      ),
      connectionTimeoutMillis: this.timeoutMs,
      // The server ends a statement past the bound too (the client has dropped the connection by then).
      statement_timeout: this.timeoutMs,
      lock_timeout: this.timeoutMs,
      keepAlive: true,
    });
    // An idle session that dies emits 'error': without a listener Node would crash. Drop it; the
    // next statement connects anew.
    client.on("error", () => {
      if (this.#client === client) this.#drop();
    });
    client.on("end", () => {
      if (this.#client === client) this.#client = undefined;
    });
    try {
      await client.connect();
    } catch (err) {
      client.end().catch(() => {});
      throw connectError(err, t);
    }
    if (this.#closed) {
      client.end().catch(() => {});
      throw new Error(`the connection to ${this.description} is closed`);
    }
    this.#client = client;
    if (!this.#ready) {
      try {
        await this.#createTables(client);
      } catch (err) {
        this.#drop();
        throw err;
      }
      this.#ready = true;
    }
    return client;
  }

  async #createTables(client: pg.Client): Promise<void> {
    const schema =
      this.target.schema ??
      (await client.query<{ s: string | null }>("SELECT current_schema() AS s")).rows[0]?.s;
    if (!schema)
      throw new Error(`${this.description}: the connection's search_path names no existing schema`);
    const q = (name: string) => `${client.escapeIdentifier(schema)}.${client.escapeIdentifier(name)}`;
    this.#leases = q(LEASES_TABLE);
    this.#instances = q(INSTANCES_TABLE);
    // Concurrent CREATE TABLE IF NOT EXISTS can still fail on the catalog's unique index: instances
    // starting together take turns under a transaction-scoped advisory lock.
    await client.query("BEGIN");
    try {
      await client.query("SELECT pg_advisory_xact_lock(hashtext('clarifai_audit_coordination'))");
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#leases} (
        grp text NOT NULL, account text NOT NULL, owner text NOT NULL,
        token bigint NOT NULL, expires_at timestamptz NOT NULL,
        PRIMARY KEY (grp, account))`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.#instances} (
        grp text NOT NULL, owner text NOT NULL,
        seen_at timestamptz NOT NULL, expires_at timestamptz NOT NULL,
        PRIMARY KEY (grp, owner))`);
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    }
  }

  /**
   * One statement, after those queued before it, bounded: past `timeoutMs` the connection is dropped
   * and the call rejects (so the queue never waits longer than the statements ahead, each bounded).
   */
  #query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R>> {
    const run = this.#queue.then(async () => {
      const client = await this.#bounded(this.#session(), "connecting");
      return this.#bounded(client.query<R>(text, values), "a statement");
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #bounded<T>(work: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const overrun = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.#drop();
        reject(
          new LeaseQueryTimeout(`${what} got no answer from ${this.description} within ${this.timeoutMs} ms`),
        );
      }, this.timeoutMs + 50);
    });
    // The loser of the race must not become an unhandled rejection.
    work.catch(() => {});
    try {
      return await Promise.race([work, overrun]);
    } catch (err) {
      if (!(err instanceof LeaseQueryTimeout) && isConnectionError(err)) this.#drop();
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  #drop(): void {
    const client = this.#client;
    this.#client = undefined;
    if (!client) return;
    // end() waits for the server's goodbye, which a partitioned server never sends: destroy the socket.
    client.end().catch(() => {});
    (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
  }
}

/** A lost session (rather than a refused statement): the connection is replaced. */
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code ?? "";
  return (
    code.startsWith("08") ||
    code.startsWith("57P") ||
    /^E[A-Z]+$/.test(code) ||
    /terminat|closed|not queryable|ended/i.test((err as Error).message ?? "")
  );
}
