/**
 * Durations and integers on the command line: commander's parsers over the domain's one duration
 * form (packages/client/src/domain/duration.ts).
 */

import {
  durationProblem,
  formatDurationMs,
  parseDurationMs,
} from "@clarifai-audit/client/internal/domain/duration.js";
import { InvalidArgumentError } from "commander";

export { formatDurationMs, parseDurationMs };

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
