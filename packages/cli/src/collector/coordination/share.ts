/**
 * How the accounts are split between the live instances of a group: pure functions, so that every
 * instance, seeing the same rows, reaches the same split without talking to the others.
 */
import { createHash } from "node:crypto";

/**
 * This instance's share of `accounts` among the sorted `live` owners: ⌊n/k⌋, plus one for the first
 * n mod k owners in code-unit order (so 4 accounts on 3 instances are 2/1/1, never 2/2/0). An owner
 * missing from `live` (its heartbeat not yet visible) counts itself in.
 */
export function fairShare(accounts: number, live: readonly string[], owner: string): number {
  const owners = [...new Set([...live, owner])].sort(compareText);
  const k = owners.length;
  const rank = owners.indexOf(owner);
  return Math.floor(accounts / k) + (rank < accounts % k ? 1 : 0);
}

/**
 * How much `owner` wants `account`: a hash of both, so that instances prefer different accounts
 * (two instances rarely race for the same free lease) and each keeps the same ones across polls
 * (rebalancing gives up the least wanted, which the others want more).
 */
export function preference(owner: string, account: string): string {
  return createHash("sha256").update(owner).update("\0").update(account).digest("hex").slice(0, 16);
}

/** `accounts` ordered from the most wanted by `owner` to the least. */
export function byPreference(owner: string, accounts: Iterable<string>): string[] {
  return [...accounts]
    .map((account) => ({ account, p: preference(owner, account) }))
    .sort((a, b) => compareText(b.p, a.p) || compareText(a.account, b.account))
    .map((x) => x.account);
}

/** Byte order, as PostgreSQL's "C" collation sorts the owners. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
