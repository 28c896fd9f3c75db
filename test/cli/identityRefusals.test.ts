/**
 * Refusals of state written for another identity name the fields that differ, with both values,
 * through one function (packages/client/src/export/identity.ts): in library words (field names in
 * backticks) and, on the command line, in flags (renderError.ts maps them). `sync` to a lake and
 * `watch` with a checkpoint run in-process against the emulator on an ephemeral port.
 */
import { join } from "node:path";
import { FLAG_OF_OPTION } from "../../packages/cli/src/cli/renderError.js";
import { writeWatchCheckpoint } from "../../packages/cli/src/watch/checkpoint.js";
import {
  identityDifferences,
  identityMismatch,
  identityTextMismatch,
  resumeIdentity,
} from "../../packages/client/src/export/identity.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { connection, PAT, runMain, tempDir, USER } from "./helpers.js";

describe("the one identity diff", () => {
  const log = { userId: "demo-user", endpoint: "127.0.0.1:50051" };
  it("lists each differing field by its innermost name, nested filters field by field", () => {
    expect(
      identityDifferences(
        { ...log, query: { operations: ["MODEL_CREATE"], success: true }, from: null },
        { ...log, query: { operations: ["MODEL_DELETE"], sourceIps: ["::1"] } },
      ),
    ).toEqual([
      { field: "operations", held: ["MODEL_CREATE"], wanted: ["MODEL_DELETE"] },
      { field: "success", held: true, wanted: undefined },
      { field: "sourceIps", held: undefined, wanted: ["::1"] },
    ]);
    // A null is an absent field; equal identities have no difference.
    expect(identityDifferences({ ...log, from: null }, { ...log })).toEqual([]);
  });
  it("says the issue's sentence: both values of what differs, and that the rest match", () => {
    const held = resumeIdentity(log, { query: { operations: ["MODEL_CREATE"] } });
    const wanted = resumeIdentity(log, { query: { operations: ["MODEL_DELETE"] } });
    expect(
      identityMismatch({ place: "./lake", held, wanted, reader: "this sync", remedy: "use another `store`" }),
    ).toBe(
      "./lake holds the log of user demo-user at 127.0.0.1:50051 with `operations` MODEL_CREATE; " +
        "this sync asks for `operations` MODEL_DELETE (the other fields match); use another `store`",
    );
  });
  it("shows values as the flags take them: operation names, printed targets, durations, the outcome", () => {
    const text = identityMismatch({
      place: "p",
      held: {
        ...log,
        filters: { operations: [300], targets: [{ model: { id: "m1", appId: "a1" } }], success: false },
        lookbackMs: 600_000,
      },
      wanted: { ...log, endpoint: "other:443", filters: {}, lookbackMs: 3_600_000 },
      reader: "this export",
      remedy: "r",
    });
    expect(text).toBe(
      "p holds the log of user demo-user at 127.0.0.1:50051 with `operations` MODEL_CREATE, `targets` model:a1/m1, failures only, `lookbackMs` 10m; " +
        "this export asks for `endpoint` other:443, no `operations`, no `targets`, successes and failures, `lookbackMs` 1h (the other fields match); r",
    );
  });
  it("reads identities kept as JSON text, and quotes a text that is not one whole", () => {
    const base = { place: "c.json", reader: "this tail", remedy: "r" };
    expect(
      identityTextMismatch({
        ...base,
        held: JSON.stringify(log),
        wanted: JSON.stringify({ ...log, userId: "u2" }),
      }),
    ).toBe(
      "c.json holds the log of user demo-user at 127.0.0.1:50051; this tail asks for `userId` u2 (the other fields match); r",
    );
    expect(identityTextMismatch({ ...base, held: "q1", wanted: "q2" })).toBe(
      "c.json was written for another query (q1); r",
    );
  });
});

describe("on the command line", () => {
  let emu: EmulatorHandle;
  let tmp: ReturnType<typeof tempDir>;
  beforeAll(async () => {
    tmp = tempDir();
    emu = await startEmulator({ pats: { [PAT]: USER }, entries: generateEntries(200, 5), restPort: false });
  });
  afterAll(async () => {
    await emu.close();
    tmp.cleanup();
  });

  it("sync names the filter a lake was synced with and the one asked for", async () => {
    const lake = join(tmp.dir, "lake");
    const sync = (op: string) =>
      runMain([
        "sync",
        ...connection(emu.grpcAddress),
        "--to",
        lake,
        "--operation",
        op,
        "--settle",
        "0s",
        "-q",
      ]);
    expect((await sync("MODEL_CREATE")).code).toBe(0);
    const r = await sync("MODEL_DELETE");
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
    // The destination's flag as renderError.ts names it (one place: a rename of --to changes it there);
    // the error is the last line (a renamed flag's deprecation notice may come first).
    const dest = FLAG_OF_OPTION.store;
    expect(r.stderr.trimEnd().split("\n").pop()).toBe(
      `clarifai-audit: error: ${dest}: ${join(lake, "_clarifai_sync.json")} holds the log of user ${USER} at ${emu.grpcAddress} ` +
        "with --operation MODEL_CREATE; this sync asks for --operation MODEL_DELETE (the other fields match); " +
        `use another ${dest}, or the same filters`,
    );
  }, 60_000);

  it("watch names the lookback its checkpoint was written with", async () => {
    const checkpoint = join(tmp.dir, "watch.checkpoint.json");
    const log = { userId: USER, endpoint: emu.grpcAddress };
    const start = { seconds: 1_736_000_000, nanos: 0 };
    await writeWatchCheckpoint(checkpoint, JSON.stringify(resumeIdentity(log, { lookbackMs: 600_000 })), {
      poll: { start, position: start, seen: new Map() },
      rules: {},
      outbox: [],
    });
    const calls = emu.calls;
    const r = await runMain([
      "watch",
      ...connection(emu.grpcAddress),
      "--rules",
      "builtin",
      "--checkpoint",
      checkpoint,
      "--lookback",
      "1h",
      "--once",
    ]);
    expect({ code: r.code, stdout: r.stdout }).toEqual({ code: 2, stdout: "" });
    expect(r.stderr).toBe(
      `clarifai-audit: error: --checkpoint: ${checkpoint} holds the log of user ${USER} at ${emu.grpcAddress} ` +
        "with --lookback 10m; this watch asks for --lookback 1h (the other fields match); use the same options, or another --checkpoint\n",
    );
    expect(emu.calls).toBe(calls);
  });
});
