/**
 * Several accounts in one emulator (`accounts`): each PAT reads its own user's log, loaded from its
 * own data, growing on its own timer with late entries, and throttled by its own rate-limit window
 * (Clarifai's 15/s is per account); the options are checked before anything is bound.
 */
import { afterAll, beforeAll, describe, expect, test } from "@jest/globals";
import { StatusCode } from "../../packages/client/generated/proto/clarifai/api/status/status_code.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import type { V2Client } from "../../packages/emulator/src/v2Grpc.js";
import { waitFor } from "../helpers/waitFor.js";
import { grpcClient, grpcSearch, request, tsOf } from "./helpers.js";

const A = { pat: "pat-account-a", userId: "org-a" };
const B = { pat: "pat-account-b", userId: "org-b" };

let emu: EmulatorHandle;
let client: V2Client;
beforeAll(async () => {
  emu = await startEmulator({
    restPort: false,
    accounts: [
      { ...A, generate: { count: 40, seed: 11 } },
      { ...B, generate: { count: 25, seed: 12 } },
    ],
  });
  client = grpcClient(emu.grpcAddress);
});
afterAll(async () => {
  client.close();
  await emu.close();
});

/** Every entry of a user's log through the API, oldest first, as `sec.nanos|req_id` strings. */
async function read(pat: string, userId: string): Promise<string[]> {
  const r = await grpcSearch(
    client,
    request({
      userAppId: { userId, appId: "" },
      sortAscending: true,
      pagination: { page: 1, perPage: 1000 },
    }),
    pat,
  );
  expect(r.status?.code).toBe(StatusCode.SUCCESS);
  return r.entries.map((e) => `${tsOf(e)}|${e.reqId}`);
}

const ids = (entries: ReturnType<typeof generateEntries>) => entries.map((e) => `${tsOf(e)}|${e.reqId}`);

describe("accounts", () => {
  test("each PAT reads its own user's log, loaded from that account's data; only its PATs are known", async () => {
    expect(emu.accounts).toEqual(["org-a", "org-b"]);
    expect(emu.pats).toEqual({ [A.pat]: A.userId, [B.pat]: B.userId });
    expect([emu.size("org-a"), emu.size("org-b"), emu.size()]).toEqual([40, 25, 40]);
    expect((await read(A.pat, "org-a")).sort()).toEqual(ids(generateEntries(40, 11)).sort());
    expect((await read(B.pat, "me")).sort()).toEqual(ids(generateEntries(25, 12)).sort());
    const other = await grpcSearch(client, request({ userAppId: { userId: "org-b", appId: "" } }), A.pat);
    expect(other.status?.code).toBe(StatusCode.CONN_INSUFFICIENT_SCOPES);
    const unknown = await grpcSearch(client, request(), "emulator-pat");
    expect(unknown.status?.code).toBe(StatusCode.CONN_KEY_INVALID);
  });

  test("setGrowth grows one account's log, late entries included; the other's stays as it was", async () => {
    const before = await read(B.pat, "org-b");
    const newestBefore = emu.log("org-a")?.span()?.last.seconds as number;
    const sizeA = emu.size("org-a");
    emu.setGrowth("org-a", { count: 20, everyMs: 5, lateFraction: 0.5, seed: 3 });
    try {
      await waitFor(() => emu.size("org-a") >= sizeA + 100, { what: "org-a's log to grow by 100" });
    } finally {
      emu.setGrowth("org-a", undefined);
    }
    const log = emu.log("org-a");
    const times = Array.from({ length: emu.size("org-a") - sizeA }, (_, i) => log?.secs[sizeA + i] as number);
    // Late ones land inside the span read before; the others after it.
    expect(times.some((t) => t <= newestBefore)).toBe(true);
    expect(times.some((t) => t > newestBefore)).toBe(true);
    expect(await read(B.pat, "org-b")).toEqual(before);
    expect(emu.size("org-b")).toBe(25);
  });

  test("an account's growth from the options starts with the emulator and is that account's only", async () => {
    const grown = await startEmulator({
      restPort: false,
      accounts: [
        { ...A, generate: { count: 5, seed: 1 }, growth: { count: 3, everyMs: 5, lateFraction: 0.3 } },
        { ...B, generate: { count: 5, seed: 2 } },
      ],
    });
    try {
      await waitFor(() => grown.size("org-a") >= 20, { what: "org-a's log to grow" });
      expect(grown.size("org-b")).toBe(5);
    } finally {
      await grown.close();
    }
  });

  test("the rate limit counts each account apart: one account over it does not throttle another", async () => {
    emu.setRateLimit(3);
    try {
      const page = (pat: string) =>
        grpcSearch(
          client,
          request({ userAppId: { userId: "", appId: "" }, pagination: { page: 1, perPage: 1 } }),
          pat,
        );
      const replies = await Promise.all([
        ...Array.from({ length: 5 }, () => page(A.pat)),
        page(B.pat),
        page(B.pat),
      ]);
      const codes = replies.map((r) => r.status?.code);
      expect(codes.slice(0, 5).filter((c) => c === StatusCode.CONN_THROTTLED)).toHaveLength(2);
      expect(codes.slice(5)).toEqual([StatusCode.SUCCESS, StatusCode.SUCCESS]);
    } finally {
      emu.setRateLimit(undefined);
    }
  });
});

describe("bad accounts are refused with a RangeError naming the field, before anything is bound", () => {
  test.each([
    [[A, { ...B, userId: A.userId }], /^accounts\[1\]\.userId 'org-a' is already accounts\[0\]'s/],
    [[A, { ...B, pat: A.pat }], /^accounts\[1\]\.pat already belongs to user 'org-a'/],
    [[{ ...A, pat: "has space" }], /^accounts\[0\]\.pat: a PAT must be printable ASCII/],
    [[{ ...A, userId: "" }], /^accounts\[0\]\.userId must be a non-empty user id/],
    [[{ ...A, grwth: {} }], /^accounts\[0\]: unknown option 'grwth'; allowed: pat, userId/],
    [[{ ...A, growth: { count: 0, everyMs: 5, lateFraction: 0 } }], /^accounts\[0\]\.growth\.count must be/],
    [[{ ...A, growth: { count: 1, everyMs: 5, lateFraction: 2 } }], /^accounts\[0\]\.growth\.lateFraction/],
    [[{ ...A, generate: { count: -1, seed: 1 } }], /^accounts\[0\]\.generate\.count must be/],
  ])("%j", async (accounts, message) => {
    await expect(startEmulator({ restPort: false, accounts: accounts as never })).rejects.toThrow(message);
  });

  test("a PAT of `pats` given to another user by an account", async () => {
    await expect(
      startEmulator({ restPort: false, pats: { [A.pat]: "someone" }, accounts: [A] }),
    ).rejects.toThrow(/^accounts\[0\]\.pat already belongs to user 'someone'/);
  });
});
