/**
 * Secrets never printed nor passed on: the built CLI with a real PostgreSQL role whose password holds
 * every URL delimiter, webhook URLs with credentials in the user info and the query, and an
 * `--alert-exec` command that dumps its environment.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type pg from "pg";
import type { Alert } from "../../packages/cli/src/watch/alert.js";
import {
  childEnvironment,
  type Destination,
  sendWithRetry,
} from "../../packages/cli/src/watch/destinations.js";
import { clearSecrets, redact, registerUrlSecrets } from "../../packages/client/src/domain/redact.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { freePort, type PostgresServer, startPostgres } from "../helpers/postgres.js";
import { cliEnv, connection, PAT, runCli, runMain, tempDir, USER } from "./helpers.js";
import { BASE_ISO, entry } from "./watchHelpers.js";

/** Every URL delimiter and an escape-looking %: a password URL parsers and redactors trip on. */
const PASSWORD = "p/a#s?s@w%rd";
/** Pieces of it that a half-working redaction leaves visible. */
const PIECES = [PASSWORD, "a#s?s", "s@w%rd", "w%rd", encodeURIComponent(PASSWORD)];
const ROLE = "hardened";

function expectNone(text: string, secrets: readonly string[]): void {
  for (const s of secrets)
    expect({ text, leaked: text.includes(s) ? s : null }).toEqual({ text, leaked: null });
}

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let conn: string[];
let server: PostgresServer;
let admin: pg.Client;

beforeAll(async () => {
  tmp = tempDir();
  [server, emu] = await Promise.all([
    startPostgres(),
    startEmulator({ pats: { [PAT]: USER }, entries: generateEntries(30, 5), restPort: false }),
  ]);
  conn = connection(emu.grpcAddress);
  admin = await server.client();
  await admin.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${PASSWORD.replace(/'/g, "''")}'`);
  await admin.query(`CREATE DATABASE hardened_db OWNER ${ROLE}`);
}, 120_000);

afterAll(async () => {
  await admin?.end();
  await emu?.close();
  await server?.stop();
  tmp?.cleanup();
});

const SYNC_FLAGS = ["--settle", "0s", "--reconcile", "3650d", "-q"];

describe("a PostgreSQL password holding / # ? @ %", () => {
  const at = () => `127.0.0.1:${server.port}`;

  it("percent-encoded: the sync connects and nothing printed holds the password", async () => {
    const url = `postgres://${ROLE}:${encodeURIComponent(PASSWORD)}@${at()}/hardened_db`;
    // Not quiet: the window and summary lines name the destination (without its password).
    const r = await runCli(["sync", ...conn, "--dest", url, ...SYNC_FLAGS.filter((f) => f !== "-q")]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 0,
      stderr: expect.stringMatching(/^syncing window [^\n]*\nsynced 30 new/),
    });
    expectNone(r.stdout + r.stderr, PIECES);
    const again = await runCli(["sync", ...conn, "--dest", url, "--settle", "0s", "--reconcile", "3650d"]);
    expect(again.code).toBe(0);
    expectNone(again.stdout + again.stderr, PIECES);
  });

  it("raw in the URL: refused in one line (exit 2) that says to percent-encode, without any piece of it", async () => {
    for (const url of [
      `postgres://${ROLE}:${PASSWORD}@${at()}/hardened_db`,
      `postgresql://${ROLE}:${PASSWORD}@${at()}`,
      `postgres://${ROLE}:${PASSWORD}@/hardened_db`,
    ]) {
      const r = await runMain(["sync", ...conn, "--dest", url, ...SYNC_FLAGS]);
      expect({ url, code: r.code }).toEqual({ url, code: 2 });
      expect(r.stderr).toMatch(
        /^clarifai-audit: error: --dest: "postgres(ql)?:\/\/hardened:\[REDACTED\]@[^\n]*percent-encode[^\n]*\n$/,
      );
      expectNone(r.stdout + r.stderr, PIECES);
    }
  });

  it("URLs that do not parse or miss parts of the scheme are refused without the password", async () => {
    for (const url of [
      `postgres:/${ROLE}:${PASSWORD}@${at()}/hardened_db`,
      `postgres:${ROLE}:${PASSWORD}@${at()}/hardened_db`,
      `postgres://${ROLE}:${encodeURIComponent(PASSWORD)}@${at()}:x/db`,
      `postgres://${ROLE}:${encodeURIComponent(PASSWORD)}@ho st/db`,
      `postgres://${ROLE}:${encodeURIComponent(PASSWORD)}@${at()}/db?password=${encodeURIComponent(PASSWORD)}`,
      `postgres://${ROLE}:${encodeURIComponent(PASSWORD)}%zz@${at()}/db`,
    ]) {
      const r = await runCli(["sync", ...conn, "--dest", url, ...SYNC_FLAGS], cliEnv(), tmp.dir);
      expect({ url, code: r.code }).toEqual({ url, code: 2 });
      expect(r.stderr).toMatch(/^clarifai-audit: error: --dest: [^\n]+\n$/);
      expectNone(r.stdout + r.stderr, PIECES);
    }
    // Never taken for a folder name (which every message would then print).
    expect(existsSync(join(tmp.dir, "postgres:"))).toBe(false);
  });

  it("connect failures (no such database, nothing listening, wrong role) never print it, from the URL or PGPASSWORD", async () => {
    const closed = await freePort();
    const enc = encodeURIComponent(PASSWORD);
    const cases: [string, NodeJS.ProcessEnv][] = [
      [`postgres://${ROLE}:${enc}@${at()}/no_such_db`, cliEnv()],
      [`postgres://${ROLE}:${enc}@127.0.0.1:${closed}/hardened_db`, cliEnv()],
      [`postgres://nobody:${enc}@${at()}/hardened_db`, cliEnv()],
      [`postgres://${ROLE}@${at()}/no_such_db`, cliEnv({ PGPASSWORD: PASSWORD })],
      [`postgres://nobody@${at()}/hardened_db`, cliEnv({ PGPASSWORD: PASSWORD })],
    ];
    for (const [url, env] of cases) {
      const r = await runCli(["sync", ...conn, "--dest", url, ...SYNC_FLAGS], env);
      expect({ url, code: r.code === 0 ? 0 : "failed" }).toEqual({ url, code: "failed" });
      expect(r.stderr).toMatch(/^clarifai-audit: error: [^\n]+\n$/);
      expectNone(r.stdout + r.stderr, PIECES);
    }
  });
});

const HOOK_PASS = "hook-pass-7781";
const TOKEN = "tok-5f2e9a0c";

describe("webhook credentials", () => {
  let rules: string;
  beforeAll(() => {
    rules = join(tmp.dir, "rules.yaml");
    writeFileSync(rules, "rules:\n  - id: any\n    title: any\n    severity: low\n    match: {}\n");
  });
  const watch = (extra: string[], env = cliEnv()) =>
    runCli(
      [
        "watch",
        ...conn,
        "--rules",
        rules,
        "--from",
        "2024-12-01T00:00:00Z",
        "--once",
        "--alert-timeout",
        "2s",
        ...extra,
      ],
      env,
    );

  it("user:password@ in a webhook URL is refused at start-up without printing it", async () => {
    const port = await freePort();
    for (const flag of ["--alert-webhook", "--alert-slack"]) {
      const r = await watch([flag, `http://hookuser:${HOOK_PASS}@127.0.0.1:${port}/x?token=${TOKEN}`]);
      expect({ flag, code: r.code }).toEqual({ flag, code: 2 });
      expect(r.stderr).toMatch(/^clarifai-audit: error: --alert-(webhook|slack): [^\n]*user info[^\n]*\n$/);
      expectNone(r.stdout + r.stderr, [HOOK_PASS, TOKEN]);
    }
  });

  it("a ?token= is not printed by the start-up check, nor by a failed delivery or the dead-letter file", async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}/hook/path?token=${TOKEN}&x=1`;
    const check = await watch(["--alert-webhook", url]);
    expect(check.code).toBe(2);
    expect(check.stderr).toMatch(
      /^clarifai-audit: error: --alert-webhook: http:\/\/127\.0\.0\.1:\d+\/hook\/path\?\[REDACTED\]: /,
    );
    expectNone(check.stdout + check.stderr, [TOKEN]);
    const bad = await watch(["--alert-webhook", `ftp://u:${HOOK_PASS}@h/x?token=${TOKEN}`]);
    expect(bad.code).toBe(2);
    expectNone(bad.stdout + bad.stderr, [HOOK_PASS, TOKEN]);

    const deadLetter = join(tmp.dir, "token.dead.jsonl");
    const r = await watch([
      "--alert-webhook",
      url,
      "--no-destination-check",
      "--alert-attempts",
      "1",
      "--dead-letter",
      deadLetter,
    ]);
    expect(r.stderr).toMatch(/not delivered to webhook:http:\/\/127\.0\.0\.1/);
    expectNone(r.stdout + r.stderr + readFileSync(deadLetter, "utf8"), [TOKEN]);
  });

  it("a delivery error quoting the URL (as undici does for credentials) is redacted before it is printed or stored", async () => {
    clearSecrets();
    const url = `https://hookuser:${HOOK_PASS}@hooks.example/x?token=${TOKEN}`;
    registerUrlSecrets(url);
    const dest: Destination = {
      name: "webhook:test",
      send: async () => {
        throw new TypeError(
          `Request cannot be constructed from a URL that includes credentials: ${url} \u001b[2J`,
        );
      },
    };
    const alert: Alert = {
      rule: "r",
      title: "t",
      severity: "low",
      time: BASE_ISO,
      key: "k",
      group: null,
      entries: [],
    };
    const failure = await sendWithRetry(dest, alert, "{}", { attempts: 1, backoffMs: 1, timeoutMs: 1000 });
    expect(failure?.error).toBe(
      "TypeError: Request cannot be constructed from a URL that includes credentials: https://[REDACTED]@hooks.example/x?[REDACTED] \\x1b[2J",
    );
    // Known values go wherever they appear, not only inside URLs.
    expect(redact(`token ${TOKEN}, password ${HOOK_PASS}`)).toBe("token [REDACTED], password [REDACTED]");
    clearSecrets();
  });
});

describe("--alert-exec children get a minimal environment", () => {
  it("no PAT, signing secret, PGPASSWORD or anything else of ours; the alert variables and PATH/LANG/TZ are there", async () => {
    const rules = join(tmp.dir, "exec-rules.yaml");
    writeFileSync(rules, "rules:\n  - id: any\n    title: any\n    severity: low\n    match: {}\n");
    const dump = join(tmp.dir, "env.txt");
    const appended = [entry(5, { operation: 300 })];
    emu.append(appended);
    const alertSecret = "alert-signing-secret-0042";
    const r = await runCli(
      [
        "watch",
        ...conn,
        "--rules",
        rules,
        "--from",
        BASE_ISO,
        "--once",
        "--alert-exec",
        `env > '${dump}'`,
        "--dead-letter",
        join(tmp.dir, "exec.dead.jsonl"),
      ],
      cliEnv({
        CLARIFAI_AUDIT_ALERT_SECRET: alertSecret,
        PGPASSWORD: PASSWORD,
        AWS_SECRET_ACCESS_KEY: "aws-secret-999",
        LANG: "C.UTF-8",
        LC_TIME: "C",
        TZ: "UTC",
        HOME: tmp.dir,
      }),
    );
    expect(r.code).toBe(0);
    const env = readFileSync(dump, "utf8");
    expectNone(env, [PAT, alertSecret, PASSWORD, "aws-secret-999", "CLARIFAI_PAT", "PGPASSWORD", "AWS_"]);
    const names = env
      .split("\n")
      .filter((l) => l.includes("="))
      .map((l) => l.slice(0, l.indexOf("=")))
      .filter((n) => !["PWD", "SHLVL", "_", "OLDPWD"].includes(n)) // set by /bin/sh itself
      .sort();
    expect(names).toEqual([
      "CLARIFAI_AUDIT_ALERT_KEY",
      "CLARIFAI_AUDIT_ALERT_RULE",
      "HOME",
      "LANG",
      "LC_TIME",
      "PATH",
      "TZ",
    ]);
    expect(childEnvironment({ CLARIFAI_PAT: "x", FOO: "y" })).toEqual({
      PATH: "/usr/local/bin:/usr/bin:/bin",
    });
  });

  it("in-process, the child's variables come from the run's environment, not the process's", async () => {
    const rules = join(tmp.dir, "exec-env-rules.yaml");
    writeFileSync(rules, "rules:\n  - id: any\n    title: any\n    severity: low\n    match: {}\n");
    const dump = join(tmp.dir, "env-in-process.txt");
    emu.append([entry(7, { operation: 300 })]);
    // Neither is what this test process has: only main's env can have put them there.
    const runTz = "Etc/GMT-7";
    const runLang = "xx_RUN.UTF-8";
    expect([process.env.TZ, process.env.LANG]).not.toContain(runTz);
    const r = await runMain(
      [
        "watch",
        ...conn,
        "--rules",
        rules,
        "--from",
        BASE_ISO,
        "--once",
        "--quiet",
        "--alert-exec",
        `printf '%s %s\\n' "$TZ" "$LANG" >> '${dump}'`,
        "--dead-letter",
        join(tmp.dir, "exec-env.dead.jsonl"),
      ],
      cliEnv({ TZ: runTz, LANG: runLang }),
    );
    expect(r.code).toBe(0);
    const lines = readFileSync(dump, "utf8").trim().split("\n");
    expect(lines.length).toBeGreaterThan(0);
    expect(new Set(lines)).toEqual(new Set([`${runTz} ${runLang}`]));
  });

  it("a failing command that quotes a URL with credentials: not on stderr, not in the dead-letter file", async () => {
    const rules = join(tmp.dir, "exec-fail-rules.yaml");
    writeFileSync(rules, "rules:\n  - id: any\n    title: any\n    severity: low\n    match: {}\n");
    const deadLetter = join(tmp.dir, "exec-fail.dead.jsonl");
    emu.append([entry(6, { operation: 300 })]);
    const r = await runCli([
      "watch",
      ...conn,
      "--rules",
      rules,
      "--from",
      BASE_ISO,
      "--once",
      "--alert-attempts",
      "1",
      "--alert-exec",
      `echo https://hookuser:${HOOK_PASS}@hooks.example/x?token=${TOKEN} >/dev/null; exit 3`,
      "--dead-letter",
      deadLetter,
    ]);
    expect(r.stderr).toMatch(
      /not delivered to exec:echo https:\/\/\[REDACTED\]@hooks\.example\/x\?\[REDACTED\] .*exit code 3/,
    );
    expectNone(r.stdout + r.stderr + readFileSync(deadLetter, "utf8"), [HOOK_PASS, TOKEN]);
  });
});
