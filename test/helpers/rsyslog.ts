/**
 * A real rsyslogd (Debian's package, /usr/sbin/rsyslogd) for the syslog destination's tests: started
 * in the foreground with a private config, work folder and pid file under the OS temp folder (never
 * the repository: CI runs as root in a 0700 checkout), listening with imtcp on a free loopback port,
 * plain or TLS (gtls, anonymous clients, the server certificate of test/helpers/tls.ts), and writing
 * every message it received to a file as one JSON record a line: rsyslog's own parse of it (PRI,
 * HOSTNAME, APP-NAME, PROCID, MSGID, STRUCTURED-DATA, MSG) and the raw message, which the tests parse
 * again with {@link parseSyslog} (independently of the code under test).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./postgres.js";
import type { TestTls } from "./tls.js";
import { waitFor } from "./waitFor.js";

export const RSYSLOGD = "/usr/sbin/rsyslogd";

/** One message as rsyslog wrote it (see the module comment). */
export interface ReceivedRecord {
  pri: string;
  hostname: string;
  app: string;
  procid: string;
  msgid: string;
  sd: string;
  msg: string;
  raw: string;
}

/** A running rsyslogd. */
export interface Rsyslog {
  port: number;
  dir: string;
  /** Every record written so far (a torn last line is left for the next read). */
  records(): ReceivedRecord[];
  /** Waits until at least `n` records were written. */
  waitForRecords(n: number, timeoutMs?: number): Promise<void>;
  /** Stops it (SIGTERM, waiting for its exit). */
  stop(): Promise<void>;
  /** Starts it again on the same port (after {@link stop}). */
  start(): Promise<void>;
  /** Sends `signal` (SIGSTOP: it reads nothing more until SIGCONT); SIGKILL waits for its exit. */
  signal(signal: NodeJS.Signals): Promise<void>;
  /** Stops it and removes its folder. */
  close(): Promise<void>;
}

/** Options of {@link startRsyslog}. */
export interface RsyslogOptions {
  /** Listen with TLS, presenting this server certificate. */
  tls?: TestTls;
  /** rsyslog's maxMessageSize (default 4 MiB: entries can be large). */
  maxMessageSize?: number;
  /**
   * What is written per message: a JSON record (the default, see the module comment), or `tally`:
   * one `.` per message, for a benchmark that counts them by the file's size.
   */
  output?: "record" | "tally";
}

const RECORD_TEMPLATE = [
  ["pri", "pri"],
  ["hostname", "hostname"],
  ["app", "app-name"],
  ["procid", "procid"],
  ["msgid", "msgid"],
  ["sd", "structured-data"],
  ["msg", "msg"],
  ["raw", "rawmsg"],
]
  .map(
    ([key, prop], i) =>
      `  constant(value="${i === 0 ? "{" : ","}\\"${key}\\":\\"")\n  property(name="${prop}" format="json")\n  constant(value="\\"")`,
  )
  .join("\n");

function config(dir: string, port: number, o: RsyslogOptions): string {
  const tls = o.tls;
  return `global(
  workDirectory="${join(dir, "work")}"
  maxMessageSize="${o.maxMessageSize ?? 4 * 1024 * 1024}"
  parser.escapeControlCharactersOnReceive="off"
${tls ? `  defaultNetstreamDriverCAFile="${join(tls.dir, "ca.pem")}"\n  defaultNetstreamDriverCertFile="${join(dir, "server.pem")}"\n  defaultNetstreamDriverKeyFile="${join(dir, "server.key")}"\n` : ""})
module(load="imtcp"${tls ? ' StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon"' : ""})
input(type="imtcp" port="${port}" address="127.0.0.1")
template(name="record" type="list") {
${RECORD_TEMPLATE}
  constant(value="}\\n")
}
template(name="tally" type="string" string=".")
if $app-name == "clarifai-audit" then {
  action(type="omfile" file="${join(dir, "out.jsonl")}" template="${o.output ?? "record"}")
}
`;
}

/** Whether `port` on 127.0.0.1 accepts a connection. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1", () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/** Starts rsyslogd (see the module comment). */
export async function startRsyslog(o: RsyslogOptions = {}): Promise<Rsyslog> {
  const dir = mkdtempSync(join(tmpdir(), "clarifai-audit-rsyslog-"));
  execFileSync("mkdir", ["-p", join(dir, "work")]);
  if (o.tls) {
    writeFileSync(join(dir, "server.pem"), o.tls.cert);
    writeFileSync(join(dir, "server.key"), o.tls.key, { mode: 0o600 });
  }
  const port = await freePort();
  const conf = join(dir, "rsyslog.conf");
  writeFileSync(conf, config(dir, port, o));
  const out = join(dir, "out.jsonl");
  let child: ChildProcess | undefined;
  let stderr = "";

  const start = async () => {
    // setpriv: the kernel stops it when this process dies, however it dies.
    child = spawn(
      "setpriv",
      ["--pdeathsig", "TERM", "--", RSYSLOGD, "-n", "-f", conf, "-i", join(dir, "rsyslogd.pid")],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const c = child;
    await waitFor(async () => c.exitCode !== null || (await accepts(port)), {
      what: `rsyslogd listening on ${port}`,
      timeoutMs: 20_000,
    });
    if (c.exitCode !== null) throw new Error(`rsyslogd exited (${c.exitCode}): ${stderr.slice(0, 2000)}`);
  };

  const stop = async () => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
    c.kill("SIGTERM");
    await exited;
  };

  await start();
  const records = (): ReceivedRecord[] => {
    if (!existsSync(out)) return [];
    const text = readFileSync(out, "utf8");
    const end = text.lastIndexOf("\n");
    if (end < 0) return [];
    return text
      .slice(0, end)
      .split("\n")
      .map((line) => JSON.parse(line) as ReceivedRecord);
  };
  return {
    port,
    dir,
    records,
    async waitForRecords(n, timeoutMs = 20_000) {
      await waitFor(() => records().length >= n, {
        what: `${n} messages at rsyslog`,
        timeoutMs,
        intervalMs: 20,
      });
    },
    stop,
    start,
    async signal(sig) {
      const c = child;
      if (c === undefined || c.exitCode !== null) return;
      if (sig !== "SIGKILL") {
        c.kill(sig);
        return;
      }
      child = undefined;
      const exited = new Promise<void>((resolve) => c.once("exit", () => resolve()));
      c.kill(sig);
      await exited;
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An RFC 5424 message, parsed. */
export interface ParsedSyslog {
  pri: number;
  version: number;
  timestamp: string;
  hostname: string;
  app: string;
  procid: string;
  msgid: string;
  /** SD-ID → PARAM-NAME → value (unescaped). */
  sd: Map<string, Map<string, string>>;
  msg: string;
}

/** Parses an RFC 5424 SYSLOG-MSG (the grammar of §6; SD values unescaped per §6.3.3). */
export function parseSyslog(raw: string): ParsedSyslog {
  const head = /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(raw);
  if (head === null) throw new Error(`not an RFC 5424 header: ${raw.slice(0, 200)}`);
  let i = head[0].length;
  const sd = new Map<string, Map<string, string>>();
  if (raw[i] === "-") i++;
  else
    while (raw[i] === "[") {
      const id = /^\[([^ =\]"]+)/.exec(raw.slice(i, i + 40));
      if (id === null) throw new Error(`bad SD-ID at ${i}`);
      i += id[0].length;
      const params = new Map<string, string>();
      while (raw[i] === " ") {
        const name = /^ ([^ =\]"]{1,32})="/.exec(raw.slice(i, i + 40));
        if (name === null) throw new Error(`bad SD-PARAM at ${i}`);
        i += name[0].length;
        let value = "";
        for (;;) {
          const ch = raw[i++];
          if (ch === undefined) throw new Error("unterminated PARAM-VALUE");
          if (ch === "\\" && (raw[i] === '"' || raw[i] === "\\" || raw[i] === "]")) value += raw[i++];
          else if (ch === '"') break;
          else if (ch === "]") throw new Error(`unescaped ] in PARAM-VALUE at ${i - 1}`);
          else value += ch;
        }
        params.set(name[1] as string, value);
      }
      if (raw[i++] !== "]") throw new Error(`SD-ELEMENT not closed at ${i - 1}`);
      sd.set(id[1] as string, params);
    }
  if (raw[i] !== " ") throw new Error(`no SP before MSG at ${i}`);
  return {
    pri: Number(head[1]),
    version: Number(head[2]),
    timestamp: head[3] as string,
    hostname: head[4] as string,
    app: head[5] as string,
    procid: head[6] as string,
    msgid: head[7] as string,
    sd,
    msg: raw.slice(i + 1),
  };
}
