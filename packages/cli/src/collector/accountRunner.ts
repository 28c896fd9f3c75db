/**
 * One account of the collector: its client, a store per destination that holds it, and rounds (one
 * every `interval`) in which one walk of the account's log feeds every destination
 * (packages/cli/src/sync/fanout.ts: a destination that fails or lags is left behind and catches up
 * from its own cursor). What happens is told to the log and the metrics; each destination's health
 * is kept for /readyz.
 */
import type { AuditLogClient } from "@clarifai-audit/client/internal/client/client.js";
import type { AuditLogClientOptions } from "@clarifai-audit/client/internal/client/config.js";
import type { Clock } from "@clarifai-audit/client/internal/domain/clock.js";
import { ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import { ExportInterruptedError } from "@clarifai-audit/client/internal/export/errors.js";
import { followRounds } from "@clarifai-audit/client/internal/export/followPoll.js";
import { type FanoutEvent, type FanoutMember, runFanout } from "../sync/fanout.js";
import { DestinationFencedError, SyncUsageError } from "../sync/store.js";
import { syncIdentity } from "../sync/sync.js";
import { type AccountFence, createDestinationStore, LeaseLostError } from "./destinationStores.js";
import type { CollectorLog } from "./ops/logger.js";
import type { CollectorMetrics } from "./ops/metrics.js";
import type { AccountPlan, CollectorPlan, DestinationPlan } from "./plan.js";
import type { WalkSlots } from "./walkSlots.js";

/** What an account runner is given. */
export interface AccountRunnerOptions {
  plan: CollectorPlan;
  account: AccountPlan;
  /** The destinations that hold this account. */
  destinations: readonly DestinationPlan[];
  env: Readonly<Record<string, string | undefined>>;
  log: CollectorLog;
  metrics: CollectorMetrics;
  clock: Clock;
  /** The account's lease, when instances share the accounts. */
  fence?: AccountFence;
  /** One round, then stop (`run --once`). */
  once?: boolean;
  /** Taken for each round's walk: how many accounts walk at once (packages/cli/src/collector/walkSlots.ts). */
  walks?: WalkSlots;
  onRequest?: AuditLogClientOptions["onRequest"];
  /** After each page the walk reads. */
  onPage?: () => void;
}

/** A destination of one account, as /readyz and the summary see it. */
export interface DestinationHealth {
  account: string;
  destination: string;
  /** Epoch ms of the first failure of the current streak; absent while it works. */
  failingSince?: number;
  error?: string;
  /** Entries stored by this process. */
  inserted: number;
}

/** A destination the account's stores refuse at open (a lock held, another identity's state). */
export class DestinationOpenError extends ClarifaiAuditError {
  override name = "DestinationOpenError";
  constructor(
    readonly destination: DestinationPlan,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/** Whether `error` says the account's lease has moved on (checked here, or fenced by the destination). */
function leaseGone(error: unknown): boolean {
  return error instanceof LeaseLostError || error instanceof DestinationFencedError;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One account's rounds (see the module comment). */
export class AccountRunner {
  readonly #controller = new AbortController();
  readonly #o: AccountRunnerOptions;
  #client: AuditLogClient | undefined;
  #members: FanoutMember[] = [];
  /** What each destination stored in the round in progress. */
  readonly #round = new Map<string, { inserted: number; late: number }>();
  /** Per destination id. */
  readonly health = new Map<string, DestinationHealth>();
  rounds = 0;
  requests = 0;

  /** The collector's drain (SIGTERM/SIGINT), not this runner's own stop (a reload, a lost lease). */
  readonly #drain: AbortSignal;

  constructor(options: AccountRunnerOptions, parent: AbortSignal) {
    this.#o = options;
    this.#drain = parent;
    for (const d of options.destinations)
      this.health.set(d.id, { account: options.account.id, destination: d.id, inserted: 0 });
    if (parent.aborted) this.#controller.abort();
    else parent.addEventListener("abort", () => this.#controller.abort(), { once: true });
  }

  get id(): string {
    return this.#o.account.id;
  }

  /** Whether {@link stop} (or the parent's signal) ended it. */
  get stopped(): boolean {
    return this.#controller.signal.aborted;
  }

  /**
   * Reads the PAT, makes the client and a store per destination. With `strict` (no coordination:
   * this process alone owns every destination) each store is opened once here — its lock taken, its
   * state checked — and a refusal rejects with {@link DestinationOpenError} before any request (one
   * that is down is only marked failing);
   * otherwise a refusing destination is left to each round (it fails there and is retried).
   */
  async open(strict: boolean): Promise<void> {
    const { account, log, metrics, fence } = this.#o;
    const signal = this.#controller.signal;
    this.#client = await account.connect({
      signal,
      ...(this.#o.onRequest !== undefined ? { onRequest: this.#o.onRequest } : {}),
    });
    for (const destination of this.#o.destinations) {
      const store = await createDestinationStore(destination, account, {
        env: this.#o.env,
        // An alert in flight is cut (and dead-lettered, as watch does) by SIGTERM only: a reload or a
        // lost lease stops the account at its round's end, and that round's alerts are delivered.
        signal: this.#drain,
        warn: (line) => log.warn(line, { account: account.id, destination: destination.id }),
        onAlert: (delivered) => metrics.alerts(account.id, destination.id, delivered),
        // A webhook's failed attempt is a delivery failure as a failed commit is (the metric's
        // documented meaning), though the commit itself succeeds once the alert is dead-lettered.
        onDeliveryFailure: () => metrics.deliveryFailure(account.id, destination.id),
        ...(fence !== undefined ? { fence } : {}),
      });
      // Held from here to close: a second collector (or sync) of the destination is refused while
      // this one waits between rounds, not only during one.
      store.hold?.();
      this.#members.push({ id: destination.id, store });
      if (!strict) continue;
      try {
        await store.open(syncIdentity(this.#client, account.query));
        await store.close();
      } catch (error) {
        // A refusal (its lock held by another process, its state another log's) stops the start; a
        // destination that is down (PostgreSQL unreachable) is only failing: the rounds retry it.
        if (error instanceof SyncUsageError) throw new DestinationOpenError(destination, error);
        this.#failing(destination.id, error);
      }
    }
  }

  /** Rounds until {@link stop}, the parent's signal, or (with `once`) the first round's end. */
  async run(): Promise<void> {
    const { plan, account, clock, log, metrics } = this.#o;
    const client = this.#client;
    if (client === undefined) throw new Error("AccountRunner.run before open");
    const signal = this.#controller.signal;
    for await (const round of followRounds({
      follow: this.#o.once !== true,
      intervalMs: plan.intervalMs,
      clock,
      signal,
    })) {
      let resumed = false;
      const release = (await this.#o.walks?.take(signal)) ?? (() => {});
      if (signal.aborted) {
        release();
        break;
      }
      try {
        const result = await runFanout({
          client,
          members: this.#members,
          query: account.query,
          ...(account.origin !== undefined ? { origin: account.origin } : {}),
          settleMs: plan.settleMs,
          reconcileMs: plan.reconcileMs,
          concurrency: plan.concurrency,
          perPage: plan.perPage,
          commitIntervalMs: plan.commitIntervalMs,
          signal,
          now: () => clock.now(),
          onEvent: (event) => this.#onEvent(event),
          ...(this.#o.onPage !== undefined ? { onProgress: this.#o.onPage } : {}),
        });
        for (const [id, outcome] of result.members) {
          if (outcome.error !== undefined) this.#failing(id, outcome.error);
          else if (outcome.summary !== undefined) {
            this.#recovered(id);
            if (outcome.summary.resumed) resumed = true;
          }
        }
        // Another instance owns the account now: this one stops walking it (the coordinator says so too).
        if ([...result.members.values()].some((o) => leaseGone(o.error))) this.stop();
      } catch (error) {
        if (error instanceof ExportInterruptedError) break;
        // The walk itself failed (the API refused the PAT, the network is down): every destination
        // waits for the next round, and says why.
        log.warn(`account ${account.id}: round failed: ${messageOf(error)}`, { account: account.id });
        for (const id of this.health.keys()) this.#failing(id, error, false);
      } finally {
        release();
        this.#sayRound();
        this.rounds++;
        const stats = client.stats();
        this.requests = stats.requests;
        metrics.requests(account.id, stats, client);
      }
      if (signal.aborted) break;
      // A resumed destination ended at the window a crash pinned: the next round, at once, brings it
      // (and what landed behind its cursor meanwhile) up to now − settle.
      if (resumed) round.again();
    }
  }

  #onEvent(event: FanoutEvent): void {
    const { account, log, metrics, clock } = this.#o;
    const fields = { account: account.id };
    switch (event.kind) {
      case "window":
        // The shared walk of every round is the normal case, said by the round's line when it stored
        // something; a resumed or catching-up walk is worth a line of its own.
        if (event.resumed || !event.shared)
          log.info(
            `account ${account.id}: ${event.resumed ? "resuming" : "catching up"} ${event.members.join(", ")} over ${event.from} to ${event.to}`,
            { ...fields, from: event.from, to: event.to },
          );
        return;
      case "committed": {
        metrics.entries(account.id, event.member, event.inserted);
        const stored = this.#round.get(event.member) ?? { inserted: 0, late: 0 };
        stored.inserted += event.inserted;
        stored.late += event.late;
        this.#round.set(event.member, stored);
        metrics.committed(account.id, event.member, new Date(clock.now()), event.position);
        const h = this.health.get(event.member);
        if (h !== undefined) h.inserted += event.inserted;
        this.#recovered(event.member);
        return;
      }
      case "failed":
        this.#failing(event.member, event.error);
        return;
      case "detached":
        if (event.reason === "lagging")
          log.warn(
            `account ${account.id}: destination ${event.member} lags behind the walk; it continues from its own cursor next round`,
            { ...fields, destination: event.member },
          );
        return;
    }
  }

  /** One line per round that stored something: what each destination took. */
  #sayRound(): void {
    const parts = [...this.#round]
      .filter(([, r]) => r.inserted > 0)
      .map(([id, r]) => `${id} +${r.inserted}${r.late > 0 ? ` (${r.late} late)` : ""}`);
    this.#round.clear();
    const id = this.#o.account.id;
    if (parts.length > 0) this.#o.log.info(`account ${id}: stored ${parts.join(", ")}`, { account: id });
  }

  #failing(id: string, error: unknown, count = true): void {
    const { account, log, metrics, clock } = this.#o;
    const h = this.health.get(id);
    if (h === undefined) return;
    const first = h.failingSince === undefined;
    h.failingSince ??= clock.now();
    h.error = messageOf(error);
    if (count) metrics.deliveryFailure(account.id, id);
    metrics.failing(account.id, id, new Date(h.failingSince));
    if (first && !leaseGone(error))
      log.warn(`account ${account.id}: destination ${id} failed: ${h.error}`, {
        account: account.id,
        destination: id,
      });
  }

  #recovered(id: string): void {
    const { account, log, metrics } = this.#o;
    const h = this.health.get(id);
    if (h === undefined || h.failingSince === undefined) return;
    delete h.failingSince;
    delete h.error;
    metrics.failing(account.id, id, undefined);
    log.info(`account ${account.id}: destination ${id} works again`, {
      account: account.id,
      destination: id,
    });
  }

  /** Ends the rounds: the round in progress commits what it walked and stops. */
  stop(): void {
    this.#controller.abort();
  }

  /** Releases every store's lock and connections, and the client. */
  async close(): Promise<void> {
    for (const { store } of this.#members.splice(0)) {
      await (store.release?.() ?? store.close()).catch((error: unknown) =>
        this.#o.log.warn(`account ${this.id}: closing ${store.description}: ${messageOf(error)}`),
      );
    }
    this.#client?.close();
    this.#client = undefined;
  }
}
