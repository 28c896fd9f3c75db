/**
 * Durations and integers on the command line: commander's parsers over the domain's one duration
 * form (packages/client/src/domain/duration.ts).
 */

import { durationProblem, parseDurationMs } from "@clarifai-audit/client/internal/domain/duration.js";
import { InvalidArgumentError } from "commander";

export { parseDurationMs };

/** A commander argument parser for duration flags. */
export function durationOption(flag: string): (value: string) => number {
  return (value: string) => {
    const ms = parseDurationMs(value);
    if (ms === undefined) throw new InvalidArgumentError(`${flag}: ${durationProblem(value)}`);
    return ms;
  };
}

/** A commander argument parser for integer flags within [min, max]. */
export function integerOption(flag: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${flag}: "${value}" is not an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** Collects a repeatable flag into an array. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * `ms` as a duration the flags accept back (`60s`, `1h30m`, `250ms`), for help texts and messages:
 * a bare number of milliseconds would be refused by the very flag it describes.
 */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return "0";
  let rest = Math.round(ms);
  let out = "";
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ] as const) {
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out;
}
