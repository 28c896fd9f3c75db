/**
 * Rules files and their evaluation: every bad input is one line naming file, rule and field; match
 * semantics (AND across keys, OR within a list, CIDRs), thresholds, new_value learning, and a saved
 * and restored state that continues exactly as an uninterrupted run.
 */

import { BUILTIN_PACK } from "../../packages/cli/src/watch/builtinPack.js";
import { parseCidrSet } from "../../packages/cli/src/watch/cidr.js";
import { type EvalEntry, Evaluator } from "../../packages/cli/src/watch/evaluator.js";
import { parseRules, type RestEntry, RulesError } from "../../packages/cli/src/watch/rules.js";
import { entryToJsonLine } from "../../packages/client/src/codec/index.js";
import { generateEntries } from "../../packages/emulator/src/index.js";

function errorOf(text: string): string {
  try {
    parseRules("r.yaml", text);
  } catch (error) {
    expect(error).toBeInstanceOf(RulesError);
    return (error as Error).message;
  }
  throw new Error("accepted");
}

const rule = (body: string) => `rules:\n  - id: r1\n    severity: high\n${body}`;

describe("bad rules files", () => {
  it.each([
    [
      rule("    match: { operations: [MODEL_DELET] }\n"),
      'r.yaml: rule "r1" (rules[0]): match.operations[0]: unknown operation; did you mean MODEL_DELETE, MODULE_DELETE, MODEL_CREATE? (got "MODEL_DELET")',
    ],
    [
      rule("    match: { operations: [9999] }\n"),
      'r.yaml: rule "r1" (rules[0]): match.operations[0]: unknown operation code; did you mean DEPLOYMENT_DELETE (1102), DEPLOYMENT_UPDATE (1101), DEPLOYMENT_CREATE (1100)? (got 9999)',
    ],
    [
      "rules:\n  - id: r1\n    severity: urgent\n",
      'r.yaml: rule "r1" (rules[0]): severity: must be one of info, low, medium, high, critical (got "urgent")',
    ],
    [
      rule("    threshold: { count: 3, within: 10 minutes }\n"),
      'r.yaml: rule "r1" (rules[0]): threshold.within: not a duration: "10 minutes" (use a number with a unit: ms, s, m, h, d, w — e.g. 10m, 24h, 7d)',
    ],
    [
      rule("    new_value: { field: source_ip, learn: soon }\n"),
      'r.yaml: rule "r1" (rules[0]): new_value.learn: not a duration: "soon" (use a number with a unit: ms, s, m, h, d, w — e.g. 10m, 24h, 7d)',
    ],
    [
      rule("    match: { source_ips: [10.0.0.0/33] }\n"),
      'r.yaml: rule "r1" (rules[0]): match.source_ips[0]: the prefix length must be 0-32 for IPv4 (got "10.0.0.0/33")',
    ],
    [
      rule('    match: { source_ips: ["2001:db8::/129"] }\n'),
      'r.yaml: rule "r1" (rules[0]): match.source_ips[0]: the prefix length must be 0-128 for IPv6 (got "2001:db8::/129")',
    ],
    [
      rule("    match: { source_ips: [10.0.0.300] }\n"),
      'r.yaml: rule "r1" (rules[0]): match.source_ips[0]: not an IPv4 or IPv6 address or CIDR block (got "10.0.0.300")',
    ],
    [
      "rules:\n  - id: r1\n    severity: high\n  - id: r1\n    severity: low\n",
      'r.yaml: rule "r1" (rules[1]): id: duplicate of rules[0]',
    ],
    [
      rule("    match: { operation: [MODEL_DELETE] }\n"),
      'r.yaml: rule "r1" (rules[0]): match.operation: unknown key "operation" (allowed: operations, users, targets, source_ips, success; did you mean "operations"?)',
    ],
    [
      rule("    colour: red\n"),
      'r.yaml: rule "r1" (rules[0]): colour: unknown key "colour" (allowed: id, title, description, severity, match, threshold, new_value)',
    ],
    [
      rule("    match: { targets: [modle=x] }\n"),
      expect.stringMatching(
        /^r\.yaml: rule "r1" \(rules\[0\]\): match\.targets\[0\]: unknown kind "modle" \(kinds: user, /,
      ),
    ],
    [
      rule("    threshold: { count: 0, within: 1m }\n"),
      'r.yaml: rule "r1" (rules[0]): threshold.count: must be >= 1 (got 0)',
    ],
    [
      rule("    threshold: { count: 2, within: 1m, by: colour }\n"),
      'r.yaml: rule "r1" (rules[0]): threshold.by: must be one of user_id, source_ip, operation, req_id, app_id, target (got "colour")',
    ],
    [
      rule("    threshold: { count: 2, within: 1m }\n    new_value: { field: source_ip, learn: 1d }\n"),
      'r.yaml: rule "r1" (rules[0]): new_value: a rule has a threshold or a new_value, not both',
    ],
    ["rules:\n  - severity: high\n", "r.yaml: rules[0] (no id): id: is required"],
    ["rulez: []\n", 'r.yaml: rulez: unknown key "rulez" (allowed: rules; did you mean "rules"?)'],
    ["rules:\n  - id: a\n    id: b\n", "r.yaml:3:5: not valid YAML: Map keys must be unique"],
  ])("%#", (text, message) => {
    const m = errorOf(text);
    expect(m).toEqual(message);
    expect(m).not.toMatch(/\n/);
  });

  it("the built-in pack is valid", () => {
    expect(parseRules("builtin", BUILTIN_PACK).map((r) => r.id)).toHaveLength(12);
  });
});

describe("CIDR sets", () => {
  it("match exact addresses and blocks of both families", () => {
    const set = parseCidrSet(["10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "0.0.0.0/0"]);
    expect(set.has("10.255.1.1")).toBe(true);
    expect(set.has("11.0.0.1")).toBe(true); // 0.0.0.0/0
    const v6 = parseCidrSet(["2001:db8::/32", "192.0.2.7", "::1"]);
    expect(v6.has("2001:db8:ffff::1")).toBe(true);
    expect(v6.has("2001:db9::1")).toBe(false);
    expect(v6.has("192.0.2.7")).toBe(true);
    expect(v6.has("192.0.2.8")).toBe(false);
    expect(v6.has("::1")).toBe(true);
    expect(v6.has("")).toBe(false);
    expect(v6.has("not-an-ip")).toBe(false);
    const edge = parseCidrSet(["10.0.0.128/25"]);
    expect(edge.has("10.0.0.127")).toBe(false);
    expect(edge.has("10.0.0.128")).toBe(true);
    expect(edge.has("10.0.0.255")).toBe(true);
  });
});

function e(sec: number, fields: Partial<RestEntry> & { user?: string }): EvalEntry {
  const json: RestEntry = {
    timestamp: new Date(Date.UTC(2025, 0, 1) + sec * 1000).toISOString().replace(".000Z", "Z"),
    user: { id: fields.user ?? "alice" },
    operation: fields.operation ?? 300,
    targets: fields.targets ?? [{ model: { id: "m1", app_id: "app1" } }, { app: { id: "app1" } }],
    success: fields.success ?? true,
    req_id: `r${sec}`,
    source_ip: fields.source_ip ?? "10.0.0.1",
  };
  return { json, line: JSON.stringify(json) };
}

describe("evaluation", () => {
  it("match: AND across keys, OR within a list", () => {
    const [r] = parseRules(
      "r.yaml",
      rule(
        "    match: { operations: [MODEL_DELETE, 600], users: [alice, bob], success: true, targets: [model=app1/m1, app=zzz], source_ips: [10.0.0.0/24] }\n",
      ),
    );
    const m = (x: EvalEntry) => r!.matches(x.json);
    expect(m(e(1, { operation: 302 }))).toBe(true);
    expect(m(e(1, { operation: 600, user: "bob" }))).toBe(true);
    expect(m(e(1, { operation: 301 }))).toBe(false);
    expect(m(e(1, { operation: 302, user: "carol" }))).toBe(false);
    expect(m(e(1, { operation: 302, success: false }))).toBe(false);
    expect(m(e(1, { operation: 302, source_ip: "10.0.1.1" }))).toBe(false);
    expect(m(e(1, { operation: 302, targets: [{ model: { id: "m1", app_id: "other" } }] }))).toBe(false);
    expect(m(e(1, { operation: 302, targets: [{ app: { id: "zzz" } }] }))).toBe(true);
  });

  it("a threshold fires once when reached, within the window, per group", () => {
    const ev = new Evaluator(
      parseRules(
        "r.yaml",
        rule("    match: { success: false }\n    threshold: { count: 3, within: 10m, by: user_id }\n"),
      ),
    );
    const fire = (x: EvalEntry) => ev.evaluate(x);
    expect(fire(e(0, { success: false }))).toEqual([]);
    expect(fire(e(60, { success: false, user: "bob" }))).toEqual([]);
    expect(fire(e(100, { success: false }))).toEqual([]);
    expect(fire(e(120, { success: true }))).toEqual([]);
    // alice's first failure is 11 minutes behind this one: out of the window.
    expect(fire(e(660, { success: false }))).toEqual([]);
    const [a] = fire(e(700, { success: false }));
    expect(a).toMatchObject({ rule: "r1", group: "alice", time: "2025-01-01T00:11:40Z" });
    expect(a!.entries.map((l) => JSON.parse(l).req_id)).toEqual(["r100", "r660", "r700"]);
    // Fired once: the count starts afresh.
    expect(fire(e(710, { success: false }))).toEqual([]);
  });

  it("new_value learns during the learn period, then fires for pairs not seen", () => {
    const ev = new Evaluator(
      parseRules("r.yaml", rule("    new_value: { field: source_ip, by: user_id, learn: 1h }\n")),
    );
    expect(ev.evaluate(e(0, { source_ip: "10.0.0.1" }))).toEqual([]);
    expect(ev.evaluate(e(60, { source_ip: "10.0.0.2" }))).toEqual([]);
    expect(ev.evaluate(e(4000, { source_ip: "10.0.0.2" }))).toEqual([]);
    const [a] = ev.evaluate(e(4100, { source_ip: "10.0.0.3" }));
    expect(a).toMatchObject({ rule: "r1", group: "alice" });
    expect(ev.evaluate(e(4200, { source_ip: "10.0.0.3" }))).toEqual([]);
    expect(ev.evaluate(e(4300, { source_ip: "10.0.0.3", user: "bob" }))).toHaveLength(1);
  });

  it("a saved and restored state continues exactly like an uninterrupted run, alert keys included", () => {
    const rules = parseRules("builtin", BUILTIN_PACK);
    const entries = generateEntries(6000, 5)
      .sort((a, b) => a.timestamp!.seconds - b.timestamp!.seconds || a.timestamp!.nanos - b.timestamp!.nanos)
      .map((x) => {
        const line = entryToJsonLine(x);
        return { json: JSON.parse(line) as RestEntry, line };
      });
    const whole = new Evaluator(rules);
    const expected = entries.flatMap((x) => whole.evaluate(x));
    expect(expected.length).toBeGreaterThan(100);
    for (const cut of [1, 1234, 4000]) {
      let ev = new Evaluator(rules);
      const got = entries.slice(0, cut).flatMap((x) => ev.evaluate(x));
      ev = new Evaluator(rules, JSON.parse(JSON.stringify(ev.snapshot())));
      got.push(...entries.slice(cut).flatMap((x) => ev.evaluate(x)));
      expect(got).toEqual(expected);
    }
  });

  it("state saved under another definition of a rule is dropped", () => {
    const a = new Evaluator(
      parseRules("r.yaml", rule("    match: { success: false }\n    threshold: { count: 2, within: 10m }\n")),
    );
    a.evaluate(e(0, { success: false }));
    const b = new Evaluator(
      parseRules("r.yaml", rule("    match: { success: false }\n    threshold: { count: 3, within: 10m }\n")),
      a.snapshot(),
    );
    expect(b.reset).toEqual(["r1"]);
    expect(b.evaluate(e(1, { success: false }))).toEqual([]);
  });
});
