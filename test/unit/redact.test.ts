/**
 * The redaction layer (packages/client/src/domain/redact.ts): URLs however malformed, known secrets in any spelling,
 * and no over-reach into ordinary words.
 */
import { oneLine } from "../../packages/cli/src/cli/exitCodes.js";
import { parseEndpoint } from "../../packages/client/src/client/config.js";
import {
  clearSecrets,
  redact,
  redactUrl,
  registerSecret,
  registerUrlSecrets,
} from "../../packages/client/src/domain/redact.js";

afterEach(() => clearSecrets());

const PASSWORD = "p/a#s?s@w%rd";

describe("redactUrl", () => {
  it.each([
    [`postgres://u:${PASSWORD}@host/db`, "postgres://u:[REDACTED]@host/db"],
    [`postgres://u:${encodeURIComponent(PASSWORD)}@host:5432/db`, "postgres://u:[REDACTED]@host:5432/db"],
    ["postgres://u:12?ss@host", "postgres://u:[REDACTED]@host"],
    ["postgres://u:12/34@host/db", "postgres://u:[REDACTED]@host/db"],
    ["postgres:/u:pw@h/db", "postgres:/u:[REDACTED]@h/db"],
    ["postgres:u:pw@h/db", "postgres:u:[REDACTED]@h/db"],
    [
      "postgres://auditor@h/db?schema=audit&sslmode=require",
      "postgres://auditor@h/db?schema=audit&sslmode=require",
    ],
    ["postgres://u@h/db?password=hunter22&table=t", "postgres://u@h/db?password=[REDACTED]&table=t"],
    [
      "https://user:pass@hooks.example.com/x/y?token=abc#frag",
      "https://[REDACTED]@hooks.example.com/x/y?[REDACTED]#[REDACTED]",
    ],
    ["https://tokenonly@hooks.example.com/x", "https://[REDACTED]@hooks.example.com/x"],
    ["https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/[REDACTED]"],
    ["https://h/p?mail=a@b", "https://[REDACTED]@b"],
    ["http://127.0.0.1:9/hook", "http://127.0.0.1:9/hook"],
    ["http://127.0.0.1:9/hook#0123abcd", "http://127.0.0.1:9/hook#0123abcd"],
    ["http://127.0.0.1:9/hook#access_token=x", "http://127.0.0.1:9/hook#[REDACTED]"],
    ["u:pw@h/db", "u:[REDACTED]@h/db"],
  ])("%s", (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});

describe("redact", () => {
  it("URLs inside text, quoted or followed by punctuation; idempotent", () => {
    const text = `--to: "postgres://u:${PASSWORD}@h/db" is bad; see https://a:b@h/x?token=t1: refused.`;
    const once = redact(text);
    expect(once).toBe(
      '--to: "postgres://u:[REDACTED]@h/db" is bad; see https://[REDACTED]@h/x?[REDACTED]: refused.',
    );
    expect(redact(once)).toBe(once);
  });

  it("registered secrets in every spelling; Key/Bearer phrases", () => {
    registerSecret(PASSWORD);
    registerSecret('alert-secret-with-"quote"');
    const text = `a ${PASSWORD} b ${encodeURIComponent(PASSWORD)} c ${JSON.stringify('alert-secret-with-"quote"')} Key abcdefghijklmnop0123`;
    expect(redact(text)).toBe('a [REDACTED] b [REDACTED] c "[REDACTED]" Key [REDACTED]');
  });

  it("a database user name and ordinary query values are not registered (no scrubbed words)", () => {
    registerUrlSecrets("postgres://auditor:pw-1234@h/db?schema=audit&sslmode=disable");
    registerUrlSecrets("https://h/x?format=json&token=tok-999");
    registerSecret("ab");
    expect(redact('user "auditor" of clarifai-audit, sslmode disable, json ab')).toBe(
      'user "auditor" of clarifai-audit, sslmode disable, json ab',
    );
    expect(redact("pw-1234 and tok-999")).toBe("[REDACTED] and [REDACTED]");
  });

  it("the CLI's error line: redacted, one line, controls escaped", () => {
    registerSecret("s3cr3t-value");
    expect(oneLine("bad s3cr3t-value\n at \u001b]0;x\u0007 postgres://u:p@h/d")).toBe(
      "bad [REDACTED] at \\x1b]0;x\\x07 postgres://u:[REDACTED]@h/d",
    );
  });

  it("--endpoint refusals never quote user info or a query", () => {
    for (const endpoint of [
      "user:Sup3rSecret@host:443",
      "Sup3rSecret@host",
      "host:443?token=Sup3rSecret",
      "host#Sup3rSecret",
    ]) {
      expect(() => parseEndpoint(endpoint)).toThrow(/^endpoint: /);
      try {
        parseEndpoint(endpoint);
      } catch (e) {
        expect((e as Error).message).not.toContain("Sup3rSecret");
      }
    }
  });

  it("a usage hint's placeholder URL stays readable", () => {
    expect(redact("expected postgres://user:password@host:port/database")).toBe(
      "expected postgres://user:password@host:port/database",
    );
  });
});
