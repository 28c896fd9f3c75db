import { type Clock, systemClock } from "../domain/clock.js";

/**
 * The wait between polls of `tail --follow`, `watch` and `sync --follow`: it ends early, without an
 * error, when the command is interrupted (SIGINT/SIGTERM abort the signal), so the loop can finish
 * its last commit and exit cleanly. (The client's retry backoff rejects on abort instead.)
 */
export function pause(ms: number, signal: AbortSignal, clock: Clock = systemClock): Promise<void> {
  return clock.sleep(ms, signal);
}
