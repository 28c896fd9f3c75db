/**
 * A client of a running collector's ops listener (/metrics, /readyz; docs/collector.md), for the
 * tests that spawn the bin: its address from the `listening on` line, one metric's values, readiness.
 */
import type { BinProcess } from "./harness.js";

/** The ops listener's base URL, from the collector's `listening on` line. */
export async function opsAddress(p: BinProcess): Promise<string> {
  const line = await p.waitForLine(/listening on http:\/\/\S+/);
  return (/listening on (http:\/\/[^\s]+)/.exec(line) as RegExpExecArray)[1] as string;
}

/** The values of metric `name` whose labels include `labels` (one per series). */
export async function metric(base: string, name: string, labels: Record<string, string>): Promise<number[]> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out: number[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = new Map([...(m[2] as string).matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) out.push(Number(m[3]));
  }
  return out;
}

/** /readyz's status and body (trimmed). */
export async function readyz(base: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`${base}/readyz`);
  return { status: r.status, body: (await r.text()).trim() };
}
