/**
 * SIGINT/SIGTERM abort `controller`, so a long command (export, sync, report) commits what it has and
 * exits cleanly; a second signal exits 130 at once. Returns the function that removes the handlers.
 */
export function abortOnSignals(controller: AbortController): () => void {
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) process.exit(130);
    controller.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
}
