/** The rateLimit option: option > CLARIFAI_RATE_LIMIT > default (15/s, unknown for loopback), and its checks. */
import { describe, expect, it } from "@jest/globals";
import { resolveConfig } from "../../packages/client/src/client/config.js";
import { ValidationError } from "../../packages/client/src/errors.js";

const base = { pat: "p", userId: "u" };
const env = (v?: string): NodeJS.ProcessEnv => (v === undefined ? {} : { CLARIFAI_RATE_LIMIT: v });

describe("rateLimit resolution", () => {
  it("defaults to Clarifai's documented 15/s, and to unknown (unpaced until throttled) on loopback", () => {
    expect(resolveConfig(base, env()).rateLimit).toEqual({ limit: 15, enabled: true });
    expect(resolveConfig({ ...base, endpoint: "audit.example.com:443" }, env()).rateLimit.limit).toBe(15);
    for (const endpoint of ["127.0.0.1:50051", "localhost:1", "[::1]:9"]) {
      expect(resolveConfig({ ...base, endpoint, insecure: true }, env()).rateLimit).toEqual({
        limit: undefined,
        enabled: true,
      });
    }
  });
  it("explicit option > environment > default", () => {
    expect(resolveConfig({ ...base, rateLimit: 3 }, env("7")).rateLimit.limit).toBe(3);
    expect(resolveConfig(base, env("7.5")).rateLimit.limit).toBe(7.5);
    expect(
      resolveConfig({ ...base, endpoint: "127.0.0.1:1", insecure: true }, env("7")).rateLimit.limit,
    ).toBe(7);
    expect(resolveConfig(base, env("off")).rateLimit).toEqual({ limit: undefined, enabled: false });
    expect(resolveConfig({ ...base, rateLimit: false }, env("7")).rateLimit.enabled).toBe(false);
  });
  it.each([0, -1, 10_001, Number.NaN, Number.POSITIVE_INFINITY, "5", true, null])(
    "refuses rateLimit %p naming the field and the range",
    (v) => {
      expect(() => resolveConfig({ ...base, rateLimit: v as number }, env())).toThrow(ValidationError);
      expect(() => resolveConfig({ ...base, rateLimit: v as number }, env())).toThrow(/rateLimit.*10000/);
    },
  );
  it.each(["0", "-2", "fast", "1e3", "10001"])("refuses CLARIFAI_RATE_LIMIT=%s naming the variable", (v) => {
    expect(() => resolveConfig(base, env(v))).toThrow(/CLARIFAI_RATE_LIMIT/);
  });
});
