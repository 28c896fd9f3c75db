/**
 * `clarifai-audit report` end to end: exports made by the built CLI from the emulator, reported by
 * the built CLI, and the page opened in a real headless Chromium with the network cut (every request
 * that is not the file itself or a data: URL is aborted and counted). The totals on the page are
 * checked against counts made here from the exported lines; the PDF is read back with pdftotext.
 * A screenshot of each page opened is saved beside the test's output, which is kept (and its path
 * printed) when a test fails.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { type Browser, launch } from "puppeteer-core";
import { chromiumArgs } from "../../packages/cli/src/report/pdf.js";
import { operationName } from "../../packages/client/src/domain/operations.js";
import { fileLines, type GeneratedEmulator, runCli, runMain, startGeneratedEmulator } from "./helpers.js";

const COUNT = 3000;
let generated: GeneratedEmulator;
let browser: Browser;
let out: string;
let jsonl: string;
let profile: string;
let failed = false;
let passed = false;

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), "clarifai-audit-report-"));
  profile = mkdtempSync(join(tmpdir(), "clarifai-audit-report-profile-"));
  generated = await startGeneratedEmulator(COUNT, 16);
  jsonl = join(out, "export.jsonl");
  const [a, b] = await Promise.all([
    runCli(["export", ...generated.conn, "--out", jsonl, "--settle", "0", "--quiet"]),
    runCli(["export", ...generated.conn, "--out", join(out, "export.json.gz"), "--settle", "0", "--quiet"]),
  ]);
  expect([a.code, b.code, a.stderr]).toEqual([0, 0, ""]);
  browser = await launch({
    executablePath: process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    headless: true,
    ignoreDefaultArgs: true,
    args: chromiumArgs(profile),
  });
});
afterAll(async () => {
  await browser?.close();
  await generated?.close();
  rmSync(profile, { recursive: true, force: true });
  if (failed) process.stderr.write(`report test output kept in ${out}\n`);
  else rmSync(out, { recursive: true, force: true });
});
beforeEach(() => {
  passed = false;
});
afterEach(() => {
  if (!passed) failed = true;
});

/** Counts made here, independently of src/report, from the exported JSON lines. */
function expectedTotals(lines: string[]) {
  const es = lines.map(
    (l) =>
      JSON.parse(l) as { user?: { id?: string }; operation?: number; success?: boolean; source_ip?: string },
  );
  const name = (e: (typeof es)[number]) => operationName(e.operation ?? 0);
  const fmt = (n: number) => n.toLocaleString("en-US");
  return {
    entries: fmt(es.length),
    users: fmt(new Set(es.map((e) => e.user?.id).filter((u) => u)).size),
    failed: fmt(es.filter((e) => e.success !== true).length),
    deletions: fmt(es.filter((e) => name(e).endsWith("_DELETE")).length),
    membership: fmt(
      es.filter((e) => {
        const c = e.operation ?? 0;
        return (c >= 100 && c <= 106) || c === 110 || c === 111 || (c >= 700 && c <= 702);
      }).length,
    ),
    "source-ips": fmt(new Set(es.map((e) => e.source_ip).filter((u) => u)).size),
  };
}

interface Opened {
  totals: Record<string, string>;
  svgs: number;
  marks: number;
  activityTotal: number;
  text: string;
  blocked: string[];
  errors: string[];
  scripts: number;
  pwned: unknown;
  injected: number;
}

/** What a test reads from the page, computed in the page. */
const PAGE_FACTS = `(() => {
  const totals = {};
  for (const el of document.querySelectorAll("[id^=total-]")) totals[el.id.slice(6)] = el.textContent;
  const rows = [...document.querySelectorAll("#activity details:first-of-type tbody tr")];
  const activityTotal = rows.reduce((a, r) => a + Number(r.lastElementChild.textContent.replace(/,/g, "")), 0);
  return {
    totals,
    svgs: document.querySelectorAll("figure > svg").length,
    marks: document.querySelectorAll("figure svg .mark-rect path, figure svg .mark-rect rect").length,
    activityTotal,
    text: document.body.textContent,
    scripts: document.querySelectorAll("script").length,
    pwned: window.__pwned,
    injected: document.querySelectorAll("#injected, b.injected").length,
  };
})()`;

/** Opens a report offline, checks nothing was fetched, and saves a screenshot beside it. */
async function open(html: string): Promise<Opened> {
  const page = await browser.newPage();
  const blocked: string[] = [];
  const errors: string[] = [];
  try {
    await page.setViewport({ width: 1100, height: 1800 });
    await page.setRequestInterception(true);
    page.on("request", (request) => {
      const url = request.url();
      if (url.startsWith("file:") || url.startsWith("data:")) void request.continue();
      else {
        blocked.push(url);
        void request.abort();
      }
    });
    page.on("console", (m) => {
      if (m.type() === "error") errors.push(m.text());
    });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("requestfailed", (r) => {
      if (!blocked.includes(r.url())) errors.push(`failed request ${r.url()}`);
    });
    await page.goto(pathToFileURL(html).href, { waitUntil: "load" });
    const shot = `${html}.png`;
    await page.screenshot({ path: shot as `${string}.png` });
    process.stdout.write(`screenshot: ${shot}\n`);
    // A string, run in the page: this project's TypeScript has no DOM library.
    const inPage = (await page.evaluate(PAGE_FACTS)) as Omit<Opened, "blocked" | "errors">;
    return { ...inPage, blocked, errors };
  } finally {
    await page.close();
  }
}

/** Clicks the page's download link of `name` and returns the file Chromium saved. */
async function download(html: string, name: string): Promise<string> {
  const dir = mkdtempSync(join(out, "download-"));
  const page = await browser.newPage();
  try {
    const cdp = await page.createCDPSession();
    await cdp.send("Browser.setDownloadBehavior", {
      behavior: "allow",
      downloadPath: dir,
      eventsEnabled: true,
    });
    const done = new Promise<void>((resolve) =>
      cdp.on("Browser.downloadProgress", (e: { state: string }) => {
        if (e.state === "completed") resolve();
      }),
    );
    await page.goto(pathToFileURL(html).href, { waitUntil: "load" });
    await page.click(`a[download="${name}"]`);
    await done;
    return readFileSync(join(dir, name), "utf8");
  } finally {
    await page.close();
  }
}

it("reports a JSONL export: totals equal to a count of the file, five charts, nothing fetched", async () => {
  const html = join(out, "report.html");
  const r = await runCli(["report", "--input", jsonl, "--out", html, "--title", "Quarterly review"]);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(
    /^report: 3,000 entries from \S+ to \S+; .* → .*report\.html \((\d+ KiB|[\d.]+ MiB)\)\n$/,
  );
  const page = await open(html);
  expect(page.blocked).toEqual([]);
  expect(page.errors).toEqual([]);
  expect(page.scripts).toBe(0);
  expect(page.totals).toEqual(expectedTotals(fileLines(jsonl)));
  expect(page.svgs).toBe(5);
  expect(page.marks).toBeGreaterThan(20);
  expect(page.activityTotal).toBe(COUNT);
  expect(page.text).toContain("Quarterly review");
  for (const heading of [
    "Deletions",
    "Membership and collaborator changes",
    "Failed operations",
    "First-seen source IPs per user",
  ]) {
    expect(page.text).toContain(heading);
  }
  // Exact timestamps: the earliest entry's, as exported, digit for digit.
  const first = JSON.parse(fileLines(jsonl)[0] as string).timestamp as string;
  expect(page.text).toContain(first);
  // The cut deletions table's full list downloads from the page (its CSP allows no fetch, a data: download yes).
  const deletions = fileLines(jsonl).filter((l) =>
    operationName(JSON.parse(l).operation ?? 0).endsWith("_DELETE"),
  );
  expect(page.text).toContain(`all ${deletions.length.toLocaleString("en-US")} are in deletions.csv`);
  const csv = await download(html, "deletions.csv");
  // One header line, then one record per deletion (each ends with its request id).
  const reqIds = deletions.map((l) => JSON.parse(l).req_id as string);
  expect(reqIds.every((id) => csv.includes(`,${id}\n`))).toBe(true);
  expect(csv.startsWith("timestamp,user_id,operation,")).toBe(true);
  passed = true;
});

it("reports a live window through the export engine, with its filters on the page", async () => {
  const lines = fileLines(jsonl);
  const user = (JSON.parse(lines[0] as string) as { user: { id: string } }).user.id;
  const mine = lines.filter((l) => (JSON.parse(l) as { user?: { id?: string } }).user?.id === user);
  const html = join(out, "live.html");
  const r = await runCli(["report", ...generated.conn, "--settle", "0", "--actor", user, "--out", html]);
  expect(r.code).toBe(0);
  expect(r.stderr).toMatch(/^reporting on the window from \S+ to \S+ \(UTC\)\nreport: /);
  const page = await open(html);
  expect(page.errors).toEqual([]);
  expect(page.blocked).toEqual([]);
  expect(page.totals).toEqual(expectedTotals(mine));
  expect(page.totals.users).toBe("1");
  expect(page.text).toContain(`--actor ${user}`);
  expect(page.text).toMatch(/Window\S* to \S+ \(UTC\)/);
  passed = true;
});

it("reports the gzipped JSON export alike, and prints it to PDF", async () => {
  const html = join(out, "from-json.html");
  const pdf = join(out, "report.pdf");
  const r = await runCli([
    "report",
    "--input",
    join(out, "export.json.gz"),
    "--out",
    html,
    "--pdf",
    pdf,
    "--title",
    "Audit for the board",
  ]);
  expect(r.stderr).toMatch(
    /→ .*from-json\.html \((\d+ KiB|[\d.]+ MiB)\) and .*report\.pdf \((\d+ KiB|[\d.]+ MiB)\) with \d CSV files beside it\n$/,
  );
  expect(r.code).toBe(0);
  const page = await open(html);
  expect(page.totals).toEqual(expectedTotals(fileLines(jsonl)));
  expect(page.errors).toEqual([]);
  const text = execFileSync("pdftotext", ["-layout", pdf, "-"], { encoding: "utf8" });
  const totals = expectedTotals(fileLines(jsonl));
  expect(text).toContain("Audit for the board");
  expect(text).toContain("Totals");
  expect(text).toContain(totals.entries);
  expect(text).toContain(totals.failed);
  expect(text).toMatch(/page 1 of \d+/);
  // The PDF carries the exact counts (the tables the page folds under each chart).
  expect(text).toContain("Exact counts per weekday and hour");
  expect(text).toMatch(/Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday/);
  // The tables the PDF cuts short: their full lists are CSV files beside it, named where they are cut.
  const deletions = readFileSync(join(out, "report.deletions.csv"), "utf8");
  expect(deletions.split("\n")[0]).toBe(
    "timestamp,user_id,operation,description,targets,details,success,source_ip,req_id",
  );
  expect(text.replace(/\s+/g, " ")).toMatch(
    /all ([\d,]+) are in report\.deletions\.csv \(CSV, \1 rows, beside this PDF\)/,
  );
  expect(text).not.toContain("the export holds every one");
  passed = true;
});

it("escapes every string from the data: markup in ids, descriptions, details and IPs stays text", async () => {
  const base = JSON.parse(fileLines(jsonl)[0] as string);
  const evil = [
    {
      ...base,
      user: { id: "<script>window.__pwned=1</script>" },
      operation: 302,
      success: false,
      description: '<img src="http://example.invalid/x.png" onerror="window.__pwned=2">',
      details: ['</td></tr></table><h1 id="injected">x</h1>'],
      source_ip: '"><b class="injected">ip</b>',
      targets: [{ model: { id: "<b class='injected'>m</b>", app_id: "a&b" } }],
    },
    { ...base, timestamp: "2025-01-01T00:00:00.000000001Z", operation: 700 },
  ];
  const input = join(out, "evil.jsonl");
  writeFileSync(input, `${evil.map((e) => JSON.stringify(e)).join("\n")}\n`);
  const html = join(out, "evil.html");
  const r = await runCli(["report", "--input", input, "--out", html, "--title", "<i id='injected'>T</i>"]);
  expect(r.code).toBe(0);
  const page = await open(html);
  expect(page.blocked).toEqual([]);
  expect(page.errors).toEqual([]);
  expect(page.scripts).toBe(0);
  expect(page.pwned).toBeUndefined();
  expect(page.injected).toBe(0);
  expect(page.text).toContain("<script>window.__pwned=1</script>");
  expect(page.text).toContain('</td></tr></table><h1 id="injected">x</h1>');
  expect(page.text).toContain("model:a&b/<b class='injected'>m</b>");
  // Nanoseconds survive.
  expect(page.text).toContain("2025-01-01T00:00:00.000000001Z");
  const source = readFileSync(html, "utf8");
  expect(source).not.toContain("<script");
  passed = true;
});

it("an empty export gives a report that says so", async () => {
  const input = join(out, "empty.jsonl");
  writeFileSync(input, "");
  const html = join(out, "empty.html");
  const r = await runCli(["report", "--input", input, "--out", html]);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe(
    `report: 0 entries (no entries: the report says so); 0 failed, 0 deletions, 0 users → ${html} (5 KiB)\n`,
  );
  const page = await open(html);
  expect(page.errors).toEqual([]);
  expect(page.text).toContain("No entries in this window");
  expect(page.totals.entries).toBe("0");
  // A live window that matches nothing: the same report, with the window and filter it covered.
  const live = join(out, "empty-live.html");
  const l = await runCli([
    "report",
    ...generated.conn,
    "--settle",
    "0",
    "--actor",
    "nobody",
    "--out",
    live,
    "-q",
  ]);
  expect([l.code, l.stderr]).toEqual([0, ""]);
  const livePage = await open(live);
  expect(livePage.errors).toEqual([]);
  expect(livePage.text).toContain("No entries in this window");
  expect(livePage.text).toContain("--actor nobody");
  passed = true;
});

it("bad input: one line, exit 2, nothing written", async () => {
  const notExport = join(out, "notes.jsonl");
  writeFileSync(notExport, `${fileLines(jsonl).slice(0, 2).join("\n")}\n{"hello":"world"}\n`);
  const csv = join(out, "export.csv");
  writeFileSync(csv, "timestamp,operation,operation_name,user_id\n");
  const html = join(out, "never.html");
  const cases: [string[], RegExp, Record<string, string>?][] = [
    [["--input", join(out, "missing.jsonl")], /^--input: cannot read .*missing\.jsonl \(no such file\)$/],
    [
      ["--input", notExport],
      /^--input: .*notes\.jsonl: line 3: not an audit-log entry: unknown field "hello"/,
    ],
    [["--input", csv], /^--input: .*export\.csv: line 1: a CSV export; report reads JSONL or JSON exports/],
    [["--input", jsonl, "--title", " "], /^--title: must not be empty$/],
    [["--input", jsonl, "--actor", "x"], /^--actor: filters and connection flags select a live window/],
    [
      ["--input", jsonl, "--pdf", join(out, "x.pdf")],
      /^--pdf needs Chromium: CHROMIUM_PATH=\/nonexistent\/chromium is not an executable file/,
      { CHROMIUM_PATH: "/nonexistent/chromium" },
    ],
  ];
  const results = await Promise.all(
    cases.map(([args, , env]) =>
      runCli(["report", ...args, "--out", html], {
        PATH: process.env.PATH,
        ...(env ?? {}),
      }),
    ),
  );
  results.forEach((r, i) => {
    const [, pattern] = cases[i] as (typeof cases)[number];
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")).toHaveLength(2);
    expect(r.stderr.replace(/^clarifai-audit: error: /, "").trimEnd()).toMatch(pattern);
  });
  expect(existsSync(html)).toBe(false);
  const noDir = await runMain(["report", "--input", jsonl, "--out", join(out, "no", "such", "r.html")]);
  expect(noDir.code).toBe(2);
  expect(noDir.stderr).toMatch(
    /^clarifai-audit: error: --out: the folder .* does not exist; create it first\n$/,
  );
  passed = true;
});
