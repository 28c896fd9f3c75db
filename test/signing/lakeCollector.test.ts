/**
 * The collector (`run --config`, the built bin) with `sign:` on a lake folder and an s3:// lake
 * destination holding two accounts: each account's lake has a chain of its own (its own identity,
 * first digest, head), every one of them whole and signed; a second run continues each chain. `sign`
 * and `tsa` are refused (one line naming the key, exit 2) where they do not belong.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { tempDir } from "../cli/helpers.js";
import {
  type AccountsEmulator,
  collectorConfigText,
  spawnCollector,
  startAccounts,
} from "../collector/harness.js";
import { type S3Server, startS3Server } from "../helpers/s3.js";
import { type CheckedChain, checkLakeChain, copyS3Lake, makeKey, type TestKey } from "./lakeChain.js";

let s3: S3Server;
let accounts: AccountsEmulator;
let tmp: ReturnType<typeof tempDir>;
let key: TestKey;

beforeAll(async () => {
  tmp = tempDir();
  [s3, accounts] = await Promise.all([
    startS3Server(),
    startAccounts([
      { id: "acme", count: 150, growth: false },
      { id: "globex", count: 180, growth: false },
    ]),
  ]);
  await s3.createBucket("coll");
  key = makeKey(join(tmp.dir, "keys"), "collector.key");
}, 60_000);

afterAll(async () => {
  await accounts?.close();
  await s3?.stop();
  tmp?.cleanup();
});

/** Writes a config whose destinations are `destinations` (raw keys, as the file holds them). */
function config(name: string, destinations: Record<string, unknown>[]): string {
  const base = parse(
    collectorConfigText(accounts.accounts, accounts.endpoint, { destinations: [], listen: false }),
  ) as Record<string, unknown>;
  const path = join(tmp.dir, `${name}.yaml`);
  writeFileSync(path, stringify({ ...base, destinations, state_dir: join(tmp.dir, `${name}-state`) }));
  return path;
}

function run(path: string) {
  return spawnCollector(
    path,
    { ...accounts.env(), ...s3.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    {
      args: ["--once"],
    },
  ).exit;
}

async function chains(lake: string, prefix: string): Promise<Map<string, CheckedChain>> {
  const out = new Map<string, CheckedChain>();
  for (const id of ["acme", "globex"]) {
    out.set(`lake ${id}`, await checkLakeChain(join(lake, `account=${id}`), [key.pub]));
    const copy = join(tmp.dir, `copy-${prefix}-${id}`);
    await copyS3Lake(s3, "coll", `${prefix}/account=${id}`, copy);
    out.set(`s3 ${id}`, await checkLakeChain(copy, [key.pub]));
  }
  return out;
}

test("sign: on a lake and an s3:// lake destination of two accounts: each account's lake its own whole chain", async () => {
  const lake = join(tmp.dir, "lake");
  const path = config("signed", [
    { id: "lake", to: lake, sign: key.path },
    { id: "s3lake", to: "s3://coll/signed", sign: [key.path] },
  ]);
  const first = await run(path);
  expect({ code: first.code, stderr: first.code === 0 ? "" : first.stderr }).toEqual({ code: 0, stderr: "" });
  const before = await chains(lake, "signed");
  for (const [where, chain] of before) {
    const id = where.split(" ")[1] as string;
    const log = accounts.lines(id);
    expect({ where, entries: [...chain.entries].sort() }).toEqual({ where, entries: [...log].sort() });
    // Its own chain: its account's identity from its first digest on.
    expect(chain.digests[0]?.digest.previous).toBeNull();
    for (const d of chain.digests)
      expect(d.digest.identity).toMatchObject({ userId: accounts.account(id).userId });
  }
  expect(new Set([...before.values()].map((c) => c.head.hash)).size).toBe(4);

  const second = await run(path);
  expect({ code: second.code, stderr: second.code === 0 ? "" : second.stderr }).toEqual({
    code: 0,
    stderr: "",
  });
  for (const [where, chain] of await chains(lake, "signed")) {
    const old = before.get(where) as CheckedChain;
    expect({ where, longer: chain.head.seq > old.head.seq }).toEqual({ where, longer: true });
    expect(chain.digests[old.head.seq - 1]?.digest).toEqual(old.digests.at(-1)?.digest);
  }
}, 120_000);

test.each([
  ["sign on PostgreSQL", { to: "postgres://u@127.0.0.1:1/db", sign: "KEY" }, "sign", /only for a lake/],
  ["sign on an S3 stream", { to: "s3://coll/stream?layout=stream", sign: "KEY" }, "sign", /only for a lake/],
  ["sign on alerts", { rules: "builtin", alert_exec: "true", sign: "KEY" }, "sign", /only for a lake/],
  [
    "tsa without sign",
    { to: "LAKE", tsa: "http://127.0.0.1:1/tsr" },
    "tsa",
    /time-stamps go on digests: give sign too/,
  ],
  ["a missing key", { to: "LAKE", sign: "missing.key" }, "sign", /missing\.key does not exist/],
])(
  "%s: one line naming the key, exit 2",
  async (name, raw, keyName, problem) => {
    const d = Object.fromEntries(
      Object.entries({ id: "d", ...raw }).map(([k, v]) => [
        k,
        v === "KEY" ? key.path : v === "LAKE" ? join(tmp.dir, `refused-${name.replaceAll(" ", "-")}`) : v,
      ]),
    );
    const r = await run(config(`refused-${name.replaceAll(" ", "-")}`, [d]));
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines.length).toBe(1);
    expect(lines[0]).toContain(`destinations[0]`);
    expect(lines[0]).toContain(keyName);
    expect(lines[0]).toMatch(problem);
  },
  60_000,
);
