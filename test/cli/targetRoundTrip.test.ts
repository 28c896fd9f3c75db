/**
 * Every target form the CLI prints is accepted back by `--target` and finds exactly the entry it was
 * printed from, for every target kind of the API (iterated from domain/targets.ts's one table).
 * The emulator holds, per kind, an entry shaped as Clarifai records it (the target with its app and
 * parent as targets of their own beside it: `model {id, app_id: ""}` + `app {id}`), one with the
 * scope on the target itself, and a decoy: the same target in another app or parent, which the
 * scope must exclude.
 */

import { AuditLogEntry } from "../../packages/client/generated/proto/clarifai/api/resources.js";
import { camelToSnake } from "../../packages/client/src/domain/caseNames.js";
import {
  parseTarget,
  TARGET_KIND_TABLE,
  TARGET_KINDS,
  type TargetKind,
} from "../../packages/client/src/domain/targets.js";
import { parseTargetText } from "../../packages/client/src/domain/targetText.js";
import { CSV_COLUMNS } from "../../packages/client/src/export/formats.js";
import { type EmulatorHandle, startEmulator } from "../../packages/emulator/src/index.js";
import { cliEnv, connection, PAT, parseCsv, runMain, USER } from "./helpers.js";

type Json = Record<string, unknown>;

/** The sibling targets that scope a kind, as Clarifai records them (its app, its parent, …). */
function siblingsOf(kind: TargetKind, n: number, tag: string): Json[] {
  const spec = TARGET_KIND_TABLE[kind];
  const out: Json[] = [];
  if (spec.fields.includes("appId")) out.push({ app: { id: `a${n}${tag}` } });
  if (spec.parentKind !== undefined) out.push({ [spec.parentKind]: { id: `p${n}${tag}` } });
  for (const d of spec.determines ?? []) out.push({ [d]: { id: `d${n}${tag}` } });
  return out;
}

/** The main target: its scope fields empty (as Clarifai records it) or filled from the siblings. */
function mainTarget(kind: TargetKind, n: number, id: string, filled: boolean): Json {
  const spec = TARGET_KIND_TABLE[kind];
  const fields: Json = { id };
  if (filled && spec.fields.includes("appId")) fields.appId = `a${n}`;
  if (filled && spec.parent !== undefined)
    fields[spec.parent] = kind === "nodepool" ? { id: `p${n}` } : `p${n}`;
  return { [kind]: fields };
}

interface Case {
  kind: TargetKind;
  /** The entry's description: how a test finds its printed row. */
  label: string;
  scoped: boolean;
}

const cases: Case[] = [];
const entries: AuditLogEntry[] = [];
let second = 1_736_000_000;
function add(targets: Json[], label: string): void {
  entries.push(
    AuditLogEntry.fromPartial({
      timestamp: { seconds: second++, nanos: 0 },
      user: { id: "alice" },
      operation: 300,
      description: label,
      targets: targets as AuditLogEntry["targets"],
      success: true,
      reqId: label,
      sourceIp: "10.0.0.1",
    }),
  );
}
TARGET_KINDS.forEach((kind, n) => {
  const sib = siblingsOf(kind, n, "");
  const scoped = sib.length > 0;
  add([mainTarget(kind, n, `v${n}`, false), ...sib], `${kind}-recorded`);
  cases.push({ kind, label: `${kind}-recorded`, scoped });
  if (!scoped) return;
  add([mainTarget(kind, n, `w${n}`, true), ...sib], `${kind}-filled`);
  cases.push({ kind, label: `${kind}-filled`, scoped });
  // Decoys: the same targets in another app or parent.
  add([mainTarget(kind, n, `v${n}`, false), ...siblingsOf(kind, n, "x")], `${kind}-decoy`);
  add([{ ...mainTarget(kind, n, `w${n}`, false) }, ...siblingsOf(kind, n, "x")], `${kind}-decoy2`);
});

let emu: EmulatorHandle;
let conn: string[];
beforeAll(async () => {
  emu = await startEmulator({ pats: { [PAT]: USER }, entries, restPort: false });
  conn = connection(emu.grpcAddress);
});
afterAll(async () => {
  await emu.close();
});

async function search(args: string[]): Promise<string> {
  const r = await runMain(["search", ...conn, "--all", "--asc", "-q", ...args], cliEnv());
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  return r.stdout;
}

/** The description of every entry a `--target` finds, as jsonl tells them. */
async function found(target: string): Promise<string[]> {
  const out = await search(["--format", "jsonl", "--target", target]);
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => (JSON.parse(l) as Json).description as string);
}

/** What each format printed for each entry: csv's targets column, jsonl's targets array, table's TARGETS cell. */
const printed = new Map<string, { csv: string; json: string; table: string }>();
beforeAll(async () => {
  const csv = parseCsv(await search(["--format", "csv"])) as string[][];
  const col = (name: string) => CSV_COLUMNS.indexOf(name as (typeof CSV_COLUMNS)[number]);
  const jsonl = (await search(["--format", "jsonl"])).split("\n").filter((l) => l !== "");
  const table = (await search(["--format", "table"])).split("\n").slice(1);
  for (const [i, row] of csv.slice(1).entries()) {
    const label = row[col("description")] as string;
    const cells = (table[i] as string).split(/ {2,}/);
    expect(cells[5]).toBe(label);
    printed.set(label, {
      csv: row[col("targets")] as string,
      json: JSON.stringify((JSON.parse(jsonl[i] as string) as Json).targets),
      table: cells[4] as string,
    });
  }
});

describe("--target takes back what search printed", () => {
  it.each(cases.map((c) => [c.label, c] as const))("%s", async (label, c) => {
    const p = printed.get(label);
    expect(p).toBeDefined();
    const { csv, json, table } = p as { csv: string; json: string; table: string };
    // The table cuts a cell at 40 columns (for people, not for parsing): the recorded shape fits.
    const forms = [csv, json, ...(table.endsWith("…") ? [] : [table])];
    if (label.endsWith("-recorded")) expect(forms).toContain(table);
    expect(csv).toContain(`${camelToSnake(c.kind)}:`);
    for (const form of forms) expect(await found(form)).toEqual([label]);
    if (c.scoped) {
      // Without its scope the target is also the decoy's: the scope is what makes it exact.
      const id = label.endsWith("-recorded") ? "v" : "w";
      const bare = `${camelToSnake(c.kind)}=${id}${TARGET_KINDS.indexOf(c.kind)}`;
      expect((await found(bare)).sort()).toEqual([label, `${c.kind}-decoy${id === "v" ? "" : "2"}`].sort());
    }
  });
  it("covers every kind", () => {
    expect(new Set(cases.map((c) => c.kind))).toEqual(new Set(TARGET_KINDS));
    // The example: the printed form and the path form are the same filter.
    expect(parseTarget(parseTargetText("model:dogs-vs-cats;app:testapp1"), "t")).toEqual(
      parseTarget(parseTargetText("model=testapp1/dogs-vs-cats"), "t"),
    );
  });
});

describe("printed forms that are one filter, and those that are not", () => {
  it.each([
    ["model=m1", { model: "m1" }],
    ["model:app1/m1", { model: { id: "m1", appId: "app1" } }],
    ["model:m1;app:app1", { model: { id: "m1", appId: "app1" } }],
    ["app:app1, model:m1", { model: { id: "m1", appId: "app1" } }],
    ["model=m1 app=app1", { model: { id: "m1", appId: "app1" } }],
    ["module_version:a1/v1", { moduleVersion: { id: "v1", appId: "a1" } }],
    ["workflow:wf;workflow_version:v;app:a", { workflowVersion: { id: "v", workflowId: "wf", appId: "a" } }],
    ["model:m1;model_version:v1;app:a1", { modelVersion: { id: "v1", appId: "a1" } }],
    ["nodepool:np;compute_cluster:cc", { nodepool: { id: "np", computeClusterId: "cc" } }],
    ['{"model":{"id":"m1","app_id":"","toolkits":[]}}', { model: "m1" }],
    ['[{"team":{"id":"t1","name":"Team one"}}]', { team: "t1" }],
    [
      '{"nodepool":{"id":"np","compute_cluster":{"id":"cc"}}}',
      { nodepool: { id: "np", computeClusterId: "cc" } },
    ],
  ])("%s", (text, target) => expect(parseTargetText(text)).toEqual(target));
  it.each([
    ["team:t1;user:u1", /names 2 resources \(team:t1, user:u1\)/],
    ["model:a1/m1;app:a2", /model:a1\/m1 is in app a1, not a2/],
    ["app:a1;app:a2", /names 2 resources/],
    ["model=my model", /"model=my model": an id has no whitespace/],
    ["", /names no target/],
    ["{not json", /is not JSON/],
    ['{"model":{"app_id":"a"}}', /has no "id"/],
  ])("refuses %j", (text, why) => expect(() => parseTargetText(text)).toThrow(why));
  it("the refusal is one line naming --target, before any request", async () => {
    const r = await runMain(["search", ...conn, "--target", "team:t1;user:u1"], cliEnv());
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/--target.*names 2 resources/);
  });
});

describe("the emulator matches a scope recorded as a sibling target", () => {
  it("model=a/m finds the model recorded beside its app, not the same model in another app", async () => {
    const n = TARGET_KINDS.indexOf("model");
    expect(await found(`model=a${n}/v${n}`)).toEqual(["model-recorded"]);
    expect(await found(`model=a${n}x/v${n}`)).toEqual(["model-decoy"]);
    expect(await found(`model=nowhere/v${n}`)).toEqual([]);
  });
});
