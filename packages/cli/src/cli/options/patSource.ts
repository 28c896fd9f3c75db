/**
 * Where a profile's PAT comes from, and getting it: `pat_env` (a variable of the run's environment),
 * `pat_file` (a file only its owner can read, as ssh wants of a private key), `pat_command` (a
 * command run through `/bin/sh -c`, as git credential helpers and aws's credential_process are,
 * with the run's environment less the variables that hold PATs, bounded in time and output) or
 * `pat` (inline, in a 0600 config file).
 * A PAT read is registered with the redaction layer at once; a command's output and stderr are never
 * printed (a failing secret manager may still print the secret, or part of it).
 */
import { spawn } from "node:child_process";
import type { Stats } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { parseDurationMs } from "@clarifai-audit/client/internal/domain/duration.js";
import { registerSecret } from "@clarifai-audit/client/internal/domain/redact.js";
import { readRegularFile } from "@clarifai-audit/client/internal/state/regularFile.js";
import type { CliEnv } from "../cliIo.js";
import { formatDurationMs } from "../duration.js";
import { InterruptedError, UsageError } from "../exitCodes.js";
import { ConfigError, envValue, expandHome, octal, untrusted } from "./configFile.js";
import { PAT_KEYS, type PatKey, type ProfileConfig } from "./configSchema.js";

/** What a run stopped while its pat_command ran says (exit 130). */
const INTERRUPTED = "interrupted while the profile's pat_command ran (it was killed; nothing was sent)";

/** How long a pat_command may run, unless {@link PAT_TIMEOUT_ENV} says otherwise. */
export const PAT_COMMAND_TIMEOUT_MS = 10_000;
/** The variable giving a pat_command more (or less) time: a duration, 100ms to 10m. */
export const PAT_TIMEOUT_ENV = "CLARIFAI_AUDIT_PAT_TIMEOUT";
/** Most bytes a pat_command may print (stdout and stderr each), or a pat_file hold. */
export const MAX_PAT_BYTES = 64 * 1024;

/** A profile's PAT source. */
export interface PatSource {
  kind: PatKey;
  /** The variable name, the path as written, the command; empty for an inline PAT. */
  spec: string;
}

/** The profile's PAT source, if it has one (the file's check allowed at most one). */
export function patSourceOf(profile: ProfileConfig): PatSource | undefined {
  const kind = PAT_KEYS.find((k) => profile[k] !== undefined);
  if (kind === undefined) return undefined;
  return { kind, spec: kind === "pat" ? "" : (profile[kind] as string) };
}

/** `pat_file`'s path: `~` expanded, relative to the config file's folder. */
export function patFilePath(spec: string, configFile: string, env: CliEnv): string {
  const path = expandHome(spec, env);
  return isAbsolute(path) ? path : resolve(dirname(configFile), path);
}

/** Where a PAT source is read: the profile, for messages, and its file. */
export interface PatContext {
  /** `config file F: profile "p"`. */
  where: string;
  /**
   * What joins {@link where} and the key in messages: `": "` (default: `profile "p": pat_env: …`), or
   * `"."` for a key path (`accounts[1].pat_env: …`, the collector's config).
   */
  join?: string;
  configFile: string;
  /** The inline PAT, for kind `pat`. */
  inline?: string;
  /**
   * Variables a pat_command is not given: those that hold PATs (CLARIFAI_PAT, every pat_env of the
   * file), so a secret manager's command never sees another account's PAT.
   */
  withheld: readonly string[];
  /** The run's stop signal (SIGINT/SIGTERM): a pat_command still running is killed, the run ends. */
  signal?: AbortSignal;
}

/**
 * The PAT the source gives, registered as a secret.
 * @throws ConfigError (one line naming the profile, never the PAT or a command's output).
 */
export async function readPat(source: PatSource, env: CliEnv, context: PatContext): Promise<string> {
  const pat = await readPatText(source, env, context);
  registerSecret(pat);
  if (!/^[\x21-\x7e]+$/.test(pat))
    throw new ConfigError(
      `${context.where}: ${source.kind}: gave a malformed PAT (allowed: printable ASCII without spaces or control characters)`,
    );
  return pat;
}

async function readPatText(source: PatSource, env: CliEnv, context: PatContext): Promise<string> {
  const fail = (problem: string) =>
    new ConfigError(`${context.where}${context.join ?? ": "}${source.kind}: ${problem}`);
  switch (source.kind) {
    case "pat":
      return context.inline ?? "";
    case "pat_env": {
      const value = envValue(env, source.spec);
      if (value === undefined) throw fail(`the variable ${source.spec} is not set (or is blank)`);
      return value;
    }
    case "pat_file":
      return firstLine(await readPatFile(source.spec, env, context), fail, "the file");
    case "pat_command":
      return firstLine(
        await runPatCommand(
          source.spec,
          withoutVariables(env, context.withheld),
          patTimeoutMs(env),
          fail,
          context.signal,
        ),
        fail,
        "the command",
      );
  }
}

/**
 * The bytes of a pat_file, refused unless it is a regular file only its owner can read or write
 * (owned by you or root), as ssh refuses a private key.
 */
export async function readPatFile(
  spec: string,
  env: CliEnv,
  context: Pick<PatContext, "where" | "configFile" | "join">,
): Promise<Buffer> {
  const path = patFilePath(spec, context.configFile, env);
  const fail = (problem: string) =>
    new ConfigError(`${context.where}${context.join ?? ": "}pat_file ${path} ${problem}`);
  const bytes = await readRegularFile(path, MAX_PAT_BYTES, fail, "a PAT file", privateFileProblem);
  if (bytes === undefined) throw fail("does not exist");
  return bytes;
}

/** Why a file holding a secret may not be used: others may read it, or it is not yours. */
export function privateFileProblem(info: Stats): string | undefined {
  if (process.getuid?.() === undefined) return undefined;
  if ((info.mode & 0o077) !== 0)
    return `has mode ${octal(info.mode)}, too open: a PAT file must not be accessible by others; run chmod 600 on it`;
  return untrusted(info);
}

/** The pat_command's time limit: {@link PAT_TIMEOUT_ENV}, else 10s. */
export function patTimeoutMs(env: CliEnv): number {
  const text = envValue(env, PAT_TIMEOUT_ENV);
  if (text === undefined) return PAT_COMMAND_TIMEOUT_MS;
  const ms = parseDurationMs(text);
  if (ms === undefined || ms < 100 || ms > 600_000)
    throw new UsageError(
      `${PAT_TIMEOUT_ENV}: not a duration from 100ms to 10m (got ${JSON.stringify(text)}; e.g. 10s, 1m)`,
    );
  return ms;
}

function firstLine(bytes: Buffer, fail: (problem: string) => Error, what: string): string {
  const line = (bytes.toString("utf8").split(/\r?\n/)[0] ?? "").trim();
  if (line === "") throw fail(`${what} gave an empty first line: no PAT`);
  return line;
}

/** `env` less the variables `names`. */
function withoutVariables(env: CliEnv, names: readonly string[]): CliEnv {
  const rest: Record<string, string | undefined> = { ...env };
  for (const name of names) delete rest[name];
  return rest;
}

/**
 * Runs a pat_command through `/bin/sh -c` with the environment it is given and no stdin; its own process
 * group, so a timeout ends what it started too. Its own group also means a terminal's Ctrl-C does not
 * reach it: the run's `signal` and the process's exit kill it, so a command waiting on a pinentry or
 * a network is never left behind.
 */
function runPatCommand(
  command: string,
  env: CliEnv,
  timeoutMs: number,
  fail: (problem: string) => Error,
  signal?: AbortSignal,
): Promise<Buffer> {
  return new Promise((done, reject) => {
    if (signal?.aborted) return reject(new InterruptedError("interrupted before the pat_command ran"));
    const child = spawn("/bin/sh", ["-c", command], {
      env: env as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let errBytes = 0;
    let ended: string | undefined;
    const killGroup = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    };
    const stop = (why: string) => {
      ended ??= why;
      killGroup();
    };
    const interrupted = () => stop(INTERRUPTED);
    signal?.addEventListener("abort", interrupted, { once: true });
    // A second signal ends the process at once (exit 130): the group goes with it.
    process.once("exit", killGroup);
    const settle = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", interrupted);
      process.off("exit", killGroup);
    };
    const timer = setTimeout(
      () =>
        stop(`did not finish within ${formatDurationMs(timeoutMs)} (killed; ${PAT_TIMEOUT_ENV} allows more)`),
      timeoutMs,
    );
    child.stdout.on("data", (chunk: Buffer) => {
      outBytes += chunk.length;
      if (outBytes > MAX_PAT_BYTES) stop(`printed more than ${MAX_PAT_BYTES / 1024} KiB (killed)`);
      else out.push(chunk);
    });
    // Counted, never shown: a secret manager's complaint may quote the secret.
    child.stderr.on("data", (chunk: Buffer) => {
      errBytes += chunk.length;
      if (errBytes > MAX_PAT_BYTES) stop(`wrote more than ${MAX_PAT_BYTES / 1024} KiB to stderr (killed)`);
    });
    child.on("error", (error: NodeJS.ErrnoException) => {
      settle();
      reject(fail(`cannot run /bin/sh (${error.code ?? error.message})`));
    });
    child.on("close", (code, killedBy) => {
      settle();
      const stderrNote = errBytes > 0 ? `; its stderr (${errBytes} bytes) is not shown: run it yourself` : "";
      if (ended === INTERRUPTED) return reject(new InterruptedError(INTERRUPTED));
      if (ended !== undefined) return reject(fail(`${ended}${stderrNote}`));
      if (killedBy !== null) return reject(fail(`was killed by ${killedBy}${stderrNote}`));
      if (code !== 0) return reject(fail(`exited with status ${code}${stderrNote}`));
      done(Buffer.concat(out));
    });
  });
}
