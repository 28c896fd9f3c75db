/**
 * Helpers of the lease tests: coordinators whose events are recorded with their monotonic time, a
 * sampler that checks at many instants that no account is held by two coordinators at once, and a
 * TCP proxy that can cut a coordinator off from PostgreSQL (a partition: packets go unanswered).
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import {
  type CoordinatorLog,
  LeaseCoordinator,
  type LeaseCoordinatorOptions,
} from "../../packages/cli/src/collector/coordination/leases.js";

/** One recorded event of a coordinator. */
export interface LeaseEvent {
  at: number;
  owner: string;
  kind: "acquired" | "lost";
  account: string;
  token?: number;
  reason?: string;
}

/** A coordinator under test and what it said. */
export interface Member {
  owner: string;
  c: LeaseCoordinator;
  events: LeaseEvent[];
  logs: string[];
  /** Accounts held now, sorted. */
  accounts(): string[];
}

export const LEASE_MS = 600;
export const POLL_MS = 150;

/** Opens and starts a coordinator; its events go to its own list and to `all`. */
export async function member(
  url: string,
  group: string,
  owner: string,
  accounts: string[],
  all: LeaseEvent[],
  extra: Partial<LeaseCoordinatorOptions> = {},
): Promise<Member> {
  const logs: string[] = [];
  const log: CoordinatorLog = {
    info: (msg, f) => logs.push(`info ${msg} ${JSON.stringify(f ?? {})}`),
    warn: (msg, f) => logs.push(`warn ${msg} ${JSON.stringify(f ?? {})}`),
    error: (msg, f) => logs.push(`error ${msg} ${JSON.stringify(f ?? {})}`),
  };
  const c = await LeaseCoordinator.open({
    url,
    group,
    owner,
    leaseMs: LEASE_MS,
    pollMs: POLL_MS,
    env: {},
    log,
    ...extra,
  });
  const events: LeaseEvent[] = [];
  const record = (e: LeaseEvent) => {
    events.push(e);
    all.push(e);
  };
  c.start(accounts, {
    acquired: (account, token) => record({ at: performance.now(), owner, kind: "acquired", account, token }),
    lost: (account, reason) => record({ at: performance.now(), owner, kind: "lost", account, reason }),
  });
  return { owner, c, events, logs, accounts: () => [...c.held().keys()].sort() };
}

/**
 * Every few ms, checks that no account is held (isHeld true) by two members at once; returns the
 * violations found and how many instants were checked when stopped.
 */
export function exclusivitySampler(members: () => Member[], everyMs = 3) {
  const violations: string[] = [];
  let checks = 0;
  const timer = setInterval(() => {
    checks++;
    const holders = new Map<string, string[]>();
    for (const m of members()) {
      for (const [account, token] of m.c.held()) {
        if (!m.c.isHeld(account, token)) continue;
        holders.set(account, [...(holders.get(account) ?? []), `${m.owner}#${token}`]);
      }
    }
    for (const [account, who] of holders)
      if (who.length > 1) violations.push(`${account}: ${who.join(", ")}`);
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { violations, checks };
    },
  };
}

/** For each account, the tokens of its acquisitions in the order they happened: each above the last. */
export function tokensNotIncreasing(events: LeaseEvent[]): string[] {
  const last = new Map<string, LeaseEvent>();
  const bad: string[] = [];
  for (const e of [...events].sort((a, b) => a.at - b.at)) {
    if (e.kind !== "acquired") continue;
    const before = last.get(e.account);
    if (before && (e.token as number) <= (before.token as number)) {
      bad.push(`${e.account}: ${before.owner}#${before.token} then ${e.owner}#${e.token}`);
    }
    last.set(e.account, e);
  }
  return bad;
}

/** A TCP proxy to PostgreSQL that can be cut: while cut, nothing is forwarded either way. */
export interface PgProxy {
  port: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 forwarding to `port`. */
export async function startProxy(port: number): Promise<PgProxy> {
  let cut = false;
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, "127.0.0.1");
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const forward = (from: Socket, to: Socket) =>
      from.on("data", (chunk) => {
        // A partition drops what is sent: the connection stays open and nothing answers.
        if (!cut) to.write(chunk);
      });
    forward(client, upstream);
    forward(upstream, client);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("no proxy port");
  return {
    port: address.port,
    cut() {
      cut = true;
    },
    restore() {
      cut = false;
      // The sessions that lost bytes are out of step: end them, as a partition's TCP timeout would.
      for (const [a, b] of pairs) {
        a.destroy();
        b.destroy();
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy();
          b.destroy();
        }
        server.close(() => resolve());
      }),
  };
}
