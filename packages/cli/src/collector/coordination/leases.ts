/**
 * Failover across machines (issue 23; the model is in docs/design/coordination.md): instances of one
 * group split the accounts through leases in PostgreSQL. Each poll heartbeats the instance, renews
 * every lease held, gives up the leases above this instance's fair share and takes free or expired
 * ones up to it. Every lease carries a fencing token that goes up whenever the lease is taken, so a
 * destination can refuse the commits of a former holder; `isHeld` answers locally, by the monotonic
 * clock, whether a lease may still be used, so an instance that was paused past its lease knows it
 * without asking the database.
 */
import { performance } from "node:perf_hooks";
import { LeaseSession } from "./leaseTables.js";
import { byPreference, fairShare } from "./share.js";

/**
 * Where the coordinator writes (structurally the collector's `CollectorLog` of ops/logger.ts, kept
 * local so that this module does not depend on the ops slice).
 */
export interface CoordinatorLog {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * What the coordinator tells the collector. Called from the poll, and synchronously from
 * `setAccounts` and `stop` (lost); a handler that throws is logged and does not stop the polls.
 */
export interface LeaseEvents {
  /** This instance now holds `account`; `token` fences its commits (greater than every former holder's). */
  acquired(account: string, token: number): void;
  /**
   * This instance no longer holds `account` (already out of `held()`, `isHeld` false): stop walking
   * it now. Reasons: the renewal was refused, no renewal was confirmed before the local deadline,
   * rebalancing (the lease is released right after this call), the account left the list, stop().
   */
  lost(account: string, reason: string): void;
}

/** Options of {@link LeaseCoordinator.open}. */
export interface LeaseCoordinatorOptions {
  /** `postgres://…` (password from the URL or PGPASSWORD, as the PostgreSQL destination takes it). */
  url: string;
  /** Instances of one group share the accounts. */
  group: string;
  /** This instance: unique among the live instances of the group (e.g. host, pid and a random part). */
  owner: string;
  /** A lease not renewed for this long (by the database's clock) may be taken by another instance. */
  leaseMs: number;
  /** Between two polls; at most half of `leaseMs`. */
  pollMs: number;
  /** PG* variables (PGPASSWORD, PGUSER, PGHOST…). */
  env: Record<string, string | undefined>;
  log?: CoordinatorLog;
  /** Subtracted from the local deadline for clock-rate drift and late timers (default leaseMs / 10). */
  marginMs?: number;
  /** Bound of every statement and connect (default min(leaseMs / 2, 10 s), at least 200 ms). */
  statementTimeoutMs?: number;
}

interface HeldLease {
  token: number;
  /** performance.now() past which the lease is not used any more. */
  deadline: number;
}

const NO_EVENTS: LeaseEvents = { acquired() {}, lost() {} };

/** Leases of accounts in PostgreSQL, shared by the instances of one group. */
export class LeaseCoordinator {
  readonly #o: LeaseCoordinatorOptions;
  readonly #session: LeaseSession;
  readonly #marginMs: number;
  #events: LeaseEvents = NO_EVENTS;
  #accounts: string[] = [];
  readonly #held = new Map<string, HeldLease>();
  /** Accounts released by request: not taken back before the time here (another instance may want them). */
  readonly #cooldown = new Map<string, number>();
  #started = false;
  #stopped = false;
  #paused = false;
  #pollTimer: NodeJS.Timeout | undefined;
  #deadlineTimer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;
  #again = false;
  /** The error of the last failed poll (undefined: the last poll succeeded). */
  #failing: string | undefined;

  private constructor(o: LeaseCoordinatorOptions, session: LeaseSession) {
    this.#o = o;
    this.#session = session;
    this.#marginMs = o.marginMs ?? Math.ceil(o.leaseMs / 10);
  }

  /**
   * Checks the settings and the URL (one-line errors, never the password), connects and creates the
   * tables when missing. Rejects when the database cannot be reached: an instance that cannot
   * coordinate walks nothing.
   */
  static async open(o: LeaseCoordinatorOptions): Promise<LeaseCoordinator> {
    if (!(o.pollMs >= 10 && o.leaseMs >= 2 * o.pollMs)) {
      throw new RangeError(
        `coordination: lease (${o.leaseMs} ms) must be at least twice poll (${o.pollMs} ms), poll at least 10 ms`,
      );
    }
    const margin = o.marginMs ?? Math.ceil(o.leaseMs / 10);
    if (!(margin >= 0 && margin < o.leaseMs - o.pollMs)) {
      throw new RangeError(`coordination: margin ${margin} ms must be under lease − poll`);
    }
    if (!o.owner || !o.group) throw new RangeError("coordination: group and owner must not be empty");
    const timeout = o.statementTimeoutMs ?? Math.max(200, Math.min(o.leaseMs / 2, 10_000));
    const session = new LeaseSession(o.url, o.env, Math.round(timeout));
    try {
      await session.ready();
    } catch (err) {
      session.close();
      throw err;
    }
    return new LeaseCoordinator(o, session);
  }

  /** Where the leases are (the URL without its password). */
  get description(): string {
    return this.#session.description;
  }

  /** Begins polling at once: `events` are called as leases are taken and lost. Once only. */
  start(accounts: string[], events: LeaseEvents): void {
    if (this.#started) throw new Error("LeaseCoordinator.start called twice");
    this.#started = true;
    this.#events = events;
    this.#accounts = [...new Set(accounts)];
    if (!this.#stopped) void this.#tick();
  }

  /**
   * Replaces the accounts (a reload): held leases of accounts no longer listed are lost ("removed")
   * and released; new accounts are looked for at once.
   */
  setAccounts(accounts: string[]): void {
    this.#accounts = [...new Set(accounts)];
    const keep = new Set(this.#accounts);
    for (const [account, lease] of [...this.#held]) {
      if (keep.has(account)) continue;
      this.#lose(account, "the account was removed from the configuration");
      void this.#releaseRow(account, lease.token);
    }
    this.#kick();
  }

  /**
   * True while `account` is held with `token` and its local deadline has not passed: the deadline is
   * when the last confirmed renewal was SENT, plus the lease, minus the margin, by the monotonic
   * clock, so it falls before the database's expiry whatever the wall clocks say. Synchronous: the
   * collector asks before every commit.
   */
  isHeld(account: string, token: number): boolean {
    const lease = this.#held.get(account);
    return lease !== undefined && lease.token === token && performance.now() < lease.deadline;
  }

  /** The leases held now (account → token), those past their local deadline left out. */
  held(): Map<string, number> {
    const now = performance.now();
    const out = new Map<string, number>();
    for (const [account, lease] of this.#held) if (now < lease.deadline) out.set(account, lease.token);
    return out;
  }

  /**
   * Gives up `account` now (no `lost` event: the caller asked) so another instance may take it at
   * its next poll; this one does not take it back for one lease time. Nothing if not held.
   */
  async release(account: string): Promise<void> {
    const lease = this.#held.get(account);
    if (!lease) return;
    this.#held.delete(account);
    this.#cooldown.set(account, performance.now() + this.#o.leaseMs);
    this.#armDeadline();
    await this.#releaseRow(account, lease.token);
  }

  /**
   * Stops polling, emits `lost(account, "coordinator stopped")` for every lease held and releases
   * them (a graceful restart hands the accounts over at once), deletes the instance's row and
   * closes the connection. Bounded: a database that does not answer leaves the leases to expire.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    clearTimeout(this.#pollTimer);
    clearTimeout(this.#deadlineTimer);
    const work = (async () => {
      await this.#polling;
      const held = [...this.#held];
      for (const [account] of held) this.#lose(account, "coordinator stopped");
      await Promise.all(held.map(([account, lease]) => this.#releaseRow(account, lease.token)));
      await this.#session.leave(this.#o.group, this.#o.owner).catch(() => {});
    })();
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 3 * this.#session.timeoutMs + 500);
    });
    await Promise.race([work, bound]);
    clearTimeout(timer);
    this.#session.close();
  }

  /** @internal Tests: freezes the coordinator as a SIGSTOP would (no poll, no timer), leases kept. */
  pause(): void {
    this.#paused = true;
    clearTimeout(this.#pollTimer);
    clearTimeout(this.#deadlineTimer);
  }

  /** @internal Tests: wakes a paused coordinator, which polls at once. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#kick();
  }

  /** A poll now (or right after the one running). */
  #kick(): void {
    if (!this.#started || this.#stopped || this.#paused) return;
    if (this.#polling) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#pollTimer);
    void this.#tick();
  }

  async #tick(): Promise<void> {
    if (this.#stopped || this.#paused) return;
    const run = this.#poll().catch((err) => this.#pollFailed(err));
    this.#polling = run;
    await run;
    this.#polling = undefined;
    if (this.#stopped || this.#paused) return;
    this.#armDeadline();
    const delay = this.#again ? 0 : this.#o.pollMs;
    this.#again = false;
    this.#pollTimer = setTimeout(() => void this.#tick(), delay);
    this.#pollTimer.unref();
  }

  async #poll(): Promise<void> {
    const { group, owner, leaseMs } = this.#o;
    const s = this.#session;
    await s.heartbeat(group, owner, leaseMs);
    await this.#renew();
    if (this.#stopped || this.#paused) return;
    const live = await s.liveInstances(group);
    const share = fairShare(this.#accounts.length, live, owner);
    if (this.#held.size > share) {
      // The least wanted go: the others, whose hash prefers them, are likelier to want them.
      const extra = byPreference(owner, this.#held.keys()).slice(share);
      for (const account of extra) {
        const token = this.#held.get(account)?.token as number;
        this.#lose(account, `rebalancing: ${live.length} live instances, this one's share is ${share}`);
        await this.#releaseRow(account, token);
      }
    } else if (this.#held.size < share) {
      await this.#take(share, live.length);
    }
    if (this.#failing !== undefined) {
      this.#o.log?.info("coordination: the lease database answers again", { database: s.description });
      this.#failing = undefined;
    }
  }

  /** Renews every held lease in one statement; a lease not renewed is lost at once. */
  async #renew(): Promise<void> {
    const { group, owner, leaseMs } = this.#o;
    const asked = new Map([...this.#held].map(([account, lease]) => [account, lease.token]));
    if (asked.size === 0) return;
    const sentAt = performance.now();
    const renewed = await this.#session.renew(group, owner, asked, leaseMs);
    const ok = new Set(renewed.map((g) => `${g.account}\0${g.token}`));
    for (const [account, token] of asked) {
      const lease = this.#held.get(account);
      // Released, lost or retaken meanwhile: not this renewal's business.
      if (!lease || lease.token !== token) continue;
      if (ok.has(`${account}\0${token}`)) lease.deadline = sentAt + leaseMs - this.#marginMs;
      else
        this.#lose(account, "renewal refused: the lease expired in the database or another instance took it");
    }
  }

  /** Takes free or expired leases, most wanted first, until `share` are held. */
  async #take(share: number, liveCount: number): Promise<void> {
    const { group, owner, leaseMs } = this.#o;
    const now = performance.now();
    for (const [account, until] of this.#cooldown) if (until <= now) this.#cooldown.delete(account);
    const rows = new Map((await this.#session.leases(group)).map((r) => [r.account, r]));
    const free = this.#accounts.filter((account) => {
      if (this.#held.has(account) || this.#cooldown.has(account)) return false;
      const row = rows.get(account);
      return !row?.live || row.owner === owner;
    });
    for (const account of byPreference(owner, free)) {
      if (this.#held.size >= share || this.#stopped || this.#paused) return;
      if (!this.#accounts.includes(account)) continue;
      const sentAt = performance.now();
      const token = await this.#session.take(group, owner, account, leaseMs);
      if (token === undefined) continue; // another instance was faster
      if (this.#stopped || !this.#accounts.includes(account)) {
        await this.#releaseRow(account, token);
        continue;
      }
      this.#held.set(account, { token, deadline: sentAt + leaseMs - this.#marginMs });
      this.#o.log?.info("coordination: lease acquired", { account, token, share, instances: liveCount });
      this.#emit("acquired", account, token);
    }
  }

  /** A poll that failed (database down, timeout): leases stay held until their local deadline. */
  #pollFailed(err: unknown): void {
    const message = this.#session.message(err);
    if (this.#failing === undefined) {
      this.#o.log?.warn(
        "coordination: the lease database does not answer; leases are kept until their deadline",
        {
          database: this.#session.description,
          error: message,
        },
      );
    }
    this.#failing = message;
    this.#expireLocal();
  }

  /** Loses the leases whose local deadline has passed. */
  #expireLocal(): void {
    const now = performance.now();
    for (const [account, lease] of [...this.#held]) {
      if (now < lease.deadline) continue;
      const why = this.#failing ? `: ${this.#failing}` : "";
      this.#lose(account, `no renewal confirmed by the database before the local deadline${why}`);
    }
  }

  /** Fires at the earliest local deadline, whatever a poll is waiting on. */
  #armDeadline(): void {
    clearTimeout(this.#deadlineTimer);
    if (this.#stopped || this.#paused || this.#held.size === 0) return;
    const first = Math.min(...[...this.#held.values()].map((l) => l.deadline));
    this.#deadlineTimer = setTimeout(
      () => {
        this.#expireLocal();
        this.#armDeadline();
      },
      Math.max(0, first - performance.now()) + 1,
    );
    this.#deadlineTimer.unref();
  }

  #lose(account: string, reason: string): void {
    if (!this.#held.delete(account)) return;
    this.#o.log?.warn("coordination: lease lost", { account, reason });
    this.#emit("lost", account, reason);
  }

  async #releaseRow(account: string, token: number): Promise<void> {
    try {
      await this.#session.release(this.#o.group, this.#o.owner, account, token);
    } catch (err) {
      // It expires by itself within the lease time.
      this.#o.log?.warn("coordination: could not release a lease; it expires by itself", {
        account,
        error: this.#session.message(err),
      });
    }
  }

  #emit(kind: "acquired" | "lost", account: string, arg: number | string): void {
    try {
      if (kind === "acquired") this.#events.acquired(account, arg as number);
      else this.#events.lost(account, arg as string);
    } catch (err) {
      // A failing listener must not stop the renewals of the other leases.
      this.#o.log?.error(`coordination: the ${kind} handler failed`, { account, error: String(err) });
    }
  }
}
