/** How long a clean stop may take after SIGINT/SIGTERM before the command ends regardless. */
export const STOP_GRACE_MS = 10_000;

/**
 * SIGINT/SIGTERM abort `controller`, so a long command (export, sync, report, tail, watch) commits
 * what it has and exits cleanly; a second signal ends it with 130 at once (`exit(130)`: the runner
 * returns 130 and the bin exits), and so does a stop still unfinished after STOP_GRACE_MS. Returns
 * the function that removes the handlers (and the grace timer). A command with no clean stop to make
 * (`graceful` false: query, rules) ends with 130 at the first signal, as the signal's default would.
 */
export function abortOnSignals(
  controller: AbortController,
  exit: (code: number) => void,
  say: (line: string) => void,
  graceful = true,
): () => void {
  let interrupts = 0;
  let grace: NodeJS.Timeout | undefined;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1 || !graceful) return exit(130);
    controller.abort();
    // A file-system call that never returns (a hung mount, a kernel file that makes a call spin)
    // would keep the clean stop waiting forever: past the grace, exit as a second signal would.
    grace = setTimeout(() => {
      say(
        `clarifai-audit: still stopping ${STOP_GRACE_MS / 1000} s after the signal (a stuck file system call?); exiting now\n`,
      );
      exit(130);
    }, STOP_GRACE_MS).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return () => {
    clearTimeout(grace);
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}
