/**
 * The export's progress estimate (packages/client/src/export/estimate.ts): the share of the data's
 * span (the probes' oldest and newest entries) behind the newest entry written, and the size it
 * implies; none without a span to go by.
 */

import { WalkEstimate } from "../../packages/client/src/export/estimate.js";
import type { ExportCursor } from "../../packages/client/src/export/sink.js";

const cursor = (complete = false) => ({ complete }) as ExportCursor;
const at = (seconds: number) => ({ seconds, nanos: 0 });

it("takes the share of the span walked as the share done, and scales the entries by it", () => {
  const estimate = WalkEstimate.of(at(1_000), at(2_000));
  expect(estimate?.after(at(1_250), 300, cursor())).toEqual({ fraction: 0.25, entries: 1_200 });
  // An empty batch keeps the position; an older entry does not move it back.
  expect(estimate?.after(undefined, 300, cursor())).toEqual({ fraction: 0.25, entries: 1_200 });
  expect(estimate?.after(at(1_100), 310, cursor())).toEqual({ fraction: 0.25, entries: 1_240 });
  expect(estimate?.after(at(1_500), 500, cursor())).toEqual({ fraction: 0.5, entries: 1_000 });
  // Entries newer than the newest the probes found cap the share at 1, never past the entries seen.
  expect(estimate?.after(at(2_500), 990, cursor())).toEqual({ fraction: 1, entries: 990 });
  expect(estimate?.after(undefined, 1_001, cursor(true))).toEqual({ fraction: 1, entries: 1_001 });
});

it("gives nothing before the first entry past the oldest, nor without a span", () => {
  expect(WalkEstimate.of(at(1_000), at(2_000))?.after(at(1_000), 5, cursor())).toBeUndefined();
  expect(WalkEstimate.of(at(1_000), at(1_000))).toBeUndefined();
  expect(WalkEstimate.of(undefined, undefined)).toBeUndefined();
});
