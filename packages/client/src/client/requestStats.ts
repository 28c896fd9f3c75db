/** The counters a client's request budget keeps (packages/client/src/client/rateBudget.ts). */

/** Counters of one client's requests (see `RateBudget.stats`). */
export interface RequestStats {
  /** Attempts sent (retries included). */
  requests: number;
  /** Attempts the server answered with anything but throttling (errors included). */
  served: number;
  /** Attempts answered CONN_THROTTLED (or gRPC RESOURCE_EXHAUSTED). */
  throttled: number;
  /** Attempts still waiting for their reply. */
  inFlight: number;
  /** Calls waiting for their turn now (not yet sent). */
  waiting: number;
  /** Seconds from the first attempt sent to the last reply (0 before any reply). */
  seconds: number;
  /** requests / seconds (0 when no time has passed). */
  averageRate: number;
  /** Summed time calls waited for their turn, in ms. */
  waitedMs: number;
  /**
   * Time, in ms, when no call was waiting although one could have gone: the budget left unused by
   * the caller (nothing to fetch, or busy elsewhere), not by the pacing.
   */
  idleMs: number;
  /** The limit the budget keeps under (given, or learned), or undefined when unknown (unpaced). */
  limit: number | undefined;
  /** The limit a throttled reply named last, if any did. */
  learnedLimit: number | undefined;
  /** The rate the budget paces at now, requests/s (Infinity when unpaced). */
  rate: number;
  /** Times the rate was cut because the server throttled while the budget paced under the limit. */
  decreases: number;
  /** Times the window guard's margin widened (throttles this client's own calls explained). */
  widenings: number;
}
