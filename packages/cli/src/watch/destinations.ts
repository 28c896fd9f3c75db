/**
 * Where alerts go besides stdout: webhooks (JSON or Slack's incoming-webhook format, optionally
 * signed) and commands (the alert on stdin). Each delivery is retried with exponential backoff;
 * what still fails is appended to the dead-letter file, so an alert is never dropped. A journal of
 * delivered (alert key, destination) pairs, appended and fsynced after each delivery, lets a
 * restart skip what was already delivered (docs/cli/watch.md, "Exactly once across restarts", has the exact guarantee).
 */
import { spawn } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { type Clock, systemClock } from "@clarifai-audit/client/internal/domain/clock.js";
import { ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import { operationName } from "@clarifai-audit/client/internal/domain/operations.js";
import { redact } from "@clarifai-audit/client/internal/domain/redact.js";
import { terminalSafe } from "@clarifai-audit/client/internal/domain/terminalText.js";
import { openRegular } from "@clarifai-audit/client/internal/state/outputPath.js";
import {
  MAX_STATE_BYTES,
  readRegularFile,
  StateFileError,
} from "@clarifai-audit/client/internal/state/stateReader.js";
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
  /** Aborted on SIGINT/SIGTERM: the attempt in flight ends at once and no retry follows. */
  signal?: AbortSignal;
  /** What the waits between attempts are made on (default {@link systemClock}). */
  clock?: Clock;
  /** Where an exec destination's few variables are taken from (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** After each failed attempt, retried or not (the collector counts them as delivery failures). */
  onFailedAttempt?: () => void;
}

/** One attempt failed; `permanent` failures (a 4xx other than 408/429) are not retried. */
export class DeliveryError extends ClarifaiAuditError {
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

/**
 * Most bytes of a webhook's reply body read (the rest is not read: the connection is closed). The
 * body is never used; reading a little of it only lets a small reply end cleanly.
 */
export const MAX_REPLY_BYTES = 64 * 1024;

/** What {@link postBounded} keeps of a reply. */
interface BoundedReply {
  status: number;
  retryAfter: string | undefined;
  /** Body bytes read (at most {@link MAX_REPLY_BYTES}; more were not read). */
  bodyBytes: number;
}

/**
 * POSTs `body` and reads the reply, all of it (connect, headers, body) within `options.timeoutMs`
 * and at most {@link MAX_REPLY_BYTES} of the body; an abort of `options.signal` (SIGINT/SIGTERM)
 * ends it at once. A reply that has sent its status and then stalls, or streams without end, costs
 * one timeout and 64 KiB, never unbounded time or memory.
 * @throws DeliveryError when there is no complete status line and headers in time, or on abort.
 */
export function postBounded(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: Pick<DeliveryOptions, "timeoutMs" | "signal">,
): Promise<BoundedReply> {
  return new Promise((resolve, reject) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      reject(new DeliveryError("not a URL", true));
      return;
    }
    const request = (u.protocol === "https:" ? httpsRequest : httpRequest)(u, {
      method: "POST",
      headers: { ...headers, "content-length": String(Buffer.byteLength(body)) },
      // A connection of its own, so destroying it once the status is known touches no other request.
      agent: false,
    });
    // Listened to first: a request destroyed before it was sent (a signal already given) emits
    // "socket hang up", which unheard would end the process.
    request.on("error", (error: NodeJS.ErrnoException) =>
      finish(new DeliveryError(error.code ?? error.message)),
    );
    let reply: BoundedReply | undefined;
    let settled = false;
    const finish = (error?: DeliveryError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      // Whatever was not read is not wanted: the socket goes, and with it the rest of the reply.
      request.destroy();
      if (error !== undefined) reject(error);
      else resolve(reply as BoundedReply);
    };
    // Headers in time and a body cut short by the deadline: the status is the answer.
    const timer = setTimeout(
      () =>
        reply !== undefined
          ? finish()
          : finish(new DeliveryError(`no answer within ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    const onAbort = () => finish(new DeliveryError("interrupted (SIGINT/SIGTERM) before an answer"));
    if (options.signal?.aborted) {
      onAbort();
      return;
    }
    options.signal?.addEventListener("abort", onAbort, { once: true });
    request.on("response", (response) => {
      const retryAfter = response.headers["retry-after"];
      reply = { status: response.statusCode ?? 0, retryAfter, bodyBytes: 0 };
      response.on("data", (chunk: Buffer) => {
        const r = reply as BoundedReply;
        r.bodyBytes = Math.min(MAX_REPLY_BYTES, r.bodyBytes + chunk.length);
        if (r.bodyBytes >= MAX_REPLY_BYTES) finish();
      });
      response.on("end", () => finish());
      response.on("error", () => finish());
    });
    request.end(body);
  });
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
      const response = await postBounded(url, headers, body, options);
      if (response.status >= 200 && response.status < 300) return;
      const status = response.status;
      const retryAfter = Number(response.retryAfter);
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
export function childEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
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
            ...childEnvironment(options.env),
            CLARIFAI_AUDIT_ALERT_KEY: alert.key,
            CLARIFAI_AUDIT_ALERT_RULE: alert.rule,
          },
        });
        const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
        // SIGINT/SIGTERM: the command is not waited for (it fails as a timeout would).
        const onAbort = () => child.kill("SIGKILL");
        options.signal?.addEventListener("abort", onAbort, { once: true });
        child.on("close", () => options.signal?.removeEventListener("abort", onAbort));
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
      options.onFailedAttempt?.();
      // The reason is printed and written to the dead-letter file: a transport error may quote the URL
      // (credentials included), and a receiver's text may hold terminal controls.
      const reason = (message: string) => terminalSafe(redact(message));
      if (e.permanent || attempt >= options.attempts || options.signal?.aborted)
        return { error: reason(e.message), attempts: attempt };
      // ±20 % jitter, so that many watchers do not retry in lockstep.
      const wait = e.retryAfterMs ?? delay * (0.8 + Math.random() * 0.4);
      await (options.clock ?? systemClock).sleep(wait, options.signal);
      if (options.signal?.aborted)
        return {
          error: reason(`${e.message}; interrupted (SIGINT/SIGTERM) before the next attempt`),
          attempts: attempt,
        };
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
  // Only a regular file: /dev/null would lose dead letters unseen, a FIFO would block the watch.
  const fh = await openRegular("", path, "append");
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
    // Bounded, and only a regular file, as every state file is read (packages/client/src/state/stateReader.ts).
    const bytes = await readRegularFile(
      this.path,
      MAX_STATE_BYTES,
      (problem) => new StateFileError(this.path, undefined, problem),
    );
    const text = bytes?.toString("utf8") ?? "";
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
    await (await openRegular("", this.path, "truncate")).close();
  }
}
