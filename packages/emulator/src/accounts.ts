/**
 * `accounts` of {@link EmulatorOptions}: checked and merged with `pats` into the one PAT → user map
 * the search service authenticates with, before anything is loaded or bound.
 */
import {
  ACCOUNT_KEYS,
  checkKeys,
  DEFAULT_PATS,
  type EmulatorAccount,
  type EmulatorOptions,
  validateGrowth,
} from "./options.js";

/** The PAT → user map and the accounts, checked. */
export interface ResolvedAccounts {
  pats: Record<string, string>;
  accounts: EmulatorAccount[];
}

/** The client's rule (packages/client/src/client/config.ts): a PAT it would never send is refused here too. */
function checkPat(what: string, pat: unknown): void {
  if (typeof pat !== "string" || !/^[\x21-\x7e]+$/.test(pat))
    throw new RangeError(`${what}: a PAT must be printable ASCII without spaces or control characters`);
}

/**
 * Checks `pats` and `accounts` and merges them. Throws a RangeError naming the field: a PAT that
 * would belong to two users, a user id given to two accounts, an unknown key, a bad growth.
 */
export function resolveAccounts(options: EmulatorOptions): ResolvedAccounts {
  const accounts = options.accounts ?? [];
  if (!Array.isArray(accounts)) throw new RangeError("accounts must be an array of { pat, userId, … }");
  const pats: Record<string, string> = {
    ...(options.pats ?? (accounts.length > 0 ? {} : DEFAULT_PATS)),
  };
  for (const [pat, user] of Object.entries(pats)) {
    checkPat("pats", pat);
    if (user === "") throw new RangeError("pats: a user id must be non-empty");
  }
  const users = new Map<string, number>();
  accounts.forEach((a, i) => {
    const what = `accounts[${i}]`;
    if (typeof a !== "object" || a === null) throw new RangeError(`${what} must be { pat, userId, … }`);
    checkKeys(what, a, ACCOUNT_KEYS);
    checkPat(`${what}.pat`, a.pat);
    if (typeof a.userId !== "string" || a.userId === "")
      throw new RangeError(`${what}.userId must be a non-empty user id`);
    const other = users.get(a.userId);
    if (other !== undefined)
      throw new RangeError(
        `${what}.userId '${a.userId}' is already accounts[${other}]'s; one account per user`,
      );
    users.set(a.userId, i);
    const owner = Object.hasOwn(pats, a.pat) ? pats[a.pat] : undefined;
    if (owner !== undefined && owner !== a.userId)
      throw new RangeError(`${what}.pat already belongs to user '${owner}'; a PAT is one user's`);
    pats[a.pat] = a.userId;
    if (a.growth !== undefined) validateGrowth(`${what}.growth`, a.growth, ["seed"]);
    if (a.growth?.seed !== undefined && !Number.isInteger(a.growth.seed))
      throw new RangeError(`${what}.growth.seed must be an integer, got ${String(a.growth.seed)}`);
  });
  if (Object.keys(pats).length === 0) throw new RangeError("pats must map at least one PAT to a user id");
  return { pats, accounts };
}

/** The seed of an account's growth: its own, else one per account so two accounts grow apart. */
export function growthSeed(seed: number | undefined, index: number): number {
  return seed ?? 1000 + index;
}
