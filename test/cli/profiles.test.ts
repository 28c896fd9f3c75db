/**
 * Profiles (issue 22): the config file, its profiles and their PAT sources, the one merge of the
 * connection options (flag > environment > profile > default), and `config list|show|check`. Runs
 * in-process through `main(argv, env, io)` with a temporary XDG_CONFIG_HOME, against the emulator on
 * an ephemeral loopback port for the searches that go through a profile.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import { waitFor } from "../helpers/waitFor.js";
import { collect, PAT, runCli, runMain, spawnCli, tempDir, USER } from "./helpers.js";

/** Whether a process `pid` still runs (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

let emu: EmulatorHandle;
let tmp: { dir: string; cleanup: () => void };
let home: string;
let configFile: string;
/** A PAT command: a real sh script printing the PAT. */
let patScript: string;

beforeAll(async () => {
  emu = await startEmulator({ pats: { [PAT]: USER }, generate: { count: 30, seed: 7 }, restPort: false });
  tmp = tempDir();
  home = join(tmp.dir, "home");
  mkdirSync(join(home, ".config", "clarifai-audit"), { recursive: true });
  configFile = join(home, ".config", "clarifai-audit", "config.yaml");
  patScript = join(tmp.dir, "pat.sh");
  writeFileSync(patScript, `#!/bin/sh\nprintf '%s\\n' '${PAT}'\n`, { mode: 0o700 });
});

afterAll(async () => {
  await emu.close();
  tmp.cleanup();
});

/** The run's environment: a home of its own, no CLARIFAI_* unless given. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: home, ...extra };
}

/** Writes the config file with `mode` (0600 unless said). */
function writeConfig(text: string, mode = 0o600, path = configFile): void {
  writeFileSync(path, text);
  chmodSync(path, mode);
}

/** A profile `local` pointing at the emulator, plus `other`; `pat` is the PAT source's YAML line. */
function localConfig(pat: string, extra = ""): string {
  return [
    "default_profile: local",
    "profiles:",
    "  local:",
    `    endpoint: ${emu.grpcAddress}`,
    "    insecure: true",
    `    user_id: ${USER}`,
    `    ${pat}`,
    "  other:",
    "    user_id: someone-else",
    "    endpoint: api.example.com:443",
    "    pat_env: OTHER_PAT",
    extra,
  ].join("\n");
}

/** `config show`'s table as field → [value, source]. */
function showTable(stdout: string): Record<string, [string, string]> {
  const out: Record<string, [string, string]> = {};
  for (const line of stdout.trim().split("\n")) {
    const [field, value, source] = line.split(/ {2,}/);
    out[field as string] = [value as string, source as string];
  }
  return out;
}

describe("a search through a profile", () => {
  it("reads endpoint, insecure, user id and a pat_command's PAT from the default profile; the PAT is never printed", async () => {
    writeConfig(localConfig(`pat_command: ${patScript}`));
    const r = await runMain(["search", "--per-page", "5", "--format", "jsonl"], env());
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(5);
    expect(r.stdout + r.stderr).not.toContain(PAT);
  });

  it("a pat_command is not given the variables that hold PATs (CLARIFAI_PAT, every pat_env) or HEC tokens, only the rest", async () => {
    const seen = join(tmp.dir, "seen.env");
    writeConfig(localConfig(`pat_command: env > ${seen}; printf '%s\\n' '${PAT}'`));
    const withheld = {
      OTHER_PAT: "other-account-pat",
      KEEP_ME: "kept",
      CLARIFAI_AUDIT_HEC_TOKEN: "hec-token-of-sync",
    };
    const r = await runMain(["search", "--per-page", "1"], env(withheld));
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const search = readFileSync(seen, "utf8");
    expect(search).toContain("KEEP_ME=kept\n");
    expect(search).toContain(`HOME=${home}\n`);
    expect(search).not.toContain("other-account-pat");
    expect(search).not.toContain("hec-token-of-sync");
    // config check --resolve runs it even while CLARIFAI_PAT is set: that is withheld too.
    const check = await runMain(
      ["config", "check", "--resolve"],
      env({ ...withheld, CLARIFAI_PAT: "env-pat" }),
    );
    expect(check.code).toBe(0);
    const resolved = readFileSync(seen, "utf8");
    expect(resolved).toContain("KEEP_ME=kept\n");
    expect(resolved).not.toMatch(/other-account-pat|env-pat/);
  });

  it("a run stopped by SIGINT while its pat_command hangs kills the command and ends with 130 (the built bin)", async () => {
    const pidFile = join(tmp.dir, "pat-command.pid");
    // exec: the shell becomes the sleep, so the pid written is the process that hangs.
    writeConfig(localConfig(`pat_command: echo $$ > ${pidFile}; exec sleep 60`));
    const child = spawnCli(["search", "--per-page", "1"], env());
    const result = collect(child);
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("\n"));
    const pid = Number(readFileSync(pidFile, "utf8"));
    child.kill("SIGINT");
    const r = await result;
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 130,
      stderr: expect.stringMatching(
        /interrupted while the profile's pat_command ran \(it was killed; nothing was sent\)\n$/,
      ),
    });
    await waitFor(() => !alive(pid));
  });

  it("pat_env and pat_file (mode 0600, ~ expanded) give the PAT too", async () => {
    writeConfig(localConfig("pat_env: MY_PAT"));
    const viaEnv = await runMain(["search", "--per-page", "1"], env({ MY_PAT: PAT }));
    expect({ code: viaEnv.code, stderr: viaEnv.stderr }).toEqual({ code: 0, stderr: "" });
    writeFileSync(join(home, "clarifai.pat"), `${PAT}\nsecond line ignored\n`, { mode: 0o600 });
    writeConfig(localConfig("pat_file: ~/clarifai.pat"));
    const viaFile = await runMain(["search", "--per-page", "1"], env());
    expect({ code: viaFile.code, stderr: viaFile.stderr }).toEqual({ code: 0, stderr: "" });
  });

  it("the environment beats the profile, with a warning naming both: CLARIFAI_USER_ID over user_id reaches another account's log", async () => {
    writeConfig(localConfig(`pat_command: ${patScript}`));
    const r = await runMain(
      ["search", "--profile", "local", "--per-page", "1"],
      env({ CLARIFAI_USER_ID: "intruder" }),
    );
    const lines = r.stderr.trim().split("\n");
    expect(lines[0]).toBe(
      'clarifai-audit: warning: CLARIFAI_USER_ID overrides user_id of profile "local" (--profile): unset CLARIFAI_USER_ID to use the profile\'s',
    );
    // The emulator's PAT belongs to USER: the log of "intruder" is refused, so the env value was used.
    expect(r.code).toBe(3);
    const patWarning = await runMain(["search", "--per-page", "1"], env({ CLARIFAI_PAT: PAT }));
    expect(patWarning.stderr).toBe(
      'clarifai-audit: warning: CLARIFAI_PAT overrides pat_command of profile "local" (default_profile): unset CLARIFAI_PAT to use the profile\'s\n',
    );
    expect(patWarning.code).toBe(0);
  });

  it("a flag beats the profile without a warning", async () => {
    writeConfig(localConfig(`pat_command: ${patScript}`));
    const r = await runMain(["search", "--user-id", "intruder", "--per-page", "1"], env());
    expect(r.code).toBe(3);
    expect(r.stderr).not.toContain("warning");
  });
});

describe("precedence, field by field (config show)", () => {
  const fields: [field: string, flag: string[], variable: [string, string], profileValue: string][] = [
    ["user_id", ["--user-id", "from-flag"], ["CLARIFAI_USER_ID", "from-env"], "prof-user"],
    [
      "endpoint",
      ["--endpoint", "flag.example.com:1"],
      ["CLARIFAI_GRPC_BASE", "env.example.com:2"],
      "prof.example.com:3",
    ],
    ["rate_limit", ["--rate-limit", "7"], ["CLARIFAI_RATE_LIMIT", "8"], "9"],
  ];
  it.each(fields)(
    "%s: flag > environment > profile > default",
    async (field, flag, variable, profileValue) => {
      writeConfig(`profiles:\n  p:\n    ${field}: ${profileValue}\n`);
      const [name, envText] = variable;
      const all = showTable(
        (await runMain(["config", "show", "p", ...flag], env({ [name]: envText }))).stdout,
      );
      expect(all[field]?.[1]).toBe(`flag: ${flag[0]}`);
      const noFlag = await runMain(["config", "show", "p"], env({ [name]: envText }));
      expect(showTable(noFlag.stdout)[field]?.[1]).toBe(`env: ${name}`);
      expect(noFlag.stderr).toContain(`warning: ${name} overrides ${field} of profile "p"`);
      const profileOnly = showTable((await runMain(["config", "show", "p"], env())).stdout);
      expect(profileOnly[field]).toEqual([field === "rate_limit" ? "9/s" : profileValue, 'profile "p"']);
      const none = showTable((await runMain(["config", "show"], env())).stdout);
      expect(none[field]?.[1]).toBe("default");
    },
  );
  it("insecure: flag > profile > default (no variable); the PAT: CLARIFAI_PAT > the profile's source", async () => {
    writeConfig("profiles:\n  p:\n    insecure: true\n    endpoint: 127.0.0.1:1\n    pat_env: P_PAT\n");
    const shown = showTable((await runMain(["config", "show", "p"], env({ P_PAT: PAT }))).stdout);
    expect(shown.insecure).toEqual(["true", 'profile "p"']);
    expect(shown.pat).toEqual(["set, from pat_env P_PAT", 'profile "p"']);
    const flagged = showTable((await runMain(["config", "show", "--insecure"], env())).stdout);
    expect(flagged.insecure).toEqual(["true", "flag: --insecure"]);
    expect(flagged.pat?.[0]).toMatch(/^not set/);
    const overridden = await runMain(["config", "show", "p"], env({ CLARIFAI_PAT: PAT, P_PAT: PAT }));
    expect(showTable(overridden.stdout).pat).toEqual(["set, from CLARIFAI_PAT", "env: CLARIFAI_PAT"]);
    expect(overridden.stdout + overridden.stderr).not.toContain(PAT);
  });
  it("profile selection: --profile > CLARIFAI_AUDIT_PROFILE > default_profile; CLARIFAI_AUDIT_CONFIG names another file", async () => {
    writeConfig(
      "default_profile: a\nprofiles:\n  a: {user_id: ua}\n  b: {user_id: ub}\n  c: {user_id: uc}\n",
    );
    const user = async (args: string[], extra: Record<string, string> = {}) =>
      showTable((await runMain(["config", "show", ...args], env(extra))).stdout).user_id?.[0];
    expect(await user([])).toBe("ua");
    expect(await user([], { CLARIFAI_AUDIT_PROFILE: "b" })).toBe("ub");
    expect(await user(["--profile", "c"], { CLARIFAI_AUDIT_PROFILE: "b" })).toBe("uc");
    const elsewhere = join(tmp.dir, "elsewhere.yaml");
    writeConfig("profiles:\n  x: {user_id: ux}\n", 0o600, elsewhere);
    expect(await user(["x"], { CLARIFAI_AUDIT_CONFIG: elsewhere })).toBe("ux");
    const xdg = join(tmp.dir, "xdg");
    mkdirSync(join(xdg, "clarifai-audit"), { recursive: true });
    writeConfig("profiles:\n  y: {user_id: uy}\n", 0o600, join(xdg, "clarifai-audit", "config.yaml"));
    expect(await user(["y"], { XDG_CONFIG_HOME: xdg })).toBe("uy");
  });
});

describe("PAT sources that give no PAT", () => {
  it("a pat_command that fails: one line naming the profile and the status, never its output", async () => {
    const secret = "leaked-secret-0123456789";
    const failing = join(tmp.dir, "fail.sh");
    writeFileSync(failing, `#!/bin/sh\necho ${secret}\necho ${secret} >&2\nexit 3\n`, { mode: 0o700 });
    writeConfig(localConfig(`pat_command: ${failing}`));
    const r = await runMain(["search"], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^clarifai-audit: error: config file \S+config\.yaml:7: profile "local": pat_command: exited with status 3; its stderr \(\d+ bytes\) is not shown: run it yourself\n$/,
    );
    expect(r.stdout + r.stderr).not.toContain(secret);
  });
  it("a pat_command that hangs is killed at CLARIFAI_AUDIT_PAT_TIMEOUT; one that prints nothing gives no PAT", async () => {
    writeConfig(localConfig("pat_command: sleep 30"));
    const r = await runMain(["search"], env({ CLARIFAI_AUDIT_PAT_TIMEOUT: "300ms" }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/profile "local": pat_command: did not finish within 300ms \(killed;/);
    writeConfig(localConfig("pat_command: 'true'"));
    const empty = await runMain(["search"], env());
    expect(empty.stderr).toMatch(
      /profile "local": pat_command: the command gave an empty first line: no PAT\n$/,
    );
  });
  it("pat_env unset, a missing pat_file, a pat_file others can read (refused as ssh does)", async () => {
    writeConfig(localConfig("pat_env: NOT_SET_ANYWHERE"));
    expect((await runMain(["search"], env())).stderr).toMatch(
      /profile "local": pat_env: the variable NOT_SET_ANYWHERE is not set/,
    );
    writeConfig(localConfig("pat_file: ~/missing.pat"));
    expect((await runMain(["search"], env())).stderr).toMatch(/pat_file \S+missing\.pat does not exist\n$/);
    const open = join(home, "open.pat");
    writeFileSync(open, `${PAT}\n`);
    chmodSync(open, 0o644);
    writeConfig(localConfig("pat_file: ~/open.pat"));
    const r = await runMain(["search"], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/pat_file \S+open\.pat has mode 0644, too open: .*chmod 600/);
    expect(r.stdout + r.stderr).not.toContain(PAT);
  });
});

describe("config files refused, in one line before any request", () => {
  it.each([
    [
      "an unknown key",
      "profiles:\n  p:\n    user_id: u\n    usr_id: v\n",
      /:4: profile "p": unknown key "usr_id" \(allowed: user_id, endpoint, insecure, rate_limit, pat_env, pat_file, pat_command, pat, hec_token_env, hec_token_file\)$/,
    ],
    [
      "a wrong type",
      "profiles:\n  p:\n    insecure: yes-please\n",
      /:3: profile "p": insecure: must be boolean \(got "yes-please"\); allowed: true or false$/,
    ],
    [
      "two PAT sources",
      "profiles:\n  p:\n    pat_env: A\n    pat_file: b\n",
      /:4: profile "p": pat_env and pat_file: a profile has one PAT source/,
    ],
    [
      "an unknown top-level key",
      "profile:\n  p: {}\n",
      /:1: unknown key "profile" \(allowed: default_profile, profiles\)$/,
    ],
    [
      "a default_profile that is not there",
      "default_profile: q\nprofiles:\n  p: {}\n",
      /:1: default_profile: no profile "q" \(profiles: p\)$/,
    ],
    [
      "a bad endpoint",
      "profiles:\n  p:\n    endpoint: https://x.example.com\n",
      /:3: profile "p": endpoint: a gRPC endpoint has no URL scheme/,
    ],
    [
      "a profile name with a space",
      "profiles:\n  ok: {}\n  bad name: {}\n",
      /:3: profile name "bad name": must be 1-64 letters, digits, _ \. - \(starting with a letter or digit\)$/,
    ],
    [
      "a rate limit out of range",
      "profiles:\n  p:\n    rate_limit: 0\n",
      /:3: profile "p": rate_limit: must be > 0 \(got 0\); allowed: a number of requests per second, > 0 and ≤ 10000, or "off"$/,
    ],
    [
      "an inline PAT of the wrong shape (never quoted)",
      "profiles:\n  p:\n    pat: has a space\n",
      /:3: profile "p": pat: is not valid; allowed: the PAT itself, in a file of mode 0600$/,
    ],
    ["YAML that does not parse", "profiles:\n  p: {\n", /: not valid YAML: /],
  ])("%s", async (_what, text, line) => {
    writeConfig(text as string);
    const r = await runMain(["search"], env({ CLARIFAI_PAT: PAT, CLARIFAI_USER_ID: USER }));
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^clarifai-audit: error: config file \S+config\.yaml/);
    expect(lines[0]).toMatch(line as RegExp);
  });
  it("a group-writable file (it can name a command); an inline PAT in a file others can read", async () => {
    writeConfig("profiles:\n  p: {user_id: u}\n", 0o664);
    const writable = await runMain(["config", "list"], env());
    expect(writable.code).toBe(2);
    expect(writable.stderr).toMatch(/config\.yaml is writable by its group \(mode 0664\): .*chmod go-w/);
    const inline = `profiles:\n  p:\n    pat: ${PAT}\n`;
    writeConfig(inline, 0o644);
    const readable = await runMain(["config", "show", "p"], env());
    expect(readable.code).toBe(2);
    expect(readable.stderr).toMatch(
      /:3: profile "p": pat: the file holds a PAT and its mode 0644 lets others read it; run chmod 600/,
    );
    expect(readable.stdout + readable.stderr).not.toContain(PAT);
    writeConfig(inline, 0o600);
    const shown = await runMain(["config", "show", "p"], env());
    expect(showTable(shown.stdout).pat?.[0]).toBe("set, inline in the config file");
    expect(shown.stdout + shown.stderr).not.toContain(PAT);
    // Without a secret in it, a file others may read is fine.
    writeConfig("profiles:\n  p: {user_id: u}\n", 0o644);
    expect((await runMain(["config", "list"], env())).code).toBe(0);
  });
  (process.getuid?.() === 0 ? it : it.skip)(
    "a config file or pat_file owned by another user (not root) is refused (as root: chown)",
    async () => {
      writeConfig("profiles:\n  p: {user_id: u}\n");
      chownSync(configFile, 4242, 4242);
      const r = await runMain(["config", "list"], env());
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/config\.yaml is owned by uid 4242, not by you \(uid 0\) or root/);
      chownSync(configFile, 0, 0);
      const theirs = join(home, "theirs.pat");
      writeFileSync(theirs, `${PAT}\n`, { mode: 0o600 });
      chownSync(theirs, 4242, 4242);
      writeConfig(localConfig("pat_file: ~/theirs.pat"));
      const pat = await runMain(["search"], env());
      expect(pat.stderr).toMatch(/pat_file \S+theirs\.pat is owned by uid 4242/);
      expect(pat.stdout + pat.stderr).not.toContain(PAT);
    },
  );
  it("an unknown profile lists those there are; a profile asked for without a file names the file looked for", async () => {
    writeConfig("profiles:\n  alpha: {}\n  beta: {}\n");
    const unknown = await runMain(["search", "--profile", "gamma"], env());
    expect({ code: unknown.code, stderr: unknown.stderr }).toEqual({
      code: 2,
      stderr: `clarifai-audit: error: --profile gamma: no such profile in ${configFile} (profiles: alpha, beta)\n`,
    });
    const missing = join(tmp.dir, "nothing-here.yaml");
    const r = await runMain(
      ["search"],
      env({ CLARIFAI_AUDIT_CONFIG: missing, CLARIFAI_AUDIT_PROFILE: "prod" }),
    );
    expect(r.stderr).toBe(
      `clarifai-audit: error: CLARIFAI_AUDIT_PROFILE prod: no config file at ${missing} (named by CLARIFAI_AUDIT_CONFIG)\n`,
    );
    const defaultPath = await runMain(["config", "show", "prod"], env({ HOME: join(tmp.dir, "nobody") }));
    expect(defaultPath.stderr).toBe(
      `clarifai-audit: error: config show NAME prod: no config file at ${join(tmp.dir, "nobody", ".config", "clarifai-audit", "config.yaml")} (from $HOME; create it, or name another with CLARIFAI_AUDIT_CONFIG)\n`,
    );
    // No file and no profile asked for: the environment alone, as before.
    const plain = await runMain(
      ["search", "--endpoint", emu.grpcAddress, "--insecure", "--per-page", "1"],
      env({ CLARIFAI_AUDIT_CONFIG: missing, CLARIFAI_PAT: PAT, CLARIFAI_USER_ID: USER }),
    );
    expect({ code: plain.code, stderr: plain.stderr }).toEqual({ code: 0, stderr: "" });
  });
  it("--profile is refused where connection flags are", async () => {
    const r = await runMain(["rules", "check", "builtin", "--profile", "x"], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--profile: rules check reads rules files only/);
  });
});

describe("config list, show, check", () => {
  it("list: a table with the one in effect marked and the PAT source's kind; -q: names only; no file: -q prints nothing", async () => {
    writeConfig(localConfig(`pat_command: ${patScript}`));
    const r = await runMain(["config", "list"], env({ OTHER_PAT: PAT }));
    expect(r.code).toBe(0);
    const rows = r.stdout.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^\s+NAME\s+USER_ID\s+ENDPOINT\s+PAT$/);
    expect(rows[1]).toMatch(new RegExp(`^\\*\\s+local\\s+${USER}\\s+${emu.grpcAddress}\\s+pat_command$`));
    expect(rows[2]).toMatch(/^\s+other\s+someone-else\s+api\.example\.com:443\s+pat_env$/);
    expect(r.stdout + r.stderr).not.toContain(PAT);
    const quiet = await runMain(["config", "list", "--names"], env({ CLARIFAI_AUDIT_PROFILE: "other" }));
    expect(quiet).toMatchObject({ code: 0, stdout: "local\nother\n", stderr: "" });
    const none = await runMain(
      ["config", "list", "--names"],
      env({ CLARIFAI_AUDIT_CONFIG: join(tmp.dir, "none.yaml") }),
    );
    expect(none).toMatchObject({ code: 0, stdout: "", stderr: "" });
  });
  it("the built bin reads the file as users run it (yaml and ajv as bundled)", async () => {
    writeConfig(localConfig(`pat_command: ${patScript}`, "  broken: {usr: x}\n"));
    const r = await runCli(["config", "list", "--names"], env());
    expect(r.stderr).toMatch(/config\.yaml:12: profile "broken": unknown key "usr"/);
    writeConfig(localConfig(`pat_command: ${patScript}`));
    expect(await runCli(["config", "list", "--names"], env())).toMatchObject({
      code: 0,
      stdout: "local\nother\n",
    });
  });
  it("show never prints the PAT, whatever the source; it does not run a pat_command", async () => {
    const marker = join(tmp.dir, "ran");
    writeConfig(localConfig(`pat_command: touch ${marker}; echo ${PAT}`));
    const r = await runMain(["config", "show", "--json"], env());
    expect(r.code).toBe(0);
    expect(showTable(r.stdout).pat).toEqual([
      "from pat_command (not run here: config check --resolve runs it)",
      'profile "local"',
    ]);
    expect(r.stdout + r.stderr).not.toContain(PAT);
    expect(JSON.parse(r.stderr.trim())).toMatchObject({
      command: "config show",
      profile: "local",
      pat: { kind: "pat_command", source: "profile" },
    });
    expect(existsSync(marker)).toBe(false);
  });
  it("check: schema and modes; each pat_file; --resolve runs the sources and says only whether each gave a PAT", async () => {
    writeFileSync(join(home, "ok.pat"), `${PAT}\n`, { mode: 0o600 });
    const file = join(tmp.dir, "check.yaml");
    writeConfig(
      `profiles:\n  cmd:\n    pat_command: ${patScript}\n  file:\n    pat_file: ~/ok.pat\n  env:\n    pat_env: CHECK_PAT\n`,
      0o600,
      file,
    );
    const plain = await runMain(["config", "check", file], env());
    expect(plain.code).toBe(0);
    expect(plain.stdout).toBe(
      [
        `${file}: valid (mode 0600), 3 profile(s)`,
        'profile "cmd": pat_command (not run: --resolve runs it)',
        `profile "file": pat_file ${join(home, "ok.pat")}: present, private`,
        'profile "env": pat_env CHECK_PAT: not set in this environment',
        "",
      ].join("\n"),
    );
    const resolved = await runMain(["config", "check", file, "--resolve"], env());
    expect(resolved.code).toBe(2);
    expect(resolved.stdout).toContain('profile "cmd": pat_command: gave a PAT\n');
    expect(resolved.stdout).toContain(
      'profile "env": FAILED: pat_env: the variable CHECK_PAT is not set (or is blank)\n',
    );
    expect(resolved.stderr).toBe(
      `clarifai-audit: error: config file ${file}: 1 of 3 profile(s) cannot give a PAT (see above)\n`,
    );
    const ok = await runMain(["config", "check", file, "--resolve"], env({ CHECK_PAT: PAT }));
    expect(ok.code).toBe(0);
    expect(ok.stdout + ok.stderr).not.toContain(PAT);
    const missing = await runMain(["config", "check", join(tmp.dir, "absent.yaml")], env());
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/absent\.yaml does not exist\n$/);
  });
});
