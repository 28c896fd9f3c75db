import fc from "fast-check";
import { fastMessageDesc } from "../../src/fast/descriptors.js";
import { auditLogEntryBytesToJson, transcodeStats } from "../../src/fast/jsonTranscoder.js";
import { WireArbitraries } from "./wireArbitrary.js";

it("probe", () => {
  for (const [depth, sparse] of [
    [3, 1],
    [4, 1],
    [3, 2],
  ]) {
    const arbs = new WireArbitraries({ depth, wild: false, sparse });
    const before = { ...transcodeStats };
    const t0 = Date.now();
    const samples = fc.sample(arbs.bytes(fastMessageDesc("clarifai.api.AuditLogEntry")), 200);
    let total = 0,
      max = 0;
    for (const b of samples) {
      total += b.length;
      max = Math.max(max, b.length);
      try {
        auditLogEntryBytesToJson(b);
      } catch {}
    }
    console.log(
      depth,
      sparse,
      transcodeStats.fast - before.fast,
      transcodeStats.fallback - before.fallback,
      "avg bytes",
      total / samples.length,
      max,
      Date.now() - t0,
    );
  }
});
