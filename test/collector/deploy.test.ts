/**
 * The service recipes of docs/deploy/, checked as far as this machine allows: the systemd unit by
 * systemd itself (`systemd-analyze verify`, and `security --offline` for its exposure), with the
 * directives the collector relies on; the Containerfile parsed (non-root user, health check on
 * /healthz, SIGTERM) and its health check command run against a real ops listener. No image is
 * built: no container daemon is guaranteed here.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { CollectorMetrics } from "../../packages/cli/src/collector/ops/metrics.js";
import { startOpsServer } from "../../packages/cli/src/collector/ops/server.js";

const run = promisify(execFile);
const UNIT = join(process.cwd(), "docs/deploy/clarifai-audit.service");
const CONTAINERFILE = join(process.cwd(), "docs/deploy/Containerfile");
const CONFIG = "/etc/clarifai-audit/collector.yaml";
const SYSTEMD_ANALYZE = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((p) => existsSync(p));

/** Runs a command; its exit code, stdout and stderr (a non-zero exit is a result, not an error). */
async function outcome(
  file: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(file, args, { encoding: "utf8" });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof err.code === "number" ? err.code : -1,
      stdout: err.stdout ?? "",
      stderr: err.stderr ?? "",
    };
  }
}

/** The unit's `Key=value` lines by section (a key given twice keeps every value). */
function unitDirectives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      section = header[1] as string;
      continue;
    }
    const eq = line.indexOf("=");
    const key = `${section}.${line.slice(0, eq)}`;
    out.set(key, [...(out.get(key) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

describe("docs/deploy/clarifai-audit.service", () => {
  const unitText = readFileSync(UNIT, "utf8");
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "unit-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The unit with its ExecStart pointing at a binary that exists here (verify checks it does). */
  function verifiable(extra = ""): string {
    const path = join(dir, "clarifai-audit.service");
    const text = unitText.replace(
      /^ExecStart=\/usr\/bin\/clarifai-audit /m,
      `ExecStart=${process.execPath} `,
    );
    expect(text).not.toBe(unitText);
    writeFileSync(path, text + extra);
    return path;
  }

  const withSystemd = SYSTEMD_ANALYZE === undefined ? test.skip : test;
  if (SYSTEMD_ANALYZE === undefined)
    console.warn("deploy.test: systemd-analyze is not installed; the unit's systemd checks are skipped");

  withSystemd(
    "systemd-analyze verify accepts it without a warning (and does warn on a bad directive)",
    async () => {
      const ok = await outcome(SYSTEMD_ANALYZE as string, ["verify", verifiable()]);
      expect(ok).toEqual({ code: 0, stdout: "", stderr: "" });
      // The check can fail: an unknown directive is only a warning, on stderr.
      const bad = await outcome(SYSTEMD_ANALYZE as string, ["verify", verifiable("ProtectSystm=strict\n")]);
      expect(bad.stderr).toMatch(/Unknown key 'ProtectSystm'/);
    },
  );

  withSystemd('systemd-analyze security rates its exposure at most 2.0 ("OK")', async () => {
    const r = await outcome(SYSTEMD_ANALYZE as string, ["security", "--offline=true", verifiable()]);
    const m = /Overall exposure level for clarifai-audit\.service: (\d+\.\d+)/.exec(r.stdout + r.stderr);
    expect(m).not.toBeNull();
    expect(Number(m?.[1])).toBeLessThanOrEqual(2.0);
  });

  test("runs the collector with the directives it relies on", () => {
    const d = unitDirectives(unitText);
    const one = (key: string) => {
      const values = d.get(key);
      expect({ key, values: values?.length }).toEqual({ key, values: 1 });
      return (values as string[])[0];
    };
    expect(one("Service.Type")).toBe("simple");
    expect(one("Service.ExecStart")).toBe(`/usr/bin/clarifai-audit run --config ${CONFIG}`);
    expect(one("Service.ExecReload")).toBe("/bin/kill -HUP $MAINPID");
    expect(one("Service.KillSignal")).toBe("SIGTERM");
    expect(one("Service.Restart")).toBe("on-failure");
    // A bad config (exit 2) does not fix itself by restarting.
    expect(one("Service.RestartPreventExitStatus")).toBe("2");
    expect(one("Service.TimeoutStopSec")).toMatch(/^\d+s$/);
    expect(one("Service.User")).toBe("clarifai-audit");
    expect(one("Service.StateDirectory")).toBe("clarifai-audit");
    expect(one("Service.ReadWritePaths")).toBe("%S/clarifai-audit");
    expect(one("Service.NoNewPrivileges")).toBe("yes");
    expect(one("Service.ProtectSystem")).toBe("strict");
    expect(one("Service.ProtectHome")).toBe("yes");
    expect(one("Service.PrivateTmp")).toBe("yes");
    expect(one("Service.RestrictAddressFamilies")).toBe("AF_INET AF_INET6 AF_UNIX");
    expect(d.get("Service.SystemCallFilter")).toContain("@system-service");
    expect(one("Service.MemoryMax")).toMatch(/^\d+[KMG]$/);
    // V8's JIT needs writable executable memory: this would kill the collector at start.
    expect(d.has("Service.MemoryDenyWriteExecute")).toBe(false);
    // The PAT arrives as a credential at the fixed path the config's pat_file names.
    expect(one("Service.LoadCredential")).toBe("pat-prod:/etc/clarifai-audit/pat-prod");
    expect(unitText).toContain("pat_file: /run/credentials/clarifai-audit.service/pat-prod");
  });
});

interface Instruction {
  name: string;
  args: string;
}

/** The instructions of a Containerfile: comments dropped, `\` continuations joined. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = "";
  for (const raw of text.split("\n")) {
    if (/^\s*#/.test(raw)) continue;
    const line = pending + raw;
    if (line.endsWith("\\")) {
      pending = `${line.slice(0, -1)} `;
      continue;
    }
    pending = "";
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (m) out.push({ name: (m[1] as string).toUpperCase(), args: (m[2] as string).trim() });
  }
  return out;
}

describe("docs/deploy/Containerfile", () => {
  const steps = instructions(readFileSync(CONTAINERFILE, "utf8"));
  const all = (name: string) => steps.filter((s) => s.name === name);
  const only = (name: string) => {
    const found = all(name);
    expect({ name, count: found.length }).toEqual({ name, count: 1 });
    return found[0] as Instruction;
  };

  test("node:20-slim, a non-root user, SIGTERM, the state volume and port 9464", () => {
    expect(steps[0]).toEqual({ name: "FROM", args: "node:20-slim" });
    const users = all("USER");
    const user = users.at(-1)?.args ?? "root";
    expect(user.split(":")[0]).not.toMatch(/^(root|0)$/);
    // Everything after the last USER runs as that user: the process itself, not only a build step.
    const lastUser = steps.lastIndexOf(users.at(-1) as Instruction);
    expect(steps.findIndex((s) => s.name === "ENTRYPOINT")).toBeGreaterThan(lastUser);
    expect(steps.slice(lastUser).some((s) => s.name === "RUN")).toBe(false);
    expect(only("STOPSIGNAL").args).toBe("SIGTERM");
    expect(only("EXPOSE").args).toBe("9464");
    expect(JSON.parse(only("VOLUME").args)).toEqual(["/var/lib/clarifai-audit"]);
    // The packages come from their tarballs, without install scripts or dev dependencies.
    expect(only("COPY").args).toMatch(/^clarifai-audit-\*\.tgz /);
    const install = all("RUN").find((s) => s.args.includes("npm install"));
    expect(install?.args).toMatch(/--omit=dev/);
    expect(install?.args).toMatch(/--ignore-scripts/);
    const entrypoint = JSON.parse(only("ENTRYPOINT").args) as string[];
    const cmd = JSON.parse(only("CMD").args) as string[];
    expect([...entrypoint, ...cmd]).toEqual([
      "/usr/bin/tini",
      "--",
      "clarifai-audit",
      "run",
      "--config",
      CONFIG,
    ]);
  });

  test("its HEALTHCHECK asks /healthz with node, and tells live from not live and from down", async () => {
    const health = only("HEALTHCHECK").args;
    const m = /^(.*?)\bCMD\s+(\[.*\])$/.exec(health);
    expect(m).not.toBeNull();
    expect(m?.[1]).toMatch(/--timeout=\d+s/);
    const command = JSON.parse(m?.[2] as string) as string[];
    expect(command.slice(0, 2)).toEqual(["node", "-e"]);
    const script = command[2] as string;
    expect(script).toContain("http://127.0.0.1:9464/healthz");

    let live = true;
    const server = await startOpsServer({
      host: "127.0.0.1",
      port: 0,
      metrics: new CollectorMetrics({ processMetrics: false }),
      health: () => ({ live, ready: false, problems: ["not yet"] }),
    });
    const port = server.address.split(":")[1] as string;
    const probe = () => outcome(process.execPath, ["-e", script.replace(":9464/", `:${port}/`)]);
    try {
      expect((await probe()).code).toBe(0);
      live = false;
      expect((await probe()).code).toBe(1);
    } finally {
      await server.close();
    }
    expect((await probe()).code).toBe(1);
  });
});
