/**
 * The emulator's option and fault types, and the one place where their defaults are merged.
 */
import type { AuditLogEntry } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/resources.js";

/** Options of {@link startEmulator}. Every field is optional. */
export interface EmulatorOptions {
  /** Interface to bind both servers to. Default `"127.0.0.1"`. */
  host?: string;
  /** gRPC port; 0 (the default) picks an ephemeral port. */
  port?: number;
  /** REST port; 0 (the default) picks an ephemeral port, `false` starts no REST server. */
  restPort?: number | false;
  /** PEM certificate chain and key; when set, gRPC uses TLS and REST is served over https. */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** PAT → user id. Default `{ "emulator-pat": "emulator-user" }`. */
  pats?: Record<string, string>;
  /** Entries loaded into the log of {@link EmulatorOptions.dataUserId}. */
  entries?: AuditLogEntry[];
  /** JSONL files (one entry per line, REST JSON form) loaded into the same log. */
  dataFiles?: string[];
  /** Deterministic synthetic entries (see {@link generateEntries}) loaded into the same log. */
  generate?: GenerateData;
  /** Whose audit log the data goes to. Default: the user of the first PAT. */
  dataUserId?: string;
  /** Initial faults; change them later with {@link EmulatorHandle.setFaults}. */
  faults?: Partial<FaultOptions>;
  /**
   * Requests per second per account (an integer 1-10000): calls over it are throttled as Clarifai
   * throttles them (packages/emulator/src/rateLimit.ts). Default: no limit (or the profile's).
   */
  rateLimit?: number;
  /** Settings of a named profile (packages/emulator/src/profiles.ts), under the explicit ones. */
  profile?: "clarifai";
  /**
   * Several accounts, each with its PAT, its own log's data and its own growth (added to `pats`;
   * the rate limit counts each account apart, as Clarifai's 15/s is per account). Without `pats`,
   * only these PATs are known, and the data user (of `entries`, `dataFiles`, `generate` and the
   * `growth` fault) is the first account's user.
   */
  accounts?: EmulatorAccount[];
}

/** Deterministic synthetic entries (see {@link generateEntries}). */
export interface GenerateData {
  count: number;
  seed: number;
  /** Unix seconds of the first entry; default 2025-01-01T00:00:00Z. */
  startSeconds?: number;
}

/**
 * `count` generated entries appended every `everyMs` ms; `lateFraction` of them get timestamps inside
 * the log's existing time span (late arrivals).
 */
export interface GrowthOptions {
  count: number;
  everyMs: number;
  lateFraction: number;
}

/** One account of {@link EmulatorOptions.accounts}: a PAT, the user it belongs to, its log's data. */
export interface EmulatorAccount {
  /** Printable ASCII without spaces; must not already belong to another user in `pats`. */
  pat: string;
  /** Whose log; one account per user id. */
  userId: string;
  /** Entries loaded into this account's log. */
  entries?: AuditLogEntry[];
  /** JSONL files loaded into this account's log. */
  dataFiles?: string[];
  /** Generated entries loaded into this account's log. */
  generate?: GenerateData;
  /**
   * Growth of this account's log while serving (change it with `handle.setGrowth`); `seed` (default
   * 1000 + the account's index) makes its entries reproducible and distinct from other accounts'.
   */
  growth?: GrowthOptions & { seed?: number };
}

/** The keys an {@link EmulatorAccount} may have. */
export const ACCOUNT_KEYS: readonly (keyof EmulatorAccount)[] = [
  "pat",
  "userId",
  "entries",
  "dataFiles",
  "generate",
  "growth",
];

/**
 * Faults the emulator injects into search calls (gRPC and REST alike).
 *
 * Counting knobs: `…Every: N` faults calls N, 2N, 3N, … counted from when the knob was last set
 * (start-up or {@link EmulatorHandle.setFaults}); `…Probability: p` faults each call with
 * probability p drawn from an RNG seeded with `seed`; `…Burst: K` faults the next K calls, then the
 * burst is spent (set it again for another burst). 0 disables a knob. When several knobs fire on
 * one call, the connection drop wins over UNAVAILABLE, which wins over throttling.
 */
export interface FaultOptions {
  /** Fixed delay added to every call, in milliseconds. */
  latencyMs: number;
  /** Extra random delay in [0, jitterMs) per call, from the seeded RNG. */
  jitterMs: number;
  /** Throttle every Nth call: a gRPC-OK reply with status CONN_THROTTLED (11005); REST HTTP 429. */
  throttleEvery: number;
  throttleProbability: number;
  throttleBurst: number;
  /**
   * Throttle every call that arrives while N or more calls are being served, so that at most N are
   * served at a time: a per-account concurrency limit, as rate-limited APIs enforce. Latency counts
   * as serving.
   */
  throttleAboveInFlight: number;
  /** Fail every Nth call with gRPC status UNAVAILABLE (REST: HTTP 503). */
  unavailableEvery: number;
  unavailableProbability: number;
  unavailableBurst: number;
  /** Destroy the HTTP/2 session (REST: the socket) of every Nth call before replying. */
  dropConnectionEvery: number;
  /**
   * Append `count` generated entries to the data user's log every `everyMs` milliseconds;
   * `lateFraction` of them get timestamps inside the log's existing time span (late arrivals).
   */
  growth: GrowthOptions | undefined;
  /** Seed of the fault RNG (probabilities, jitter, growth data). */
  seed: number;
}

/** No faults at all. */
export const NO_FAULTS: Readonly<FaultOptions> = Object.freeze({
  latencyMs: 0,
  jitterMs: 0,
  throttleEvery: 0,
  throttleProbability: 0,
  throttleBurst: 0,
  throttleAboveInFlight: 0,
  unavailableEvery: 0,
  unavailableProbability: 0,
  unavailableBurst: 0,
  dropConnectionEvery: 0,
  growth: undefined,
  seed: 1,
});

export const DEFAULT_PATS: Readonly<Record<string, string>> = Object.freeze({
  "emulator-pat": "emulator-user",
});

/** Largest `generate.count` (`--generate`): a log of this many entries takes about 2 GB. */
export const MAX_GENERATE = 5_000_000;

/**
 * The documented range of each knob. Delays stay far below setTimeout's limit (2^31 − 1 ms, beyond
 * which Node silently waits 1 ms instead).
 */
export const KNOB_LIMITS = {
  /** latencyMs, jitterMs: up to 10 minutes. */
  delayMs: 600_000,
  /** …Every, …Burst, throttleAboveInFlight. */
  count: 1_000_000_000,
  /** growth.count per tick. */
  growthCount: 100_000,
  /** growth.everyMs: up to a day. */
  growthEveryMs: 86_400_000,
} as const;

function checkCount(name: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > KNOB_LIMITS.count) {
    throw new RangeError(
      `faults.${name} must be an integer from 0 to ${KNOB_LIMITS.count}, got ${String(v)}`,
    );
  }
}

function checkNumber(name: string, v: unknown): void {
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > KNOB_LIMITS.delayMs) {
    throw new RangeError(
      `faults.${name} must be a number of ms from 0 to ${KNOB_LIMITS.delayMs}, got ${String(v)}`,
    );
  }
}

function checkProbability(name: string, v: unknown): void {
  if (typeof v !== "number" || !(v >= 0 && v <= 1)) {
    throw new RangeError(`faults.${name} must be a probability between 0 and 1, got ${String(v)}`);
  }
}

/** Refuses keys outside `allowed`: a misspelled knob would otherwise be ignored without a word. */
export function checkKeys(what: string, value: object, allowed: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new RangeError(`${what}: unknown option '${key}'; allowed: ${allowed.join(", ")}`);
    }
  }
}

/** Validates a partial fault set; throws a RangeError naming the field and the allowed values. */
export function validateFaults(f: Partial<FaultOptions>): void {
  if (typeof f !== "object" || f === null) throw new RangeError(`faults must be an object, got ${String(f)}`);
  checkKeys("faults", f, Object.keys(NO_FAULTS));
  for (const k of ["latencyMs", "jitterMs"] as const) if (k in f) checkNumber(k, f[k]);
  for (const k of [
    "throttleEvery",
    "throttleBurst",
    "throttleAboveInFlight",
    "unavailableEvery",
    "unavailableBurst",
    "dropConnectionEvery",
  ] as const) {
    if (k in f) checkCount(k, f[k]);
  }
  for (const k of ["throttleProbability", "unavailableProbability"] as const) {
    if (k in f) checkProbability(k, f[k]);
  }
  if ("seed" in f && (typeof f.seed !== "number" || !Number.isInteger(f.seed))) {
    throw new RangeError(`faults.seed must be an integer, got ${String(f.seed)}`);
  }
  if (f.growth !== undefined) validateGrowth("faults.growth", f.growth);
}

/** Validates a growth setting; `what` names it in the RangeError (`faults.growth`, `accounts[1].growth`). */
export function validateGrowth(what: string, g: unknown, extraKeys: readonly string[] = []): void {
  if (typeof g !== "object" || g === null) {
    throw new RangeError(`${what} must be { count, everyMs, lateFraction } or undefined, got ${String(g)}`);
  }
  checkKeys(what, g, ["count", "everyMs", "lateFraction", ...extraKeys]);
  const { count, everyMs, lateFraction } = g as Partial<GrowthOptions>;
  if (!Number.isInteger(count) || (count as number) < 1 || (count as number) > KNOB_LIMITS.growthCount) {
    throw new RangeError(
      `${what}.count must be an integer from 1 to ${KNOB_LIMITS.growthCount}, got ${String(count)}`,
    );
  }
  if (
    typeof everyMs !== "number" ||
    !Number.isFinite(everyMs) ||
    everyMs < 1 ||
    everyMs > KNOB_LIMITS.growthEveryMs
  ) {
    throw new RangeError(
      `${what}.everyMs must be from 1 to ${KNOB_LIMITS.growthEveryMs}, got ${String(everyMs)}`,
    );
  }
  if (typeof lateFraction !== "number" || !(lateFraction >= 0 && lateFraction <= 1)) {
    throw new RangeError(
      `${what}.lateFraction must be a probability between 0 and 1, got ${String(lateFraction)}`,
    );
  }
}
