/**
 * Exit codes and the one-line error report of every command. A failure prints exactly one line on
 * stderr (`clarifai-audit: <message>`), with the req_id when the server gave one, and never a stack.
 * The library's errors carry no exit code: this module is the one place that maps their classes to
 * codes, and their messages go through packages/cli/src/cli/renderError.ts into the CLI's words.
 */

import { patFromEnv } from "@clarifai-audit/client/internal/client/config.js";
import { AuditUsageError, ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import { redact, registerSecret } from "@clarifai-audit/client/internal/domain/redact.js";
import { terminalSafe } from "@clarifai-audit/client/internal/domain/terminalText.js";
import {
  AuthenticationError,
  CanceledError,
  ClarifaiError,
  InvalidRequestError,
  PermissionError,
  RateLimitError,
} from "@clarifai-audit/client/internal/errors.js";
import { ExportInterruptedError } from "@clarifai-audit/client/internal/export/errors.js";
import { CommanderError } from "commander";
import { renderMessage } from "./renderError.js";

/** Documented exit codes. */
export const EXIT = {
  ok: 0,
  /** Anything else: server error, unavailable after retries, I/O error. */
  error: 1,
  /** Bad flag or flag value, bad query, refused resume — nothing was sent (or the server said INVALID). */
  usage: 2,
  /** Authentication or permission failure (bad or missing-scope PAT). */
  auth: 3,
  /** Rate limited, retries exhausted. */
  rateLimit: 4,
  /** `watch`: an alert could not be delivered to a destination (it is in the dead-letter file). */
  undelivered: 5,
  /** `verify`: the log is not verified (a problem was found; the one line names it). */
  notVerified: 6,
  /** Interrupted by SIGINT/SIGTERM (export: a resumable manifest was committed). */
  interrupted: 130,
} as const;

/** A bad command line found by our own checks (commander's are CommanderErrors). */
export class UsageError extends ClarifaiAuditError {
  override name = "UsageError";
}

/**
 * A command other than export stopped by SIGINT/SIGTERM, with a message naming only its own flags
 * (the engine's ExportInterruptedError says "rerun with --resume", which only export has).
 */
export class InterruptedError extends ClarifaiAuditError {
  override name = "InterruptedError";
}

/** `watch` ends having dead-lettered alerts: a cron job or supervisor must see it in the exit code. */
export class UndeliveredError extends ClarifaiAuditError {
  override name = "UndeliveredError";
}

/** Exit code for `error`. */
export function exitCodeOf(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  // Every library usage error (ValidationError, ExportUsageError, SyncUsageError, InputError,
  // RulesError, OutputPathError, …) is an AuditUsageError.
  if (error instanceof UsageError || error instanceof AuditUsageError) return EXIT.usage;
  if (
    error instanceof ExportInterruptedError ||
    error instanceof CanceledError ||
    error instanceof InterruptedError
  )
    return EXIT.interrupted;
  if (error instanceof UndeliveredError) return EXIT.undelivered;
  if (error instanceof AuthenticationError || error instanceof PermissionError) return EXIT.auth;
  if (error instanceof RateLimitError) return EXIT.rateLimit;
  if (error instanceof InvalidRequestError) return EXIT.usage;
  return EXIT.error;
}

/**
 * Registers the secrets the environment gives every command, so that {@link redact} hides them in
 * whatever is printed: the PAT, PGPASSWORD, and the alert signing secret (ALERT_SECRET_ENV of
 * packages/cli/src/cli/watchCommand.ts, named here so that this module does not load watch).
 */
export function registerEnvironmentSecrets(env: Readonly<NodeJS.ProcessEnv> = process.env): void {
  registerSecret(patFromEnv(env));
  registerSecret(env.PGPASSWORD);
  registerSecret(env.CLARIFAI_AUDIT_ALERT_SECRET);
}

/**
 * One line, whatever the message holds: secrets redacted (the last line of defence: known values,
 * `Key …` phrases, URL credentials and queries), line breaks joined, and any other control character
 * escaped (messages quote entry text, file contents and flags).
 */
export function oneLine(text: string, secret?: string): string {
  return terminalSafe(
    redact(text, secret)
      .replace(/\s*[\r\n]+\s*/g, " ")
      .trim(),
  );
}

/** The line printed for `error`. */
export function errorLine(error: unknown, secret?: string): string {
  let message: string;
  if (error instanceof ClarifaiError) {
    const retries = error.attempts > 1 ? ` (after ${error.attempts} attempts)` : "";
    message = `${error.message}${retries}`;
  } else if (error instanceof Error) {
    message = error.message;
  } else {
    message = String(error);
  }
  return `clarifai-audit: error: ${oneLine(renderMessage(message), secret)}`;
}

/**
 * Prints the error line on `stderr` (unless commander already did) and returns the exit code. The
 * secret is the PAT as the client reads it from CLARIFAI_PAT of `env` (trimmed: untrimmed, a PAT read with a trailing
 * newline would not match where it is echoed, and a blank one would match every space).
 */
export function reportError(
  error: unknown,
  env: Readonly<NodeJS.ProcessEnv> = process.env,
  stderr: { write(text: string): unknown } = process.stderr,
): number {
  registerEnvironmentSecrets(env);
  if (!(error instanceof CommanderError)) stderr.write(`${errorLine(error, patFromEnv(env))}\n`);
  return exitCodeOf(error);
}
