/** Every digest's RFC 3161 time-stamp, checked offline with the TSA's certificates. */
import { checkTimestamp } from "../timestamp/index.js";
import type { LoadedDigest } from "./chain.js";
import { fail } from "./problem.js";

/**
 * Checks the time-stamp of each digest against `tsaCerts`.
 * @throws NotVerified timestamp-missing, timestamp-invalid.
 */
export async function checkTimestamps(
  digests: readonly LoadedDigest[],
  tsaCerts: readonly string[],
): Promise<{ checked: number; first?: string; last?: string }> {
  let first: string | undefined;
  let last: string | undefined;
  for (const d of digests) {
    const stamp = d.doc.timestamp;
    if (stamp === undefined)
      fail("timestamp-missing", d.shown, `${d.shown} carries no time-stamp (a TSA's certificate was given)`, {
        digest: d.name,
      });
    const check = await checkTimestamp(stamp, Buffer.from(d.hash, "hex"), tsaCerts);
    if (!check.ok)
      fail("timestamp-invalid", d.shown, `${d.shown}: its time-stamp ${check.problem}`, { digest: d.name });
    first ??= check.genTime;
    last = check.genTime;
  }
  return {
    checked: digests.length,
    ...(first !== undefined ? { first } : {}),
    ...(last !== undefined ? { last } : {}),
  };
}
