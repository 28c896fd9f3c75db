/**
 * `-v/--verbose`'s request lines: one line on stderr per attempt the client sends, from its
 * `onRequest` events (packages/client/src/client/requestEvent.ts), e.g.
 *
 *     clarifai-audit: request #12 page=5 offset=4000 per_page=1000 → 1000 entries in 182 ms
 *     clarifai-audit: request #13 page=6 offset=5000 per_page=1000 → throttled (CONN_THROTTLED) in 3 ms, retry 2 in 400 ms
 *     clarifai-audit: request #14 page=6 offset=5000 per_page=1000 (attempt 2) → UNAVAILABLE in 5 ms, no retry
 *
 * An event holds no credentials and the line shows nothing but its numbers and a status name, so
 * neither the PAT nor an endpoint's user info can reach it.
 */
import type { RequestEvent } from "@clarifai-audit/client/internal/client/requestEvent.js";

/** The one line of a request (without the newline). */
export function requestLine(e: RequestEvent): string {
  const offset = (e.page - 1) * e.perPage;
  const attempt = e.attempt > 1 ? ` (attempt ${e.attempt})` : "";
  const ms = `${Math.round(e.durationMs)} ms`;
  const head = `clarifai-audit: request #${e.request} page=${e.page} offset=${offset} per_page=${e.perPage}${attempt} →`;
  if (e.outcome === "served") return `${head} ${e.entries} ${e.entries === 1 ? "entry" : "entries"} in ${ms}`;
  const what = e.outcome === "throttled" ? `throttled (${e.code})` : e.code;
  const next =
    e.retry === undefined
      ? "no retry"
      : e.retry.paced
        ? `retry ${e.retry.attempt} when the rate budget gives it a turn`
        : `retry ${e.retry.attempt} in ${Math.round(e.retry.delayMs)} ms`;
  return `${head} ${what} in ${ms}, ${next}`;
}

/** An `onRequest` observer writing each request's line with `say`. */
export function requestLogger(say: (line: string) => void): (event: RequestEvent) => void {
  return (event) => say(requestLine(event));
}
