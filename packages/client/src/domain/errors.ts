/**
 * The root of every error the library throws on purpose, and the shape of its usage errors (as
 * stripe-node has `StripeError`): one `instanceof ClarifaiAuditError` tells a caller's own failure
 * handling from a bug, and a usage error says which input, what is wrong and what is allowed in
 * fields, not only in words. Exit codes are no concern of the library: the CLI maps these classes to
 * them (packages/cli/src/cli/exitCodes.ts).
 *
 * Library messages name options by their library names in backticks (`` `lake`: /x does not exist ``,
 * `` pass `force` to overwrite it ``), never by a command-line flag, so that the CLI renders each as
 * its flag (packages/cli/src/cli/renderError.ts) and the library reads the same without a CLI.
 */

/** Base class of every error the library throws on purpose. */
export class ClarifaiAuditError extends Error {
  override name = "ClarifaiAuditError";
}

/** The fields of an {@link AuditUsageError}. */
export interface UsageProblem {
  /**
   * What was wrong: an option by its library name (`perPage`, `lake`, `to`, `rules`), or a file's
   * path when the problem is in the file's content.
   */
  input: string;
  /** What is wrong with it, and what to do about it when there is one thing to do. */
  problem: string;
  /** What is allowed, when it can be said apart from the problem (e.g. `1-65535`). */
  allowed?: string;
  cause?: unknown;
}

/**
 * Bad input to a library call (an option, or a file it names), found before any request or write
 * when it can be. `message` is `` `INPUT`: PROBLEM `` for an option, unless the thrower words it
 * otherwise (a problem in a file names the file itself).
 */
export class AuditUsageError extends ClarifaiAuditError {
  override name = "AuditUsageError";
  /** The option (library name) or file the problem is in. */
  readonly input: string;
  /** What is wrong. */
  readonly problem: string;
  /** What is allowed ("" when the problem says it). */
  readonly allowed: string;

  constructor(fields: UsageProblem, message = `\`${fields.input}\`: ${fields.problem}`) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.input = fields.input;
    this.problem = fields.problem;
    this.allowed = fields.allowed ?? "";
  }
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Date)
    return Number.isNaN(value.getTime()) ? "Invalid Date" : `Date(${value.toISOString()})`;
  if (typeof value === "object" && value !== null) {
    try {
      const s = JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
      if (s !== undefined) return s.length > 200 ? `${s.slice(0, 200)}…` : s;
    } catch {
      // cyclic or exotic objects fall through to String()
    }
  }
  return String(value);
}

/**
 * Bad input to the client, refused before any network call: which field, the offending value, and
 * what is allowed. Not a `ClarifaiError`: nothing was sent, so there is no status, request id or
 * retry. Its `input` is its `field`.
 */
export class ValidationError extends AuditUsageError {
  override name = "ValidationError";
  /** The option or query field, e.g. `from`, `operations[2]`, `targets[0].model.appId`. */
  readonly field: string;
  /** The refused value (never a credential: PAT problems report `undefined`). */
  readonly value: unknown;

  constructor(field: string, value: unknown, allowed: string, problem = "invalid value") {
    super(
      { input: field, problem, allowed },
      `${field}: ${problem} (got ${show(value)}; allowed: ${allowed})`,
    );
    this.field = field;
    this.value = value;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, message: this.message, field: this.field, allowed: this.allowed };
  }
}
