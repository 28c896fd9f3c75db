/**
 * `--pdf`: the report page printed by headless Chromium (Debian's `chromium`, driven by
 * puppeteer-core, which is imported only here and only when a PDF is asked for). The browser gets a
 * fresh profile and no network: every request that is not the page itself or a data: URL is aborted.
 */
import { constants } from "node:fs";
import { access, mkdtemp, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, delimiter, dirname, join } from "node:path";
import { AuditUsageError } from "@clarifai-audit/client/internal/domain/errors.js";
import { checkRegularOrAbsent } from "@clarifai-audit/client/internal/state/outputPath.js";

/** No Chromium to print with: a PDF (`input` "pdf") cannot be made here. */
export class ChromiumMissingError extends AuditUsageError {
  override name = "ChromiumMissingError";

  constructor(problem: string) {
    super({ input: "pdf", problem }, `\`pdf\` ${problem}`);
  }
}

const NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

async function executable(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The Chromium to print with: `CHROMIUM_PATH` when set (and only it), else the first of chromium,
 * chromium-browser, google-chrome on PATH.
 * @throws ChromiumMissingError with a one-line message saying what was looked for.
 */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const explicit = env.CHROMIUM_PATH;
  if (explicit !== undefined && explicit !== "") {
    if (await executable(explicit)) return explicit;
    throw new ChromiumMissingError(
      `needs Chromium: CHROMIUM_PATH=${explicit} is not an executable file (install it with: apt-get install chromium)`,
    );
  }
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    for (const name of NAMES) {
      const path = join(dir, name);
      if (await executable(path)) return path;
    }
  }
  throw new ChromiumMissingError(
    `needs Chromium and none was found (looked for ${NAMES.join(", ")} on PATH; set CHROMIUM_PATH, or install it with: apt-get install chromium)`,
  );
}

/**
 * Chromium's own switches (named without their `--`, so that no string of the library reads as
 * one of clarifai-audit's flags): headless, no sandbox (containers, root), nothing phoning home.
 */
const CHROMIUM_SWITCHES = [
  "headless",
  "no-sandbox",
  "disable-gpu",
  "disable-quic",
  "no-first-run",
  "disable-background-networking",
  "disable-component-update",
  "disable-sync",
];

/** The command line the browser runs with: {@link CHROMIUM_SWITCHES} and a fresh profile. */
export function chromiumArgs(userDataDir: string): string[] {
  return [...CHROMIUM_SWITCHES, `user-data-dir=${userDataDir}`].map((name) => `--${name}`);
}

/**
 * Prints `html` (a self-contained page) to `pdfPath`, A4 with page numbers, written atomically.
 * @returns how many requests the page tried to make beyond itself (0 for a self-contained page).
 */
export async function printPdf(
  html: string,
  pdfPath: string,
  chromium: string,
  title: string,
): Promise<number> {
  const { launch } = await import("puppeteer-core");
  const profile = await mkdtemp(join(tmpdir(), "clarifai-audit-chromium-"));
  const tmp = join(dirname(pdfPath), `.${basename(pdfPath)}.${process.pid}.tmp`);
  let blocked = 0;
  const browser = await launch({
    executablePath: chromium,
    headless: true,
    args: chromiumArgs(profile),
    // Puppeteer's own defaults add flags of their own; ours are the whole list.
    ignoreDefaultArgs: true,
    timeout: 60_000,
    protocolTimeout: 120_000,
  });
  try {
    const page = await browser.newPage();
    await page.setRequestInterception(true);
    page.on("request", (request) => {
      const url = request.url();
      if (url.startsWith("data:") || url === "about:blank") void request.continue();
      else {
        blocked++;
        void request.abort();
      }
    });
    await page.setContent(html, { waitUntil: "load" });
    await page.pdf({
      path: tmp,
      format: "A4",
      printBackground: true,
      margin: { top: "14mm", bottom: "16mm", left: "12mm", right: "12mm" },
      displayHeaderFooter: true,
      headerTemplate: "<span></span>",
      footerTemplate: `<div style="font-size:8px;width:100%;padding:0 12mm;color:#666;font-family:Helvetica,Arial,sans-serif;display:flex;justify-content:space-between"><span>${escapeForTemplate(title)}</span><span>page <span class="pageNumber"></span> of <span class="totalPages"></span></span></div>`,
    });
    // Checked before the run (reportCommand); again here, as a FIFO or link may have appeared since.
    await checkRegularOrAbsent("pdf", pdfPath);
    await rename(tmp, pdfPath);
  } finally {
    await browser.close().catch(() => undefined);
    await rm(tmp, { force: true });
    await rm(profile, { recursive: true, force: true });
  }
  return blocked;
}

function escapeForTemplate(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
