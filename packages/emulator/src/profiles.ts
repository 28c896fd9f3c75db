/**
 * Emulator profiles: named bundles of settings that make the emulator behave like a real service,
 * so that clients can rehearse against it. Explicit options and flags override a profile's values.
 */
import type { FaultOptions } from "./options.js";

/** What a profile sets. */
export interface EmulatorProfile {
  /** Requests per second per account (see packages/emulator/src/rateLimit.ts). */
  rateLimit: number;
  /** Fault settings, merged under the explicit ones. */
  faults: Partial<FaultOptions>;
}

/**
 * `clarifai`: Clarifai's documented default limit of 15 requests per second per account, and a
 * round trip of 80-120 ms per call (80 ms plus up to 40 ms of jitter) — an assumed typical latency
 * from a cloud region to api.clarifai.com, not a measurement.
 */
export const EMULATOR_PROFILES = {
  clarifai: { rateLimit: 15, faults: { latencyMs: 80, jitterMs: 40 } },
} as const satisfies Record<string, EmulatorProfile>;

/** A profile's name. */
export type EmulatorProfileName = keyof typeof EMULATOR_PROFILES;

/** The names accepted by `profile` / `--profile`. */
export const PROFILE_NAMES = Object.keys(EMULATOR_PROFILES) as EmulatorProfileName[];

/** The profile named `name`; throws a RangeError naming the allowed ones. */
export function profileOf(name: unknown): EmulatorProfile {
  if (typeof name !== "string" || !Object.hasOwn(EMULATOR_PROFILES, name)) {
    throw new RangeError(`profile must be one of ${PROFILE_NAMES.join(", ")}, got ${String(name)}`);
  }
  return EMULATOR_PROFILES[name as EmulatorProfileName];
}
