/** Flag parsers of the CLI: durations, --target paths, export format inference, error lines. */
import { CommanderError } from "commander";
import { durationOption, parseDurationMs } from "../../packages/cli/src/cli/duration.js";
import { EXIT, errorLine, exitCodeOf, UsageError } from "../../packages/cli/src/cli/exitCodes.js";
import { exportFormat } from "../../packages/cli/src/cli/exportCommand.js";
import { parseTargetFlag, resolveWindow } from "../../packages/cli/src/cli/queryOptions.js";
import { AuditUsageError } from "../../packages/client/src/domain/errors.js";
import { AuthenticationError, RateLimitError } from "../../packages/client/src/errors.js";

describe("parseDurationMs", () => {
  it.each([
    ["90s", 90_000],
    ["15m", 900_000],
    ["24h", 86_400_000],
    ["7d", 604_800_000],
    ["2w", 1_209_600_000],
    ["1h30m", 5_400_000],
    ["500ms", 500],
    ["1.5s", 1500],
    ["0", 0],
  ])("%s = %i ms", (text, ms) => expect(parseDurationMs(text)).toBe(ms));
  it.each(["", "5", "h", "5x", "-1s", "1h 30m", "s5", "1e3s"])("refuses %j", (text) =>
    expect(parseDurationMs(text)).toBeUndefined(),
  );
  it("says why: not a duration, or too long", () => {
    expect(() => durationOption("--since")("5x")).toThrow(/--since: not a duration: "5x"/);
    expect(() => durationOption("--since")("100000d")).toThrow(
      /--since: "100000d" is longer than .*100 years/,
    );
  });
});

describe("parseTargetFlag", () => {
  it.each([
    ["model=m1", { model: "m1" }],
    ["model=app1/m1", { model: { id: "m1", appId: "app1" } }],
    ["model=u1/app1/m1", { model: { id: "m1", appId: "app1", userId: "u1" } }],
    ["model_version=app1/v1", { modelVersion: { id: "v1", appId: "app1" } }],
    ["workflow_version=app1/wf/v2", { workflowVersion: { id: "v2", appId: "app1", workflowId: "wf" } }],
    ["app=u1/app1", { app: { id: "app1", userId: "u1" } }],
    ["nodepool=cluster/np", { nodepool: { id: "np", computeClusterId: "cluster" } }],
    ["computeCluster=c1", { computeCluster: "c1" }],
    ["user=alice", { user: "alice" }],
  ])("%s", (text, target) => expect(parseTargetFlag(text)).toEqual(target));
  it.each(["model", "=m1", "gizmo=x", "user=a/b", "model=a//b", "model=a/b/c/d"])("refuses %j", (text) =>
    expect(() => parseTargetFlag(text)).toThrow(AuditUsageError),
  );
});

describe("resolveWindow", () => {
  const now = Date.UTC(2025, 0, 17, 12, 0, 0);
  it("resolves relative flags against now and keeps absolute ones exact", () => {
    expect(resolveWindow({ since: 3_600_000, to: "2025-01-17T11:59:59.123456789Z" }, now)).toEqual({
      from: { seconds: now / 1000 - 3600, nanos: 0 },
      to: { seconds: now / 1000 - 1, nanos: 123_456_789 },
    });
  });
  it("refuses combinations and empty windows", () => {
    expect(() => resolveWindow({ since: 1, from: "2025-01-01T00:00:00Z" }, now)).toThrow(UsageError);
    expect(() => resolveWindow({ until: 1, to: "2025-01-01T00:00:00Z" }, now)).toThrow(UsageError);
    expect(() => resolveWindow({ since: 1000, until: 2000 }, now)).toThrow(/empty window/);
    // In CLI words (packages/cli/src/cli/timeFlag.ts): no "epoch milliseconds" among the allowed forms.
    expect(() => resolveWindow({ from: "tomorrow" }, now)).toThrow(UsageError);
    expect(() => resolveWindow({ from: "1700000000000" }, now)).toThrow(/is not a time: use RFC 3339/);
  });
});

describe("exportFormat", () => {
  it.each([
    ["out.jsonl", undefined, "jsonl"],
    ["out.csv", undefined, "csv"],
    ["out.CSV.gz", undefined, "csv"],
    ["out.json.gz", undefined, "json"],
    ["out", undefined, "jsonl"],
    ["out.csv", "json", "json"],
  ])("%s --format %s = %s", (out, flag, format) => expect(exportFormat(out, flag)).toBe(format));
  it("refuses unknown formats", () => expect(() => exportFormat("x", "xml")).toThrow(UsageError));
});

describe("exit codes and error lines", () => {
  it("maps error classes to the documented codes", () => {
    expect(exitCodeOf(new UsageError("x"))).toBe(EXIT.usage);
    expect(exitCodeOf(new CommanderError(1, "commander.unknownOption", "x"))).toBe(EXIT.usage);
    expect(exitCodeOf(new CommanderError(0, "commander.helpDisplayed", "x"))).toBe(EXIT.ok);
    expect(exitCodeOf(new AuthenticationError({ code: 11008, description: "bad key" }))).toBe(EXIT.auth);
    expect(exitCodeOf(new RateLimitError({ code: 11005, description: "slow down" }))).toBe(EXIT.rateLimit);
    expect(exitCodeOf(new Error("disk full"))).toBe(EXIT.error);
  });
  it("prints one line with the req_id and without the PAT", () => {
    const pat = "secret-pat-value-1234567890";
    const line = errorLine(
      new AuthenticationError({ code: 11008, description: `key ${pat}\nrejected`, reqId: "abc123" }),
      pat,
    );
    expect(line).not.toContain(pat);
    expect(line).not.toContain("\n");
    expect(line).toMatch(/^clarifai-audit: error: .*req_id=abc123/);
  });
});
