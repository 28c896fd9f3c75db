/** A valid export manifest of an empty, just-started export: what tests damage one field of. */
export function validExportManifest() {
  return {
    version: 1,
    kind: "clarifai-audit-export",
    query: { filters: {}, perPage: 10, format: "jsonl", gzip: false },
    format: "jsonl",
    gzip: false,
    perPage: 10,
    window: { from: "2025-01-01T00:00:00Z", to: "2025-01-02T00:00:00Z", pinnedAt: "2025-01-02T00:01:00Z" },
    committed: {
      bytes: 0,
      sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      entries: 0,
      pages: 0,
      slice: { from: "2025-01-01T00:00:00Z", to: "2025-01-02T00:00:00Z", last: true },
      cursor: { page: 1, boundaryKeys: [] },
      sliceDone: false,
      stats: { retries: 0, shiftedPages: 0, repeated: 0, stale: 0 },
    },
    updatedAt: "2025-01-02T00:01:00.000Z",
  };
}
