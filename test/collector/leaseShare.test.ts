/**
 * The split of accounts among live instances (packages/cli/src/collector/coordination/share.ts): every
 * instance computes its own share from the same rows, so the shares must add up to the accounts and
 * differ by at most one, whatever the counts.
 */
import { byPreference, fairShare } from "../../packages/cli/src/collector/coordination/share.js";

it("the shares of the live instances add up to the accounts and differ by at most one", () => {
  for (let k = 1; k <= 7; k++) {
    const owners = Array.from({ length: k }, (_, i) => `host-${(i * 37) % 11}-${i}`);
    for (let n = 0; n <= 20; n++) {
      const shares = owners.map((o) => fairShare(n, owners, o));
      expect(shares.reduce((x, y) => x + y, 0)).toBe(n);
      expect(Math.max(...shares) - Math.min(...shares)).toBeLessThanOrEqual(1);
    }
  }
  expect(["inst-a", "inst-b", "inst-c"].map((o) => fairShare(4, ["inst-c", "inst-a", "inst-b"], o))).toEqual([
    2, 1, 1,
  ]);
  // An instance whose own heartbeat is not visible yet counts itself in.
  expect(fairShare(4, ["inst-a"], "inst-b")).toBe(2);
});

it("preferences are stable per owner and differ between owners", () => {
  const accounts = Array.from({ length: 12 }, (_, i) => `acct-${i}`);
  const a = byPreference("inst-a", accounts);
  expect(byPreference("inst-a", [...accounts].reverse())).toEqual(a);
  expect([...a].sort()).toEqual([...accounts].sort());
  expect(byPreference("inst-b", accounts)).not.toEqual(a);
});
