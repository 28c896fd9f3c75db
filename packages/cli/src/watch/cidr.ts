/**
 * Source-IP filters of rules: exact addresses and CIDR blocks, IPv4 and IPv6, on node:net's
 * BlockList (exact prefix arithmetic). Verdicts are cached per address string, since a log holds few
 * distinct source IPs and BlockList parses the address on every check.
 */
import { BlockList, isIP } from "node:net";

/** A set of addresses and blocks. */
export interface CidrSet {
  has(address: string): boolean;
}

/** A refused item of a source-IP list. */
export interface CidrProblem {
  index: number;
  problem: string;
}

/** Parses `10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`…; throws a {@link CidrProblem} on a bad item. */
export function parseCidrSet(items: readonly string[]): CidrSet {
  const list = new BlockList();
  items.forEach((raw, index) => {
    const text = raw.trim();
    const slash = text.indexOf("/");
    const address = slash < 0 ? text : text.slice(0, slash);
    const family = isIP(address);
    if (family === 0) {
      throw { index, problem: "not an IPv4 or IPv6 address or CIDR block" } satisfies CidrProblem;
    }
    const type = family === 4 ? "ipv4" : "ipv6";
    const max = family === 4 ? 32 : 128;
    if (slash < 0) {
      list.addAddress(address, type);
      return;
    }
    const prefixText = text.slice(slash + 1);
    const prefix = Number(prefixText);
    if (!/^\d{1,3}$/.test(prefixText) || prefix > max) {
      throw { index, problem: `the prefix length must be 0-${max} for IPv${family}` } satisfies CidrProblem;
    }
    list.addSubnet(address, prefix, type);
  });
  const cache = new Map<string, boolean>();
  return {
    has(address: string): boolean {
      let v = cache.get(address);
      if (v === undefined) {
        const family = isIP(address);
        v = family !== 0 && list.check(address, family === 4 ? "ipv4" : "ipv6");
        // A log with unboundedly many addresses must not grow the cache without bound.
        if (cache.size >= 65_536) cache.clear();
        cache.set(address, v);
      }
      return v;
    },
  };
}
