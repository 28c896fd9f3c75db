/**
 * The one parser of time flags (`--from`, `--to`, and sync's and watch's `--from`): what a user
 * types for a time on the command line, turned into an exact protobuf Timestamp.
 *
 * Forms, all in UTC:
 * - RFC 3339: `2025-01-17T12:04:55.449860Z`, `2025-01-17T13:04:55+01:00` (0-9 fractional digits);
 * - a date, `2025-01-17`: the start of that day (00:00:00Z); as the END of a window (`--to`) the end
 *   of that day, 23:59:59.999999999Z, so that an inclusive bound takes in the whole day;
 * - `today`, `yesterday`: that UTC day of the run's "now", as a date (start, or end for `--to`);
 * - `now`: the run's "now", to the millisecond.
 *
 * "Now" is the caller's (the run's clock), so a test fixes it. Durations (`--since 24h`) are not
 * times: their flags keep their own parser (packages/cli/src/cli/duration.ts).
 */
import {
  civilFromDays,
  parseTimestamp,
  type Timestamp,
} from "@clarifai-audit/client/internal/domain/time.js";
import { ValidationError } from "@clarifai-audit/client/internal/errors.js";
import { UsageError } from "./exitCodes.js";
import { TIME_FORMS } from "./sharedFlags.js";

/** Which end of a window a time bounds: a day stands for its first instant, or its last. */
export type TimeBound = "start" | "end";

const MS_PER_DAY = 86_400_000;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Parses the text of a time flag at `nowMs` (the run's clock), as the `bound` end of a window.
 * @throws UsageError (exit 2) naming `flag`, the value, what is wrong with it and the forms allowed.
 */
export function parseTimeFlag(text: string, flag: string, bound: TimeBound, nowMs: number): Timestamp {
  const named = text.toLowerCase();
  try {
    if (named === "now") return parseTimestamp(Math.floor(nowMs), flag);
    if (named === "today" || named === "yesterday") {
      const day = Math.floor(nowMs / MS_PER_DAY) - (named === "yesterday" ? 1 : 0);
      return dayBound(isoDate(day), flag, bound);
    }
    if (DATE.test(text)) return dayBound(text, flag, bound);
    return parseTimestamp(text, flag);
  } catch (error) {
    if (error instanceof ValidationError) throw timeRefusal(flag, text, error.problem);
    throw error;
  }
}

/** The first or the last instant (to the nanosecond) of the UTC day `date` (YYYY-MM-DD). */
function dayBound(date: string, flag: string, bound: TimeBound): Timestamp {
  return parseTimestamp(`${date}${bound === "start" ? "T00:00:00Z" : "T23:59:59.999999999Z"}`, flag);
}

function isoDate(days: number): string {
  const [y, m, d] = civilFromDays(days);
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

/**
 * The one line of a refused time: `--from: "2025-13-01" is not a time (month 13 does not exist): use
 * RFC 3339 (…), a date (…), today, yesterday or now, in UTC`. The parser's problem is kept when it says
 * more than "not RFC 3339" (a month, a day, the range).
 */
function timeRefusal(flag: string, text: string, problem: string): UsageError {
  const why = /RFC 3339|not a time|epoch/.test(problem)
    ? ""
    : problem === "timestamp out of range"
      ? " (outside 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999999Z)"
      : ` (${problem})`;
  return new UsageError(`${flag}: ${JSON.stringify(text)} is not a time${why}: use ${TIME_FORMS}`);
}
