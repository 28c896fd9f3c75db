/**
 * Library errors in the CLI's words, in-process: option names in backticks become the flags of
 * packages/cli/src/cli/renderError.ts's one table, and every library usage error exits 2 through
 * packages/cli/src/cli/exitCodes.ts, the one place that maps error classes to exit codes.
 */
import { EXIT, errorLine, exitCodeOf, UsageError } from "../../packages/cli/src/cli/exitCodes.js";
import { FLAG_OF_OPTION, renderMessage } from "../../packages/cli/src/cli/renderError.js";
import { VOCABULARY } from "../../packages/cli/src/cli/vocabulary.js";
import { ChromiumMissingError } from "../../packages/cli/src/report/pdf.js";
import { SyncUsageError } from "../../packages/cli/src/sync/store.js";
import { RulesError } from "../../packages/cli/src/watch/rules.js";
import {
  type AuditUsageError,
  ClarifaiAuditError,
  ValidationError,
} from "../../packages/client/src/domain/errors.js";
import { ClarifaiError, UnavailableError } from "../../packages/client/src/errors.js";
import {
  ExportInterruptedError,
  ExportUsageError,
  InputError,
} from "../../packages/client/src/export/errors.js";
import { OutputPathError } from "../../packages/client/src/state/outputPath.js";

describe("renderMessage", () => {
  it("renders each library option in backticks as its flag", () => {
    expect(renderMessage("`lake`: /x does not exist")).toBe("--lake: /x does not exist");
    expect(renderMessage("`store`: sslmode x: allowed a, b")).toBe("--dest: sslmode x: allowed a, b");
    expect(renderMessage("pass `resume` to continue it or `force` to start over")).toBe(
      "pass --resume to continue it or --force to start over",
    );
    expect(renderMessage("`memoryLimit`: DuckDB refused")).toBe("--max-memory: DuckDB refused");
  });
  it("leaves a name the table lacks bare, a flag as it is, and text without backticks alone", () => {
    expect(renderMessage("`query`: give exactly one SQL statement")).toBe(
      "query: give exactly one SQL statement",
    );
    expect(renderMessage("`--dead-letter`: /x is a FIFO")).toBe("--dead-letter: /x is a FIFO");
    expect(renderMessage("`constructor` and `toString`")).toBe("constructor and toString");
    expect(renderMessage("a -- b `1x` c")).toBe("a -- b `1x` c");
  });
  it("maps every option to a flag (or the argument) of the CLI", () => {
    for (const flag of Object.values(FLAG_OF_OPTION)) expect(flag).toMatch(/^--[a-z][a-z-]*$/);
    // …a flag of the one vocabulary (packages/cli/src/cli/vocabulary.ts), not a deprecated name.
    for (const flag of Object.values(FLAG_OF_OPTION))
      expect([flag, VOCABULARY[flag] !== undefined]).toEqual([flag, true]);
    expect(Object.values(FLAG_OF_OPTION)).not.toContain("--user");
  });
});

describe("library errors on the command line", () => {
  const usageErrors: AuditUsageError[] = [
    new SyncUsageError({ input: "lake", problem: "/x does not exist" }),
    SyncUsageError.store("/x is not writable"),
    new ExportUsageError({ input: "out", problem: "the output file name is empty" }),
    new InputError("cannot read /x (ENOENT)"),
    new InputError("/x: row 3 has no entry", "lake"),
    new RulesError({ input: "rules", problem: "give a rules file or builtin" }),
    new RulesError("r.yaml: rule 1: id: missing"),
    new OutputPathError("pdf", "/dev/null", "/dev/null is a character device, not a regular file"),
    new ChromiumMissingError("needs Chromium and none was found"),
    new ValidationError("from", "x", "an RFC 3339 time", "not a time"),
  ];
  it("are one root's usage errors with structured fields, and exit 2", () => {
    for (const error of usageErrors) {
      expect(error).toBeInstanceOf(ClarifaiAuditError);
      expect(error.input).not.toBe("");
      expect(error.problem).not.toBe("");
      expect(error.message).not.toMatch(/(^|[^\w-])--[a-z]/);
      expect(exitCodeOf(error)).toBe(EXIT.usage);
    }
  });
  it("print as the flags the user typed", () => {
    expect(usageErrors.map((e) => errorLine(e))).toEqual([
      "clarifai-audit: error: --lake: /x does not exist",
      "clarifai-audit: error: --dest: /x is not writable",
      "clarifai-audit: error: --out: the output file name is empty",
      "clarifai-audit: error: --input: cannot read /x (ENOENT)",
      "clarifai-audit: error: --lake: /x: row 3 has no entry",
      "clarifai-audit: error: --rules: give a rules file or builtin",
      "clarifai-audit: error: r.yaml: rule 1: id: missing",
      "clarifai-audit: error: --pdf: /dev/null is a character device, not a regular file",
      "clarifai-audit: error: --pdf needs Chromium and none was found",
      'clarifai-audit: error: from: not a time (got "x"; allowed: an RFC 3339 time)',
    ]);
  });
  it("keep the library's words when the CLI wraps their message in its own UsageError", () => {
    const wrapped = new UsageError(
      new SyncUsageError({ input: "lake", problem: "/x is not a directory" }).message,
    );
    expect(errorLine(wrapped)).toBe("clarifai-audit: error: --lake: /x is not a directory");
  });
  it("keep their other exit codes: interrupted, and the client's families", () => {
    const summary = { entries: 3 } as ExportInterruptedError["summary"];
    const interrupted = new ExportInterruptedError(summary);
    expect(interrupted).toBeInstanceOf(ClarifaiAuditError);
    expect(exitCodeOf(interrupted)).toBe(EXIT.interrupted);
    expect(errorLine(interrupted)).toBe(
      "clarifai-audit: error: export interrupted after 3 entries; rerun with --resume to continue",
    );
    const unavailable = new UnavailableError({ code: 40030, description: "connect with `insecure`" });
    expect(unavailable).toBeInstanceOf(ClarifaiError);
    expect(unavailable).toBeInstanceOf(ClarifaiAuditError);
    expect(exitCodeOf(unavailable)).toBe(EXIT.error);
    expect(errorLine(unavailable)).toMatch(/connect with --insecure$/);
  });
});
