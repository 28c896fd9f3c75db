/**
 * The collector's Prometheus metrics (docs/collector.md, "Metrics"), on a registry of its own: the
 * global one of prom-client is shared by whatever else the process loads, and two collectors in
 * one process (tests, an embedding service) would count into each other's series.
 *
 * Values that age (a destination's lag, how long it has been failing) are computed when scraped,
 * from the times recorded here, so a collector that stops committing shows a growing lag rather than
 * the last value it happened to set.
 */
import type { RequestStats } from "@clarifai-audit/client/internal/client/requestStats.js";
import { parseTs } from "@clarifai-audit/client/internal/domain/timestamps.js";
import { Counter, collectDefaultMetrics, Gauge, Registry } from "prom-client";

/** What the collector's ids look like (the config's pattern); anything else is rewritten to fit it. */
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * A label value for `id`. Ids come from the validated config, so this is a second net: a value that
 * is not an id has every other character replaced and is cut to 64 characters, so no text can grow
 * a series name without bound or carry a line break into the exposition (prom-client escapes
 * quotes and backslashes itself).
 */
export function metricLabel(id: string): string {
  if (ID.test(id)) return id;
  const cleaned = id.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 64);
  return cleaned === "" ? "_" : cleaned;
}

type PairLabels = "account" | "destination";

interface PairTimes {
  account: string;
  destination: string;
  /** Seconds since the epoch of the newest entry committed (the destination's position). */
  positionSeconds?: number;
  /** Milliseconds since the epoch when the destination started failing, if it is failing. */
  failingSinceMs?: number;
}

/** The last counters seen of an account's client, to count what came since. */
interface SeenRequests {
  client: object | undefined;
  served: number;
  throttled: number;
}

/** Options of {@link CollectorMetrics}. */
export interface CollectorMetricsOptions {
  /** Milliseconds since the epoch (default `Date.now`): the "now" of lag and failing time. */
  now?: () => number;
  /** Registers prom-client's process metrics (memory, CPU, event loop lag…) too (default true). */
  processMetrics?: boolean;
}

/**
 * Counters and gauges of one collector, labelled by account and destination ids. Every method is
 * cheap and synchronous: the collector calls them from its event handlers.
 */
export class CollectorMetrics {
  /** The registry every metric here is on (never prom-client's global one). */
  readonly registry: Registry;
  /** The Content-Type of {@link text} (Prometheus text format 0.0.4). */
  readonly contentType: string;

  readonly #now: () => number;
  readonly #pairs = new Map<string, PairTimes>();
  readonly #requestsSeen = new Map<string, SeenRequests>();
  readonly #entries: Counter<PairLabels>;
  readonly #lastCommit: Gauge<PairLabels>;
  readonly #up: Gauge<PairLabels>;
  readonly #deliveryFailures: Counter<PairLabels>;
  readonly #alerts: Counter<PairLabels | "outcome">;
  readonly #requests: Counter<"account" | "outcome">;
  readonly #lease: Gauge<"account">;

  constructor(options: CollectorMetricsOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.registry = new Registry();
    this.contentType = this.registry.contentType;
    const registers = [this.registry];
    const pairLabels: PairLabels[] = ["account", "destination"];
    this.#entries = new Counter({
      name: "clarifai_audit_entries_total",
      help: "Audit log entries stored by a destination (committed).",
      labelNames: pairLabels,
      registers,
    });
    const pairs = this.#pairs;
    const now = this.#now;
    new Gauge({
      name: "clarifai_audit_destination_lag_seconds",
      help: "Seconds from the newest entry a destination has committed to now (absent before its first commit).",
      labelNames: pairLabels,
      registers,
      collect() {
        this.reset();
        const nowSeconds = now() / 1000;
        for (const p of pairs.values()) {
          if (p.positionSeconds !== undefined)
            this.set({ account: p.account, destination: p.destination }, nowSeconds - p.positionSeconds);
        }
      },
    });
    this.#lastCommit = new Gauge({
      name: "clarifai_audit_last_commit_timestamp_seconds",
      help: "When a destination last committed (seconds since the epoch).",
      labelNames: pairLabels,
      registers,
    });
    this.#up = new Gauge({
      name: "clarifai_audit_destination_up",
      help: "1 while a destination stores what it is given, 0 while it is failing.",
      labelNames: pairLabels,
      registers,
    });
    new Gauge({
      name: "clarifai_audit_destination_failing_seconds",
      help: "Seconds a destination has been failing (0 while it is up).",
      labelNames: pairLabels,
      registers,
      collect() {
        this.reset();
        const nowMs = now();
        for (const p of pairs.values()) {
          const labels = { account: p.account, destination: p.destination };
          this.set(
            labels,
            p.failingSinceMs === undefined ? 0 : Math.max(0, (nowMs - p.failingSinceMs) / 1000),
          );
        }
      },
    });
    this.#deliveryFailures = new Counter({
      name: "clarifai_audit_delivery_failures_total",
      help: "Failed attempts of a destination to store or deliver (each retry counts).",
      labelNames: pairLabels,
      registers,
    });
    this.#alerts = new Counter({
      name: "clarifai_audit_alerts_total",
      help: "Alerts of an alerts destination, by outcome (delivered, dead_lettered).",
      labelNames: ["account", "destination", "outcome"],
      registers,
    });
    this.#requests = new Counter({
      name: "clarifai_audit_requests_total",
      help: "Requests to the Audit Log API per account, by outcome (served, throttled).",
      labelNames: ["account", "outcome"],
      registers,
    });
    this.#lease = new Gauge({
      name: "clarifai_audit_account_lease",
      help: "1 while this instance holds the account's lease (walks it), 0 otherwise.",
      labelNames: ["account"],
      registers,
    });
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  #pair(account: string, destination: string): PairTimes {
    const a = metricLabel(account);
    const d = metricLabel(destination);
    const key = `${a}\n${d}`;
    let p = this.#pairs.get(key);
    if (p === undefined) {
      p = { account: a, destination: d };
      this.#pairs.set(key, p);
      // Up until said otherwise: a destination's first news is a commit or a failure, and a
      // failure sets 0 right after this.
      this.#up.set({ account: a, destination: d }, 1);
    }
    return p;
  }

  /** `n` entries were stored by `destination` for `account`. */
  entries(account: string, destination: string, n: number): void {
    const p = this.#pair(account, destination);
    // Counted even when 0, so a destination that stores nothing yet has its series (rate() sees 0).
    this.#entries.inc(
      { account: p.account, destination: p.destination },
      Number.isFinite(n) && n > 0 ? n : 0,
    );
  }

  /**
   * `destination` committed at `at`; `position` (RFC 3339) is the newest entry time it now holds,
   * from which the lag is computed at each scrape. A commit without a position keeps the last one.
   */
  committed(account: string, destination: string, at: Date, position?: string): void {
    const p = this.#pair(account, destination);
    this.#lastCommit.set({ account: p.account, destination: p.destination }, at.getTime() / 1000);
    if (position !== undefined) {
      const ts = parseTs(position);
      if (ts !== undefined) p.positionSeconds = ts.seconds + ts.nanos / 1e9;
    }
  }

  /** `destination` has been failing since `since`, or is up again (`undefined`). */
  failing(account: string, destination: string, since: Date | undefined): void {
    const p = this.#pair(account, destination);
    p.failingSinceMs = since?.getTime();
    this.#up.set({ account: p.account, destination: p.destination }, since === undefined ? 1 : 0);
  }

  /** One failed attempt of `destination` to store or deliver. */
  deliveryFailure(account: string, destination: string): void {
    const p = this.#pair(account, destination);
    this.#deliveryFailures.inc({ account: p.account, destination: p.destination });
  }

  /** An alert of `destination` was delivered, or given up on (dead-lettered). */
  alerts(account: string, destination: string, delivered: boolean): void {
    const p = this.#pair(account, destination);
    this.#alerts.inc({
      account: p.account,
      destination: p.destination,
      outcome: delivered ? "delivered" : "dead_lettered",
    });
  }

  /**
   * The account's client's counters, cumulative as `client.stats()` gives them: what was served and
   * throttled since the last call is added. The collector replaces a client on reload and the new
   * one counts from zero: pass the client as `client` and a new one counts from zero here too
   * (without it, counters that went down are taken as a new client's).
   */
  requests(account: string, stats: RequestStats, client?: object): void {
    const a = metricLabel(account);
    const seen = this.#requestsSeen.get(a);
    const sameClient =
      seen !== undefined &&
      (client === undefined || seen.client === undefined || seen.client === client) &&
      stats.served >= seen.served &&
      stats.throttled >= seen.throttled;
    const served = sameClient ? stats.served - seen.served : stats.served;
    const throttled = sameClient ? stats.throttled - seen.throttled : stats.throttled;
    this.#requests.inc({ account: a, outcome: "served" }, served);
    this.#requests.inc({ account: a, outcome: "throttled" }, throttled);
    this.#requestsSeen.set(a, { client, served: stats.served, throttled: stats.throttled });
  }

  /** Whether this instance holds `account`'s lease. */
  lease(account: string, held: boolean): void {
    this.#lease.set({ account: metricLabel(account) }, held ? 1 : 0);
  }

  /**
   * Drops every series of `account` (with `destination`: of that pair only), e.g. after a reload
   * removed it: a lag left behind would grow forever and page somebody.
   */
  forget(account: string, destination?: string): void {
    const a = metricLabel(account);
    const d = destination === undefined ? undefined : metricLabel(destination);
    for (const [key, p] of this.#pairs) {
      if (p.account !== a || (d !== undefined && p.destination !== d)) continue;
      this.#pairs.delete(key);
      const labels = { account: p.account, destination: p.destination };
      for (const m of [this.#entries, this.#lastCommit, this.#up, this.#deliveryFailures]) m.remove(labels);
      for (const outcome of ["delivered", "dead_lettered"]) this.#alerts.remove({ ...labels, outcome });
    }
    if (d !== undefined) return;
    this.#requestsSeen.delete(a);
    for (const outcome of ["served", "throttled"]) this.#requests.remove({ account: a, outcome });
    this.#lease.remove({ account: a });
  }

  /** The exposition (Prometheus text format 0.0.4) of every metric, as of now. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
