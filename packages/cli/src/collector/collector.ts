/**
 * The collector (`clarifai-audit run --config FILE`): every account of the plan walked by an
 * {@link AccountRunner}, fanned out to the destinations that hold it; /metrics, /healthz and /readyz
 * on the plan's `listen`; with `coordination`, only the accounts whose lease this instance holds
 * (packages/cli/src/collector/coordination/leases.ts). A reload replaces the plan; stopping drains:
 * every round in progress commits what it walked, then everything is released.
 */
import { hostname } from "node:os";
import type { AuditLogClientOptions } from "@clarifai-audit/client/internal/client/config.js";
import type { Clock } from "@clarifai-audit/client/internal/domain/clock.js";
import { AccountRunner, type DestinationHealth } from "./accountRunner.js";
import type { LeaseCoordinator } from "./coordination/leases.js";
import type { CollectorLog } from "./ops/logger.js";
import { CollectorMetrics } from "./ops/metrics.js";
import type { Health } from "./ops/server.js";
import type { AccountPlan, CollectorPlan, CoordinationPlan } from "./plan.js";
import { DEFAULT_WALK_SLOTS, WalkSlots } from "./walkSlots.js";

/** What a collector is given besides its plan. */
export interface CollectorDeps {
  env: Readonly<Record<string, string | undefined>>;
  log: CollectorLog;
  clock: Clock;
  /** Aborted to drain and stop (SIGTERM/SIGINT). */
  signal: AbortSignal;
  /** One round per account, then stop (not with coordination). */
  once?: boolean;
  /** The request observer of an account's client (`-v`). */
  onRequest?: (account: string) => AuditLogClientOptions["onRequest"] | undefined;
  /** Called after each page any account's walk reads (the memory tuning's hook, as sync's). */
  onPage?: () => void;
  /** How many accounts walk at once (default {@link DEFAULT_WALK_SLOTS}). */
  walkSlots?: number;
}

/** What a collector did, for the summary and `--json`. */
export interface CollectorFigures {
  accounts: number;
  destinations: number;
  rounds: number;
  /** Entries stored by this process, over every destination. */
  inserted: number;
  requests: number;
}

interface Running {
  runner: AccountRunner;
  done: Promise<void>;
}

/** A running collector (see the module comment). */
export class Collector {
  readonly metrics = new CollectorMetrics();
  /** Shared by every account runner, across reloads. */
  readonly #walks: WalkSlots;
  #plan: CollectorPlan;
  readonly #deps: CollectorDeps;
  readonly #running = new Map<string, Running>();
  #coordinator: LeaseCoordinator | undefined;
  #coordination: CoordinationPlan | undefined;
  #server: { address: string; close(): Promise<void> } | undefined;
  #listen = "";
  #started = false;
  #figures = { rounds: 0, inserted: 0, requests: 0 };
  /** With `once`: what failed in the rounds of runners that have ended (see {@link failures}). */
  readonly #failures: string[] = [];
  /** Resolves when the collector has stopped (drained). */
  readonly #stopped: Promise<void>;
  #stop: () => void = () => {};

  private constructor(plan: CollectorPlan, deps: CollectorDeps) {
    this.#plan = plan;
    this.#deps = deps;
    this.#walks = new WalkSlots(deps.walkSlots ?? DEFAULT_WALK_SLOTS);
    this.#stopped = new Promise((resolve) => {
      this.#stop = resolve;
    });
  }

  /**
   * Starts the plan. Without coordination every destination is opened first (locks, state checks),
   * and a refusal rejects before any request with what was opened released.
   */
  static async start(plan: CollectorPlan, deps: CollectorDeps): Promise<Collector> {
    const collector = new Collector(plan, deps);
    try {
      await collector.#startPlan(plan);
    } catch (error) {
      await collector.#shutdown();
      throw error;
    }
    deps.signal.addEventListener("abort", () => void collector.#drain(), { once: true });
    if (deps.signal.aborted) void collector.#drain();
    return collector;
  }

  /** The address /metrics listens on (`host:port`), if it listens. */
  get address(): string | undefined {
    return this.#server?.address;
  }

  /** Resolves once stopped: after a drain, or (with `once`) when every account's round is done. */
  wait(): Promise<void> {
    return this.#stopped;
  }

  /**
   * Replaces the plan: every account stops at its round's end and starts again under the new plan
   * (its PAT read again). When the new plan cannot start (a destination refuses), the previous one
   * is started again and the error rejects.
   */
  async reload(plan: CollectorPlan): Promise<void> {
    const previous = this.#plan;
    this.#deps.log.info(`reloading ${plan.file}`);
    await this.#stopAccounts();
    try {
      await this.#startPlan(plan);
    } catch (error) {
      await this.#stopAccounts();
      await this.#startPlan(previous);
      throw error;
    }
    this.#forgetRemoved(previous, plan);
  }

  /**
   * Drops the series of what `next` no longer has (an account, or an account's destination): a
   * lag or a failure left behind would grow forever and page somebody.
   */
  #forgetRemoved(previous: CollectorPlan, next: CollectorPlan): void {
    const pairs = (plan: CollectorPlan) =>
      new Set(plan.destinations.flatMap((d) => d.accounts.map((a) => JSON.stringify([a, d.id]))));
    const accounts = new Set(next.accounts.map((a) => a.id));
    const kept = pairs(next);
    for (const account of previous.accounts) if (!accounts.has(account.id)) this.metrics.forget(account.id);
    for (const pair of pairs(previous)) {
      const [account, destination] = JSON.parse(pair) as [string, string];
      if (accounts.has(account) && !kept.has(pair)) this.metrics.forget(account, destination);
    }
  }

  /** /healthz and /readyz. */
  health(): Health {
    const problems: string[] = [];
    const now = this.#deps.clock.now();
    for (const h of this.#healths()) {
      if (h.failingSince === undefined) continue;
      const seconds = Math.round((now - h.failingSince) / 1000);
      if (now - h.failingSince > this.#plan.unhealthyAfterMs)
        problems.push(
          `account ${h.account}, destination ${h.destination}: failing for ${seconds} s: ${h.error ?? "unknown"}`,
        );
    }
    if (!this.#started) problems.push("starting");
    return { live: true, ready: problems.length === 0, problems };
  }

  /** The figures so far. */
  figures(): CollectorFigures {
    let { rounds, inserted, requests } = this.#figures;
    for (const { runner } of this.#running.values()) {
      rounds += runner.rounds;
      requests += runner.requests;
      for (const h of runner.health.values()) inserted += h.inserted;
    }
    return {
      accounts: this.#plan.accounts.length,
      destinations: this.#plan.destinations.length,
      rounds,
      inserted,
      requests,
    };
  }

  /**
   * What was still failing when each account's runner ended: an account that could not start (its
   * PAT source failed), a destination whose last round failed (down, refusing, the walk refused by
   * the API). Kept with `once` only: a non-empty list is that run's failure (a cron job must see it).
   */
  failures(): string[] {
    // Sorted: accounts end in any order, and a line that says the same thing should read the same.
    return [...this.#failures].sort();
  }

  *#healths(): Iterable<DestinationHealth> {
    for (const { runner } of this.#running.values()) yield* runner.health.values();
  }

  async #listenOn(plan: CollectorPlan): Promise<void> {
    const want = plan.listen === undefined ? "" : `${plan.listen.host}:${plan.listen.port}`;
    if (want === this.#listen && (this.#server !== undefined || want === "")) return;
    await this.#server?.close();
    this.#server = undefined;
    this.#listen = want;
    if (plan.listen === undefined) return;
    const { startOpsServer } = await import("./ops/server.js");
    this.#server = await startOpsServer({
      host: plan.listen.host,
      port: plan.listen.port,
      metrics: this.metrics,
      health: () => this.health(),
    });
    this.#deps.log.info(`listening on http://${this.#server.address} (/metrics, /healthz, /readyz)`);
  }

  async #startPlan(plan: CollectorPlan): Promise<void> {
    this.#plan = plan;
    this.#started = false;
    if (plan.coordination !== undefined) {
      await this.#listenOn(plan);
      await this.#coordinate(plan, plan.coordination);
    } else {
      await this.#coordinator?.stop();
      this.#coordinator = undefined;
      this.#coordination = undefined;
      const runners = plan.accounts.map((account) => this.#runner(plan, account));
      try {
        for (const runner of runners) await runner.open(true);
        // Only once every destination is this instance's: a second instance of the same config is
        // refused in one line naming the destination and its lock's holder, not for the port it
        // would share, and says nothing before that line.
        await this.#listenOn(plan);
      } catch (error) {
        for (const runner of runners) await runner.close();
        throw error;
      }
      for (const runner of runners) this.#launch(runner);
    }
    this.#started = true;
  }

  async #coordinate(plan: CollectorPlan, coordination: CoordinationPlan): Promise<void> {
    const accounts = plan.accounts.map((a) => a.id);
    const same =
      this.#coordinator !== undefined && JSON.stringify(this.#coordination) === JSON.stringify(coordination);
    if (same && this.#coordinator !== undefined) {
      const coordinator = this.#coordinator;
      coordinator.setAccounts(accounts);
      // The leases held go on: their accounts start again under the new plan, with the same token.
      for (const [account, token] of coordinator.held()) this.#acquired(account, token);
      return;
    }
    await this.#coordinator?.stop();
    const { LeaseCoordinator } = await import("./coordination/leases.js");
    const coordinator = await LeaseCoordinator.open({
      url: coordination.url,
      group: coordination.group,
      owner: `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`,
      leaseMs: coordination.leaseMs,
      pollMs: coordination.pollMs,
      env: this.#deps.env,
      log: this.#deps.log,
    });
    this.#coordinator = coordinator;
    this.#coordination = coordination;
    coordinator.start(accounts, {
      acquired: (account, token) => this.#acquired(account, token),
      lost: (account, reason) => {
        this.metrics.lease(account, false);
        this.#deps.log.warn(`account ${account}: lease lost (${reason}); its walk stops`, { account });
        this.#running.get(account)?.runner.stop();
      },
    });
  }

  #acquired(account: string, token: number): void {
    const coordinator = this.#coordinator;
    const plan = this.#plan;
    const accountPlan = plan.accounts.find((a) => a.id === account);
    if (coordinator === undefined || accountPlan === undefined) return;
    this.metrics.lease(account, true);
    this.#deps.log.info(`account ${account}: lease acquired (token ${token})`, { account });
    const previous = this.#running.get(account);
    const runner = this.#runner(plan, accountPlan, {
      token,
      isHeld: () => coordinator.isHeld(account, token),
    });
    // The runner of an earlier lease of the account first ends and releases its locks.
    const start = async () => {
      previous?.runner.stop();
      await previous?.done;
      if (runner.stopped || !coordinator.isHeld(account, token)) return;
      try {
        await runner.open(false);
      } catch (error) {
        // A lease kept by an account that cannot start (its pat_command failed, say) would be
        // renewed with nothing walking it: let it go, so another instance (or this one, at a later
        // poll) takes the account and tries again.
        this.metrics.lease(account, false);
        await coordinator.release(account).catch(() => {});
        this.#deps.log.warn(`account ${account}: could not start; its lease is released for another try`, {
          account,
        });
        throw error;
      }
    };
    this.#launch(runner, start());
  }

  #runner(plan: CollectorPlan, account: AccountPlan, fence?: { token: number; isHeld(): boolean }) {
    const onRequest = this.#deps.onRequest?.(account.id);
    return new AccountRunner(
      {
        plan,
        account,
        destinations: plan.destinations.filter((d) => d.accounts.includes(account.id)),
        env: this.#deps.env,
        log: this.#deps.log,
        metrics: this.metrics,
        clock: this.#deps.clock,
        walks: this.#walks,
        ...(fence !== undefined ? { fence } : {}),
        ...(this.#deps.once ? { once: true } : {}),
        ...(onRequest !== undefined ? { onRequest } : {}),
        ...(this.#deps.onPage !== undefined ? { onPage: this.#deps.onPage } : {}),
      },
      this.#deps.signal,
    );
  }

  /** Runs `runner` (after `opened`) until it stops; its figures are kept when it ends. */
  #launch(runner: AccountRunner, opened: Promise<void> = Promise.resolve()): void {
    const { log } = this.#deps;
    const done = (async () => {
      try {
        await opened;
        if (!runner.stopped) await runner.run();
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        log.error(`account ${runner.id}: ${message}`, { account: runner.id });
        if (this.#deps.once) this.#failures.push(`account ${runner.id}: ${message}`);
      } finally {
        await runner.close();
        this.#figures.rounds += runner.rounds;
        this.#figures.requests += runner.requests;
        for (const h of runner.health.values()) {
          this.#figures.inserted += h.inserted;
          if (this.#deps.once && h.failingSince !== undefined)
            this.#failures.push(`account ${h.account}, destination ${h.destination}: ${h.error ?? "failed"}`);
        }
        if (this.#running.get(runner.id)?.runner === runner) this.#running.delete(runner.id);
        if (this.#deps.once && this.#running.size === 0) void this.#drain();
      }
    })();
    this.#running.set(runner.id, { runner, done });
  }

  async #stopAccounts(): Promise<void> {
    const running = [...this.#running.values()];
    for (const { runner } of running) runner.stop();
    await Promise.all(running.map((r) => r.done));
  }

  #draining: Promise<void> | undefined;

  /** Stops every account (each commits what it walked), the coordinator and the listener. */
  #drain(): Promise<void> {
    this.#draining ??= (async () => {
      await this.#stopAccounts();
      await this.#shutdown();
      this.#stop();
    })();
    return this.#draining;
  }

  async #shutdown(): Promise<void> {
    await this.#coordinator?.stop().catch(() => undefined);
    this.#coordinator = undefined;
    await this.#server?.close().catch(() => undefined);
    this.#server = undefined;
  }
}
