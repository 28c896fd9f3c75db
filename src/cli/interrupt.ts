/** How long a clean stop may take after SIGINT/SIGTERM before the process exits regardless. */
export const STOP_GRACE_MS = 10_000;

/**
 * SIGINT/SIGTERM abort `controller`, so a long command (export, sync, report) commits what it has and
 * exits cleanly; a second signal exits 130 at once, and so does a stop still unfinished after
 * STOP_GRACE_MS. Returns the function that removes the handlers.
 */
export function abortOnSignals(controller: AbortController): () => void {
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    controller.abort();
    // A file-system call that never returns (a hung mount, a kernel file that makes a call spin)
    // would keep the clean stop waiting forever: past the grace, exit as a second signal would.
    setTimeout(() => {
      process.stderr.write(
        `clarifai-audit: still stopping ${STOP_GRACE_MS / 1000} s after the signal (a stuck file system call?); exiting now\n`,
      );
      process.exit(130);
    }, STOP_GRACE_MS).unref();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}
