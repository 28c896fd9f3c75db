/**
 * Where alerts go besides stdout: webhooks (JSON or Slack's incoming-webhook format, optionally
 * signed) and commands (the alert on stdin). Each delivery is retried with exponential backoff;
 * what still fails is appended to the dead-letter file, so an alert is never dropped. A journal of
 * delivered (alert key, destination) pairs, appended and fsynced after each delivery, lets a
 * restart skip what was already delivered (see the README (watch) for the exact guarantee).
 */
import { spawn } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { open, readFile, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { operationName } from "../domain/operations.js";
import { redact } from "../domain/redact.js";
import { terminalSafe } from "../domain/terminalText.js";
import type { Alert } from "./alert.js";
import type { RestEntry } from "./rules.js";

/** Retry and timeout settings of every destination. */
export interface DeliveryOptions {
  /** Attempts per alert and destination, the first included. */
  attempts: number;
  /** Delay before the first retry; doubled for each further one (capped at 60 s). */
  backoffMs: number;
  /** Deadline of one attempt. */
  timeoutMs: number;
  /** HMAC-SHA256 key of the X-Clarifai-Audit-Signature header. */
  secret?: string;
}

/** One attempt failed; `permanent` failures (a 4xx other than 408/429) are not retried. */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent = false,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "DeliveryError";
  }
}

/** A destination: `send` makes one attempt and throws {@link DeliveryError} when it failed. */
export interface Destination {
  /** Stable name (kind and URL or command), recorded in the journal and the dead-letter file. */
  readonly name: string;
  send(alert: Alert, json: string): Promise<void>;
}

/** The `X-Clarifai-Audit-Signature` value of a body: `sha256=` and the hex HMAC-SHA256. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

function entrySummary(line: string): string {
  try {
    const e = JSON.parse(line) as RestEntry;
    const targets = (e.targets ?? [])
      .map((t) => {
        const kind = Object.keys(t)[0] ?? "";
        return `${kind}=${String(t[kind]?.id ?? "")}`;
      })
      .join(" ");
    return `${e.timestamp ?? ""} ${operationName(e.operation ?? 0)} by ${e.user?.id ?? "?"}${
      e.source_ip ? ` from ${e.source_ip}` : ""
    }${targets ? ` on ${targets}` : ""}${e.success === false ? " (failed)" : ""}`;
  } catch {
    return "(unreadable entry)";
  }
}

/** Slack's incoming-webhook body for an alert. */
export function slackBody(alert: Alert): string {
  const shown = alert.entries.slice(0, 5).map((l) => `• ${entrySummary(l)}`);
  if (alert.entries.length > 5) shown.push(`• … and ${alert.entries.length - 5} more`);
  const group = alert.group === null ? "" : ` — ${alert.group}`;
  const text = `*[${alert.severity.toUpperCase()}] ${alert.title}*${group}\nrule \`${alert.rule}\`, ${alert.time}, key \`${alert.key}\`\n${shown.join("\n")}`;
  return JSON.stringify({ text });
}

/**
 * A webhook's name in logs, the journal and the dead-letter file: without the query string, and
 * without the path for Slack (whose webhook path is the secret), plus a hash of the full URL so
 * that two webhooks differing only there stay apart.
 */
export function destinationName(kind: "webhook" | "slack", text: string): string {
  const hash = createHash("sha256").update(text).digest("hex").slice(0, 8);
  try {
    const u = new URL(text);
    return `${kind}:${u.origin}${kind === "slack" ? "/…" : u.pathname}#${hash}`;
  } catch {
    return `${kind}:#${hash}`;
  }
}

/** A webhook: POSTs the alert (or its Slack message); 2xx is delivered. */
export function webhookDestination(
  url: string,
  flavour: "json" | "slack",
  options: DeliveryOptions,
): Destination {
  return {
    name: destinationName(flavour === "slack" ? "slack" : "webhook", url),
    async send(alert, json) {
      const body = flavour === "slack" ? slackBody(alert) : json;
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "user-agent": "clarifai-audit-watch",
        "x-clarifai-audit-alert-key": alert.key,
      };
      if (options.secret !== undefined)
        headers["x-clarifai-audit-signature"] = signature(options.secret, body);
      let response: Response;
      try {
        response = await fetch(url, {
          method: "POST",
          headers,
          body,
          signal: AbortSignal.timeout(options.timeoutMs),
          redirect: "error",
        });
      } catch (error) {
        const e = error as Error & { cause?: { code?: string; message?: string } };
        const why =
          e.name === "TimeoutError"
            ? `no answer within ${options.timeoutMs} ms`
            : (e.cause?.code ?? e.cause?.message ?? e.message);
        throw new DeliveryError(why);
      }
      // The body is not needed, but an unread one keeps the connection busy.
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return;
      const status = response.status;
      const retryAfter = Number(response.headers.get("retry-after"));
      throw new DeliveryError(
        `HTTP ${status}`,
        status >= 400 && status < 500 && status !== 408 && status !== 429,
        Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 60) * 1000 : undefined,
      );
    },
  };
}

/**
 * Variables an `--alert-exec` command inherits: what a shell script needs to find programs and
 * format text, nothing else. The watcher's environment holds CLARIFAI_PAT, the alert signing
 * secret, PG* passwords and whatever the caller exported; a command that needs a credential gets it
 * from its own configuration, not from ours.
 */
export const CHILD_ENV_NAMES: readonly string[] = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "TMPDIR",
  "TZ",
  "LANG",
  "LANGUAGE",
];

/** The environment of an `--alert-exec` command: {@link CHILD_ENV_NAMES} and `LC_*`, when set. */
export function childEnvironment(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && (CHILD_ENV_NAMES.includes(name) || /^LC_[A-Z_]+$/.test(name)))
      out[name] = value;
  }
  // /bin/sh without PATH would find nothing but builtins.
  out.PATH ??= "/usr/local/bin:/usr/bin:/bin";
  return out;
}

/** A command run by /bin/sh with the alert JSON (and a newline) on stdin; exit 0 is delivered. */
export function execDestination(command: string, options: DeliveryOptions): Destination {
  return {
    name: `exec:${command}`,
    send(alert, json) {
      return new Promise((resolve, reject) => {
        const child = spawn("/bin/sh", ["-c", command], {
          stdio: ["pipe", "ignore", "inherit"],
          env: {
            ...childEnvironment(),
            CLARIFAI_AUDIT_ALERT_KEY: alert.key,
            CLARIFAI_AUDIT_ALERT_RULE: alert.rule,
          },
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
        child.on("error", (error) => {
          clearTimeout(timer);
          reject(new DeliveryError(error.message));
        });
        child.on("close", (code, signal) => {
          clearTimeout(timer);
          if (code === 0) resolve();
          else if (signal === "SIGKILL") reject(new DeliveryError(`no exit within ${options.timeoutMs} ms`));
          else reject(new DeliveryError(signal ? `killed by ${signal}` : `exit code ${code}`));
        });
        // A command that does not read its stdin is not a failure of the delivery.
        child.stdin.on("error", () => undefined);
        child.stdin.end(`${json}\n`);
      });
    },
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Sends with retries; resolves to undefined when delivered, else the last error and attempts made. */
export async function sendWithRetry(
  dest: Destination,
  alert: Alert,
  json: string,
  options: DeliveryOptions,
): Promise<{ error: string; attempts: number } | undefined> {
  let delay = options.backoffMs;
  for (let attempt = 1; ; attempt++) {
    try {
      await dest.send(alert, json);
      return undefined;
    } catch (error) {
      const e = error instanceof DeliveryError ? error : new DeliveryError(String(error));
      // The reason is printed and written to the dead-letter file: undici's errors quote the URL
      // (credentials included), and a receiver's text may hold terminal controls.
      if (e.permanent || attempt >= options.attempts)
        return { error: terminalSafe(redact(e.message)), attempts: attempt };
      // ±20 % jitter, so that many watchers do not retry in lockstep.
      const wait = e.retryAfterMs ?? delay * (0.8 + Math.random() * 0.4);
      await sleep(wait);
      delay = Math.min(delay * 2, 60_000);
    }
  }
}

/**
 * Start-up check of a webhook URL: a URL with an http(s) scheme, and a host:port that accepts a TCP
 * connection within `timeoutMs` (nothing is sent). Returns the problem, or undefined.
 */
export async function checkWebhook(text: string, timeoutMs: number): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "not a URL";
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return "the scheme must be http or https";
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`no TCP connection to ${host}:${port} within ${timeoutMs} ms`);
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(undefined);
    });
    socket.once("error", (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(`cannot connect to ${host}:${port} (${error.code ?? error.message})`);
    });
  });
}

async function appendDurable(path: string, text: string): Promise<void> {
  const fh = await open(path, "a");
  try {
    await fh.writeFile(text);
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** The dead-letter file: one JSON line per undeliverable (alert, destination), fsynced. */
export class DeadLetter {
  constructor(readonly path: string) {}

  /** Appends one undeliverable (alert, destination) and fsyncs it. */
  async append(
    destination: string,
    failure: { error: string; attempts: number },
    json: string,
  ): Promise<void> {
    const head = JSON.stringify({
      // An exec destination's name is its command, which may hold a URL with credentials.
      destination: redact(destination),
      error: failure.error,
      attempts: failure.attempts,
      failed_at: new Date().toISOString(),
    });
    await appendDurable(this.path, `${head.slice(0, -1)},"alert":${json}}\n`);
  }
}

/** Delivered (alert key, destination) pairs, appended and fsynced after each delivery. */
export class DeliveryJournal {
  private readonly done = new Set<string>();

  constructor(readonly path: string) {}

  /** Reads the journal; a torn last line (a kill mid-append) is ignored. */
  async load(): Promise<void> {
    let text = "";
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    for (const line of text.split("\n")) {
      try {
        const r = JSON.parse(line) as { key?: unknown; dest?: unknown };
        if (typeof r.key === "string" && typeof r.dest === "string") this.done.add(`${r.key} ${r.dest}`);
      } catch {}
    }
  }

  /** True when the alert `key` was delivered (or dead-lettered) to `dest`. */
  has(key: string, dest: string): boolean {
    return this.done.has(`${key} ${dest}`);
  }

  /** Records a delivery durably (appended, fsynced). */
  async record(key: string, dest: string): Promise<void> {
    this.done.add(`${key} ${dest}`);
    await appendDurable(this.path, `${JSON.stringify({ key, dest })}\n`);
  }

  /** Empties the journal once a checkpoint no longer holds any of its alerts. */
  async clear(): Promise<void> {
    if (this.done.size === 0) return;
    this.done.clear();
    await writeFile(this.path, "");
  }
}
