/**
 * Part 4: the emulator's server-side time to serve one page from a large log: the search service
 * (auth, query compile, index scan, page cut) plus the response serialization, called directly
 * in-process so that no transport time is counted.
 */

import { performance } from "node:perf_hooks";
import { PostAuditLogSearchesRequest } from "@clarifai-audit/client/internal/generated/proto/clarifai/api/service.js";
import { AuditLog, serializePreparedResponse } from "@clarifai-audit/emulator";
import { FaultController } from "@clarifai-audit/emulator/internal/faults.js";
import { generateEntryStream } from "@clarifai-audit/emulator/internal/generate.js";
import { SearchService } from "@clarifai-audit/emulator/internal/searchService.js";
import { median } from "./measure.js";

export interface ServeResult {
  name: string;
  entries: number;
  /** Median microseconds per call (service + serialization). */
  usPerPage: number;
  /** Response size in bytes. */
  bytes: number;
}

export async function emulatorBench(
  logSize: number,
  reps: number,
): Promise<{ logSize: number; buildSeconds: number; results: ServeResult[] }> {
  const t0 = performance.now();
  const log = new AuditLog();
  log.add(generateEntryStream(logSize, 1));
  const buildSeconds = (performance.now() - t0) / 1000;
  const service = new SearchService(
    { "emulator-pat": "emulator-user" },
    new Map([["emulator-user", log]]),
    new FaultController(),
  );
  const lastPage = Math.ceil(logSize / 1000);
  const cases: Array<{ name: string; req: object }> = [
    { name: "page 1 (newest 1000)", req: { pagination: { page: 1, perPage: 1000 } } },
    {
      name: `middle page ${Math.ceil(lastPage / 2)}`,
      req: { pagination: { page: Math.ceil(lastPage / 2), perPage: 1000 } },
    },
    { name: `last page ${lastPage}`, req: { pagination: { page: lastPage, perPage: 1000 } } },
    { name: "ascending page 1", req: { sortAscending: true, pagination: { page: 1, perPage: 1000 } } },
    {
      name: "operation filter (MODEL_CREATE), page 1",
      req: { query: { operations: [300] }, pagination: { page: 1, perPage: 1000 } },
    },
    { name: "empty page (beyond the end)", req: { pagination: { page: lastPage + 10, perPage: 1000 } } },
  ];
  const results: ServeResult[] = [];
  for (const c of cases) {
    const req = PostAuditLogSearchesRequest.fromPartial({ userAppId: { userId: "emulator-user" }, ...c.req });
    const samples: number[] = [];
    let entries = 0;
    let bytes = 0;
    for (let i = 0; i < reps + 2; i++) {
      const s = performance.now();
      const out = await service.search(req, "Key emulator-pat");
      if (out.kind !== "reply") throw new Error(`emulator bench: unexpected ${out.kind}`);
      const buf = serializePreparedResponse(out.response);
      const us = (performance.now() - s) * 1000;
      if (i >= 2) samples.push(us);
      entries = out.response.entries.length;
      bytes = buf.length;
    }
    results.push({ name: c.name, entries, usPerPage: median(samples), bytes });
  }
  return { logSize, buildSeconds, results };
}
