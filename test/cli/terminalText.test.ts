/**
 * Entry text reaching a terminal: the built CLI against the emulator loaded from a data file whose
 * entries hold terminal controls (an OSC retitle, a screen clear, a carriage return, an 8-bit CSI,
 * a bidi override). Every human format shows them escaped, never raw; JSON stays exact.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { EntrySink } from "../../packages/cli/src/cli/output.js";
import { entryToJsonLine } from "../../packages/client/src/codec/index.js";
import {
  terminalSafe,
  terminalSafeJson,
  terminalSafeLines,
} from "../../packages/client/src/domain/terminalText.js";
import { type EmulatorHandle, generateEntries, startEmulator } from "../../packages/emulator/src/index.js";
import { connection, PAT, parseCsv, runCli, runMain, tempDir, USER } from "./helpers.js";

const RETITLE = "\u001b]0;pwned\u0007";
const CLEAR = "\u001b[2J";
const CSI8 = "\u009b31m";
const BIDI = "\u202eevil";
const HOSTILE_USER = `mallory${RETITLE}${CLEAR}`;
const HOSTILE_DESCRIPTION = `fine\rOVERWRITTEN ${CSI8} ${BIDI} \u007f\u0000`;
const HOSTILE_TARGET = `app${CLEAR}`;

/** Any character a terminal would act on, raw (tab and line feed excepted: the outputs' own). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding raw controls is the point
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

let tmp: ReturnType<typeof tempDir>;
let emu: EmulatorHandle;
let conn: string[];
let hostileJson: Record<string, unknown>;

beforeAll(async () => {
  tmp = tempDir();
  const [template] = generateEntries(1, 7);
  const json = JSON.parse(entryToJsonLine(template!)) as Record<string, unknown>;
  json.user = { ...(json.user as object), id: HOSTILE_USER };
  json.description = HOSTILE_DESCRIPTION;
  json.targets = [{ app: { id: HOSTILE_TARGET } }];
  json.source_ip = `10.0.0.1${RETITLE}`;
  hostileJson = json;
  const file = join(tmp.dir, "hostile.jsonl");
  writeFileSync(file, `${JSON.stringify(json)}\n`);
  emu = await startEmulator({ pats: { [PAT]: USER }, dataFiles: [file], dataUserId: USER, restPort: false });
  conn = connection(emu.grpcAddress);
});
afterAll(async () => {
  await emu.close();
  tmp.cleanup();
});

function expectNoRawControls(text: string): void {
  const m = RAW_CONTROL.exec(text);
  expect(m === null ? "none" : `U+${m[0].charCodeAt(0).toString(16).padStart(4, "0")} at ${m.index}`).toBe(
    "none",
  );
}

describe("human formats escape entry text", () => {
  it("search --format table", async () => {
    const r = await runCli(["search", ...conn, "--format", "table"]);
    expect(r.code).toBe(0);
    expectNoRawControls(r.stdout);
    expectNoRawControls(r.stderr);
    // The USER column is 16 wide: the escaped id is cut there.
    expect(r.stdout).toContain("mallory\\x1b]0;p…");
    // White space runs (the \r included) are one space, as before; the rest is escaped.
    expect(r.stdout).toContain("fine OVERWRITTEN \\x9b31m \\u202eevil \\x7f\\x00");
    expect(r.stdout).toContain("app:app\\x1b[2J");
  });

  it("tail --format table", async () => {
    const r = await runCli(["tail", ...conn, "--format", "table", "--from", "2024-12-01T00:00:00Z"]);
    expect(r.code).toBe(0);
    expectNoRawControls(r.stdout);
    expectNoRawControls(r.stderr);
    expect(r.stdout).toContain("mallory\\x1b]0;p…");
  });

  it("watch --format text, and rules test --format text on the same entry", async () => {
    const rules = join(tmp.dir, "rules.yaml");
    writeFileSync(
      rules,
      `rules:\n  - id: per-user\n    title: "activity"\n    severity: low\n    match: {}\n    threshold: { count: 1, within: 1h, by: user_id }\n`,
    );
    const r = await runCli([
      "watch",
      ...conn,
      "--rules",
      rules,
      "--from",
      "2024-12-01T00:00:00Z",
      "--once",
      "--format",
      "text",
      "--dead-letter",
      join(tmp.dir, "dead.jsonl"),
    ]);
    expect(r.code).toBe(0);
    expectNoRawControls(r.stdout);
    expectNoRawControls(r.stderr);
    expect(r.stdout).toContain("group mallory\\x1b]0;pwned\\x07\\x1b[2J");

    const input = join(tmp.dir, "input.jsonl");
    writeFileSync(input, `${JSON.stringify(hostileJson)}\n`);
    const t = await runCli(["rules", "test", "--rules", rules, "--input", input, "--format", "text"]);
    expect(t.code).toBe(0);
    expectNoRawControls(t.stdout);
    expect(t.stdout).toContain("group mallory\\x1b]0;pwned\\x07\\x1b[2J");
  });

  it("error lines that quote user input", async () => {
    const r = await runMain(["search", ...conn, "--format", `x${CLEAR}${RETITLE}`]);
    expect(r.code).toBe(2);
    expectNoRawControls(r.stderr);
    expect(r.stderr).toContain("x\\x1b[2J\\x1b]0;pwned\\x07");
    const u = await runMain(["search", ...conn, "--actor", `u${RETITLE}`, "--from", `bad${CSI8}`]);
    expect(u.code).toBe(2);
    expectNoRawControls(u.stderr);
    expect(u.stderr).toMatch(/^clarifai-audit: error: [^\n]+\n$/);
  });
});

describe("machine formats to a pipe stay exact", () => {
  it("json, jsonl and csv carry the bytes as stored", async () => {
    const jsonl = await runCli(["search", ...conn, "--format", "jsonl"]);
    const back = JSON.parse(jsonl.stdout.trim()) as Record<string, unknown>;
    expect(back).toEqual(hostileJson);
    const json = await runCli(["search", ...conn, "--format", "json"]);
    expect(JSON.parse(json.stdout)).toEqual([hostileJson]);
    // JSON.stringify leaves C1 controls and bidi overrides raw: to a pipe, so do we.
    expect(jsonl.stdout).toContain(CSI8);
    const csv = await runCli(["search", ...conn, "--format", "csv"]);
    expect(parseCsv(csv.stdout)[1]).toContain(HOSTILE_DESCRIPTION);
  });
});

describe("terminalSafe and the sink on a terminal", () => {
  it("escapes C0, DEL, C1, bidi, zero-width and lone surrogates; leaves other text alone", () => {
    expect(terminalSafe(`${RETITLE}${CLEAR}\r\n\t${CSI8}\u007f${BIDI}\u200b\u2066\ufeff\ud800`)).toBe(
      "\\x1b]0;pwned\\x07\\x1b[2J\\r\\n\\t\\x9b31m\\x7f\\u202eevil\\u200b\\u2066\\ufeff\\ud800",
    );
    const plain = "Zoë 日本 😀 C:\\path ‘quotes’ é";
    expect(terminalSafe(plain)).toBe(plain);
    expect(terminalSafeLines(`a${CLEAR}\r\nb\n`)).toBe("a\\x1b[2J\\r\nb\n");
  });

  it("terminalSafeJson keeps the JSON value", () => {
    const value = { s: `${RETITLE}${CSI8}${BIDI}\u007f\u2028` };
    const text = terminalSafeJson(`${JSON.stringify(value)}\n`);
    expectNoRawControls(text);
    expect(JSON.parse(text)).toEqual(value);
  });

  it("json, jsonl and csv written to a TTY are escaped, the JSON value kept", async () => {
    const [entry] = generateEntries(1, 7);
    const hostile = {
      ...entry!,
      description: HOSTILE_DESCRIPTION,
      user: { ...entry!.user!, id: HOSTILE_USER },
    };
    for (const format of ["json", "jsonl", "csv", "table"] as const) {
      const out = Object.assign(new PassThrough(), { isTTY: true });
      let text = "";
      out.setEncoding("utf8").on("data", (d: string) => {
        text += d;
      });
      const sink = new EntrySink(format, out);
      await sink.write([hostile]);
      await sink.end();
      out.end();
      expectNoRawControls(text);
      if (format === "jsonl") expect(JSON.parse(text)).toEqual(JSON.parse(entryToJsonLine(hostile)));
    }
  });
});
