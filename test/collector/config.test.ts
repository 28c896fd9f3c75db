/**
 * The collector's config file (issue 23): `loadCollectorConfig` resolving a full file to its plan,
 * every refusal as one line naming the file, line and key path (exit 2 through `config check FILE`,
 * before any request or write), the shipped JSON Schema equal to its TS const and valid for the
 * docs' example, and `config check` of a collector config (summary, --json, --resolve). In-process,
 * no network.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadCollectorConfig } from "../../packages/cli/src/cli/collectorConfig/load.js";
import {
  COLLECTOR_SCHEMA,
  COLLECTOR_SCHEMA_FILE,
  collectorSchemaText,
} from "../../packages/cli/src/cli/collectorConfig/schema.js";
import { SYNC_DEFAULTS } from "../../packages/cli/src/cli/commands/sync.js";
import { ALERT_DEFAULTS } from "../../packages/cli/src/cli/commands/watch.js";
import { CONCURRENCY_DEFAULT, SETTLE_DEFAULT_MS } from "../../packages/cli/src/cli/sharedFlags.js";
import type { AlertsDestinationPlan } from "../../packages/cli/src/collector/plan.js";
import { AuditLogClient } from "../../packages/client/src/client/client.js";
import { formatTs } from "../../packages/client/src/domain/timestamps.js";
import { runMain, tempDir } from "../cli/helpers.js";

let tmp: { dir: string; cleanup: () => void };
let n = 0;
const PAT_VALUE = "collector-test-pat-0123456789";
const PG_PASSWORD = "pg-secret-pass-987";

beforeAll(() => {
  tmp = tempDir();
  writeFileSync(join(tmp.dir, "ok.pat"), `${PAT_VALUE}\n`, { mode: 0o600 });
  chmodSync(join(tmp.dir, "ok.pat"), 0o600);
  mkdirSync(join(tmp.dir, "real-lake"));
  symlinkSync(join(tmp.dir, "real-lake"), join(tmp.dir, "link-lake"));
  writeFileSync(join(tmp.dir, "open.pat"), `${PAT_VALUE}\n`);
  chmodSync(join(tmp.dir, "open.pat"), 0o644);
  writeFileSync(
    join(tmp.dir, "rules.yaml"),
    [
      "rules:",
      "  - id: app-deleted",
      "    title: An app was deleted",
      "    severity: high",
      "    match: { operations: [APPLICATION_DELETE] }",
      "",
    ].join("\n"),
  );
});

afterAll(() => tmp.cleanup());

/** The run's environment: a home of its own and the PATs the configs name. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: tmp.dir, PAT_PROD: PAT_VALUE, PAT_STAGING: PAT_VALUE, ...extra };
}

/** Writes `lines` as a new config file (mode 0600 unless said) and returns its path. */
function config(lines: string[], mode = 0o600): string {
  const file = join(tmp.dir, `c${++n}.yaml`);
  writeFileSync(file, `${lines.join("\n")}\n`);
  chmodSync(file, mode);
  return file;
}

/** Two accounts, a lake holding both: what most refusals change one line of. */
const BASE = [
  "accounts:", // 1
  "  - id: prod", // 2
  "    user_id: org", // 3
  "    pat_env: PAT_PROD", // 4
  "  - id: staging", // 5
  "    user_id: org-staging", // 6
  "    pat_env: PAT_STAGING", // 7
  "destinations:", // 8
  "  - id: lake", // 9
  "    to: ./lake", // 10
];

/** `config check FILE`'s refusal: exit 2, nothing on stdout, one line on stderr. */
async function refused(file: string, e = env()): Promise<string> {
  const r = await runMain(["config", "check", file], e);
  expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
  expect(r.stderr.split("\n")).toHaveLength(2);
  return r.stderr.replace(/^clarifai-audit: error: /, "").replace(/\n$/, "");
}

describe("config check FILE refuses, in one line naming the file, line and key", () => {
  const cases: Array<
    [name: string, lines: string[], expected: (f: string) => string, extra?: Record<string, string>]
  > = [
    [
      "YAML syntax",
      [...BASE, "  - id: [unclosed"],
      (f) =>
        `config file ${f}:12: not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ],
    [
      "an unknown key of an account",
      [...BASE.slice(0, 4), "    endpoint_url: x", ...BASE.slice(4)],
      (f) =>
        `config file ${f}:5: accounts[0].endpoint_url: unknown key (allowed: id, user_id, endpoint, insecure, rate_limit, pat_env, pat_file, pat_command, pat, from, since, operations, actors, targets, success, source_ips)`,
    ],
    [
      "an unknown top-level key",
      [...BASE, "intervall: 30s"],
      (f) =>
        `config file ${f}:11: intervall: unknown key (allowed: accounts, destinations, listen, state_dir, interval, settle, reconcile, concurrency, per_page, commit_interval, unhealthy_after, coordination)`,
    ],
    [
      "a wrong type",
      [...BASE, "concurrency: many"],
      (f) =>
        `config file ${f}:11: concurrency: must be integer (got "many"); allowed: an integer from 1 to 64`,
    ],
    [
      "a value out of range",
      [...BASE, "per_page: 0"],
      (f) => `config file ${f}:11: per_page: must be >= 1 (got 0); allowed: an integer from 1 to 1000`,
    ],
    [
      "a duration the CLI would refuse (a bare number)",
      [...BASE, "interval: 30"],
      (f) =>
        `config file ${f}:11: interval: must be string (got 30); allowed: a duration: a number with a unit (ms, s, m, h, d, w), e.g. 30s, 5m, 1h30m; or 0`,
    ],
    [
      "a missing key",
      BASE.filter((l) => !l.includes("user_id: org-staging")),
      (f) => `config file ${f}:5: accounts[1].user_id: missing (an account needs it)`,
    ],
    [
      "duplicate account ids",
      BASE.map((l) => l.replace("id: staging", "id: prod")),
      (f) => `config file ${f}:5: accounts[1].id: "prod" is already the id of accounts[0]`,
    ],
    [
      "duplicate destination ids",
      [...BASE, "  - id: lake", "    to: ./other"],
      (f) => `config file ${f}:11: destinations[1].id: "lake" is already the id of destinations[0]`,
    ],
    [
      "a destination naming an unknown account",
      [...BASE, "  - id: db", "    to: ./other", "    accounts: [prod, stagng]"],
      (f) =>
        `config file ${f}:13: destinations[1].accounts[1]: "stagng" is not an account id (accounts: prod, staging)`,
    ],
    [
      "an account no destination uses",
      [...BASE, "    accounts: [prod]"],
      (f) =>
        `config file ${f}:5: accounts[1].id: "staging" is held by no destination (add it to a destination's accounts, or remove it)`,
    ],
    [
      "two destinations writing one folder for one account",
      [...BASE, "  - id: again", "    to: lake/../lake", "    accounts: [staging]"],
      (f) =>
        `config file ${f}:12: destinations[1].to: the same folder ${join(tmp.dir, "lake")} as destinations[0] and both hold account "staging": its entries would be written twice (give each account one destination per target)`,
    ],
    [
      "two destinations writing one folder through a symlink",
      [
        ...BASE.map((l) => l.replace("to: ./lake", "to: real-lake")),
        "  - id: again",
        "    to: ~/link-lake",
        "    accounts: [prod]",
      ],
      (f) =>
        `config file ${f}:12: destinations[1].to: the same folder ${join(tmp.dir, "real-lake")} as destinations[0] and both hold account "prod": its entries would be written twice (give each account one destination per target)`,
    ],
    [
      "two destinations writing one PostgreSQL table for one account",
      [
        ...BASE,
        `  - id: db1`,
        `    to: postgres://u:${PG_PASSWORD}@db.example:5432/ops`,
        `  - id: db2`,
        `    to: postgres://u@db.example/ops?schema=public&table=audit_log`,
        "    accounts: [prod]",
      ],
      (f) =>
        `config file ${f}:14: destinations[2].to: the same postgres db.example:5432/ops table public.audit_log as destinations[1] and both hold account "prod": its entries would be written twice (give each account one destination per target)`,
    ],
    [
      "a pat_env not set",
      BASE,
      (f) => `config file ${f}:7: accounts[1].pat_env: the variable PAT_STAGING is not set (or is blank)`,
      { PAT_STAGING: " " },
    ],
    [
      "a pat_file missing",
      BASE.map((l) => l.replace("pat_env: PAT_STAGING", "pat_file: absent.pat")),
      (f) => `config file ${f}:7: accounts[1].pat_file ${join(tmp.dir, "absent.pat")} does not exist`,
    ],
    [
      "a pat_file others can read",
      BASE.map((l) => l.replace("pat_env: PAT_STAGING", "pat_file: ~/open.pat")),
      (f) =>
        `config file ${f}:7: accounts[1].pat_file ${join(tmp.dir, "open.pat")} has mode 0644, too open: a PAT file must not be accessible by others; run chmod 600 on it`,
    ],
    [
      "two PAT sources",
      [...BASE.slice(0, 4), "    pat_file: ok.pat", ...BASE.slice(4)],
      (f) =>
        `config file ${f}:5: accounts[0].pat_file: pat_env and pat_file: an account has one PAT source (allowed: one of pat_env, pat_file, pat_command, pat)`,
    ],
    [
      "plaintext to a remote endpoint",
      [...BASE.slice(0, 4), "    endpoint: api.clarifai.com:443", "    insecure: true", ...BASE.slice(4)],
      (f) =>
        `config file ${f}:6: accounts[0].insecure: refusing to send the PAT in plaintext to the non-loopback host api.clarifai.com (got "api.clarifai.com:443"; allowed: true or false)`,
    ],
    [
      "a filter the CLI refuses",
      [...BASE.slice(0, 4), "    operations: [NOT_AN_OPERATION]", ...BASE.slice(4)],
      (f) =>
        expect.stringMatching(
          new RegExp(`^config file ${f}:5: accounts\\[0\\]\\.operations: .*NOT_AN_OPERATION`),
        ) as unknown as string,
    ],
    [
      "a target the CLI refuses",
      [...BASE.slice(0, 4), "    targets: [nokind]", ...BASE.slice(4)],
      (f) =>
        expect.stringMatching(
          new RegExp(
            `^config file ${f}:5: accounts\\[0\\]\\.targets: "nokind" is not kind=id \\(forms: user=id, `,
          ),
        ) as unknown as string,
    ],
    [
      "a since over the limit",
      [...BASE.slice(0, 4), "    since: 6000w", ...BASE.slice(4)],
      (f) => `config file ${f}:5: accounts[0].since: "6000w" is longer than the limit of 100 years`,
    ],
    [
      "a start the CLI refuses",
      [...BASE.slice(0, 4), "    from: 2025-13-01", ...BASE.slice(4)],
      (f) =>
        `config file ${f}:5: accounts[0].from: "2025-13-01" is not a time (month 13 does not exist): use RFC 3339 (2025-01-17T12:04:55Z), a date (2025-01-17), today, yesterday or now, in UTC`,
    ],
    [
      "a coordination url that is not postgres",
      [...BASE, "coordination:", `  url: https://u:${PG_PASSWORD}@db.example/x`],
      (f) =>
        `config file ${f}:12: coordination.url: "https://[REDACTED]@db.example/x" is not a postgres:// or postgresql:// URL`,
    ],
    [
      "a webhook with user info",
      [
        ...BASE,
        "  - id: alerts",
        "    rules: builtin",
        `    alert_webhook: [https://a.example/x, "https://u:${PG_PASSWORD}@h.example/"]`,
      ],
      (f) =>
        `config file ${f}:13: destinations[1].alert_webhook[1]: "https://[REDACTED]@h.example/": user info (user:password@) in a webhook URL is not supported: put the receiver's token in its path or query, or check bodies with alert_secret_env`,
    ],
    [
      "a webhook that is not http(s)",
      [...BASE, "  - id: alerts", "    rules: [builtin]", "    alert_webhook: ftp://h.example/"],
      (f) => `config file ${f}:13: destinations[1].alert_webhook: "ftp://h.example/" is not an http(s) URL`,
    ],
    [
      "a rules file missing",
      [...BASE, "  - id: alerts", "    rules: [builtin, ./absent-rules.yaml]", "    alert_exec: cat"],
      (f) =>
        `config file ${f}:12: destinations[1].rules: cannot read ${join(tmp.dir, "absent-rules.yaml")} (ENOENT); give a rules file or builtin`,
    ],
    [
      "alert keys on a store",
      [...BASE, "    alert_attempts: 3"],
      (f) =>
        `config file ${f}:11: destinations[0].alert_attempts: only an alerts destination (one with rules) takes alert_* keys`,
    ],
  ];
  // A rest parameter: jest takes a callback with more parameters than the row has for `done`-style.
  test.each(cases)("%s", async (...row) => {
    const [, lines, expected, extra] = row;
    const file = config(lines);
    const line = await refused(file, env(extra));
    expect(line).toEqual(expected(file));
    expect(line).not.toContain(PG_PASSWORD);
  });

  test("a config file others can write, and one that is a folder", async () => {
    const file = config(BASE, 0o620);
    expect(await refused(file)).toBe(
      `config file ${file} is writable by its group (mode 0620): anyone who can write it can make this tool run a command as you; run chmod go-w on it`,
    );
    const folder = join(tmp.dir, "folder.yaml");
    mkdirSync(folder);
    expect(await refused(folder)).toMatch(new RegExp(`^config file ${folder} is a folder`));
  });

  test("a pat_command is not run by config check, and is by --resolve and connect", async () => {
    const marker = join(tmp.dir, "ran");
    const script = join(tmp.dir, "pat.sh");
    writeFileSync(script, `#!/bin/sh\ntouch '${marker}'\nprintf '%s\\n' '${PAT_VALUE}'\n`, { mode: 0o700 });
    const file = config(BASE.map((l) => l.replace("pat_env: PAT_STAGING", `pat_command: ${script}`)));
    const plain = await runMain(["config", "check", file], env());
    expect(plain.code).toBe(0);
    expect(existsSync(marker)).toBe(false);
    const resolved = await runMain(["config", "check", file, "--resolve"], env());
    expect(resolved.code).toBe(0);
    expect(resolved.stdout).toContain("every PAT source gave a PAT");
    expect(existsSync(marker)).toBe(true);
    expect(resolved.stdout + resolved.stderr).not.toContain(PAT_VALUE);
  });
});

describe("loadCollectorConfig", () => {
  test("a full config resolves to its plan: paths, defaults (sync's and watch's), filters, alerts", async () => {
    const file = config([
      "accounts:",
      "  - id: prod",
      "    user_id: org",
      "    pat_env: PAT_PROD",
      "    endpoint: 127.0.0.1:50051",
      "    insecure: true",
      "    rate_limit: off",
      "    from: 2025-01-01",
      "    operations: [MODEL_CREATE]",
      "    success: false",
      "  - id: staging",
      "    user_id: org-staging",
      "    pat_file: ok.pat",
      "    rate_limit: 5",
      "destinations:",
      "  - id: lake",
      "    to: ./link-lake",
      "  - id: db",
      `    to: postgres://auditor:${PG_PASSWORD}@db.example/ops`,
      "    table: audit_entries",
      "    accounts: [prod]",
      "  - id: alerts",
      "    rules: [builtin, rules.yaml]",
      "    alert_webhook: https://hooks.example/audit",
      "    alert_exec: [cat]",
      "    alert_secret_env: ALERT_SECRET",
      "    alert_timeout: 2s",
      "listen: 127.0.0.1:9464",
      "state_dir: ~/state",
      "interval: 30s",
      "unhealthy_after: 5m",
      "coordination:",
      `  url: postgres://auditor:${PG_PASSWORD}@db.example/ops`,
      "  lease: 20s",
    ]);
    const plan = await loadCollectorConfig(file, env({ ALERT_SECRET: "hmac-secret" }));
    expect(plan.file).toBe(file);
    const [prod, staging] = plan.accounts;
    expect({ ...prod, connect: undefined, origin: formatTs(prod!.origin!) }).toEqual({
      id: "prod",
      userId: "org",
      endpoint: "127.0.0.1:50051",
      patFrom: "pat_env PAT_PROD",
      query: { operations: ["MODEL_CREATE"], success: false },
      origin: "2025-01-01T00:00:00Z",
      where: `config file ${file}:2: accounts[0] (prod)`,
      connect: undefined,
    });
    expect(staging).toMatchObject({
      id: "staging",
      endpoint: "api.clarifai.com:443",
      patFrom: `pat_file ${join(tmp.dir, "ok.pat")}`,
      query: {},
    });
    expect(staging?.origin).toBeUndefined();
    const [lake, db, alerts] = plan.destinations;
    expect(lake).toEqual({
      id: "lake",
      kind: "lake",
      accounts: ["prod", "staging"],
      dir: join(tmp.dir, "link-lake"),
      description: join(tmp.dir, "link-lake"),
      where: `config file ${file}:16: destinations[0] (lake)`,
    });
    expect(db).toMatchObject({ kind: "postgres", accounts: ["prod"], table: "audit_entries" });
    expect(db?.description).toBe("postgres://auditor@db.example:5432/ops (table audit_entries)");
    const a = alerts as AlertsDestinationPlan;
    expect({ ...a, rules: a.rules.map((r) => r.id).includes("app-deleted") }).toMatchObject({
      kind: "alerts",
      accounts: ["prod", "staging"],
      ruleSources: ["builtin", "rules.yaml"],
      rules: true,
      webhooks: ["https://hooks.example/audit"],
      slack: [],
      exec: ["cat"],
      secret: "hmac-secret",
      timeoutMs: 2000,
      attempts: ALERT_DEFAULTS.attempts,
      backoffMs: ALERT_DEFAULTS.backoffMs,
      stateDir: join(tmp.dir, "state", "alerts", "alerts"),
    });
    expect(plan).toMatchObject({
      listen: { host: "127.0.0.1", port: 9464 },
      intervalMs: 30_000,
      settleMs: SETTLE_DEFAULT_MS,
      reconcileMs: SYNC_DEFAULTS.reconcileMs,
      concurrency: CONCURRENCY_DEFAULT,
      perPage: SYNC_DEFAULTS.perPage,
      commitIntervalMs: SYNC_DEFAULTS.commitIntervalMs,
      unhealthyAfterMs: 300_000,
    });
    expect(plan.coordination).toMatchObject({
      description: "postgres://auditor:[REDACTED]@db.example/ops",
      leaseMs: 20_000,
      pollMs: 5000,
    });
    expect(plan.coordination?.group).toMatch(/^collector-[0-9a-f]{16}$/);
    // The same ids in another order: the same group (instances of one config find each other).
    const client = await staging!.connect({});
    expect(client).toBeInstanceOf(AuditLogClient);
    client.close();
  });

  test("defaults: state_dir beside the file, no listener, no coordination; connect ignores CLARIFAI_* overrides", async () => {
    const file = config(BASE);
    const overrides = {
      CLARIFAI_USER_ID: "someone-else",
      CLARIFAI_GRPC_BASE: "elsewhere.example:443",
      CLARIFAI_PAT: "another-accounts-pat",
    };
    const plan = await loadCollectorConfig(file, env(overrides));
    expect(plan.listen).toBeUndefined();
    expect(plan.coordination).toBeUndefined();
    expect(plan.intervalMs).toBe(SYNC_DEFAULTS.intervalMs);
    expect(plan.destinations[0]).toMatchObject({ kind: "lake", dir: join(tmp.dir, "lake") });
    const client = await plan.accounts[1]!.connect({});
    expect({ userId: client.userId, endpoint: client.endpoint, insecure: client.insecure }).toEqual({
      userId: "org-staging",
      endpoint: "api.clarifai.com:443",
      insecure: false,
    });
    client.close();
  });

  test("state_dir defaults to a folder beside the config file", async () => {
    writeFileSync(join(tmp.dir, "state-rules.yaml"), readFileSync(join(tmp.dir, "rules.yaml")));
    const file = config([
      ...BASE,
      "  - id: alerts",
      "    rules: state-rules.yaml",
      "    alert_slack: https://hooks.slack.example/T/B/x",
    ]);
    const plan = await loadCollectorConfig(file, env());
    expect(plan.destinations[1]).toMatchObject({
      kind: "alerts",
      stateDir: join(tmp.dir, "clarifai-audit-state", "alerts", "alerts"),
      slack: ["https://hooks.slack.example/T/B/x"],
    });
  });

  test("a config file over 1 MiB is refused before it is parsed", async () => {
    const file = config([...BASE, `# ${"x".repeat(1024 * 1024)}`]);
    expect(await refused(file)).toMatch(new RegExp(`^config file ${file} .*(large|MiB|bytes)`));
  });
});

describe("the shipped schema", () => {
  test("equals the TS const (npm run docs writes it)", () => {
    expect(readFileSync(COLLECTOR_SCHEMA_FILE, "utf8")).toBe(collectorSchemaText());
    expect(JSON.parse(readFileSync(COLLECTOR_SCHEMA_FILE, "utf8"))).toEqual(COLLECTOR_SCHEMA);
  });

  test("validates the example of docs/collector.md's Configuration section, and refuses a misspelt key", async () => {
    const doc = readFileSync("docs/collector.md", "utf8");
    const section = doc.slice(doc.indexOf("## Configuration"));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toBeDefined();
    const { parse } = await import("yaml");
    const { Ajv } = await import("ajv");
    const validate = new Ajv({ strict: true, allowUnionTypes: true }).compile(
      JSON.parse(readFileSync(COLLECTOR_SCHEMA_FILE, "utf8")),
    );
    const data = parse(example as string);
    expect(validate(data)).toBe(true);
    expect(validate({ ...data, intervall: "30s" })).toBe(false);
  });
});

describe("config check of a collector config", () => {
  test("one line of summary, exit 0, and --json's figures", async () => {
    const file = config([
      ...BASE,
      "  - id: alerts",
      "    rules: builtin",
      "    alert_exec: cat",
      "listen: 127.0.0.1:0",
    ]);
    const r = await runMain(["config", "check", file, "--json"], env());
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      `${file}: valid collector config: 2 accounts, 2 destinations (1 lake, 1 alerts), listen 127.0.0.1:0, no coordination, pat_command not run (--resolve runs it)\n`,
    );
    const summary = JSON.parse(r.stderr.trim().split("\n").pop() as string);
    expect(summary).toMatchObject({
      command: "config check",
      exitCode: 0,
      kind: "collector",
      accounts: 2,
      destinations: 2,
      lake: 1,
      alerts: 1,
      listen: "127.0.0.1:0",
    });
    // Nothing was written: no lake, no state folder.
    expect(existsSync(join(tmp.dir, "lake"))).toBe(false);
    expect(existsSync(join(tmp.dir, "clarifai-audit-state"))).toBe(false);
  });

  test("a refusal with --json: the one line in the summary's error", async () => {
    const file = config([...BASE, "bogus: 1"]);
    const r = await runMain(["config", "check", file, "--json"], env());
    expect(r.code).toBe(2);
    const summary = JSON.parse(r.stderr.trim().split("\n").pop() as string);
    expect(summary.error).toContain(`config file ${file}:11: bogus: unknown key`);
  });
});
