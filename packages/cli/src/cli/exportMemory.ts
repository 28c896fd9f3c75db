/**
 * `export --memory`: how V8's garbage collector is tuned while an export runs.
 *
 * An export's live heap is small and steady (~25 MB whatever its size), but with V8's defaults its
 * RSS is not: the young generation grows to 2 × 16 MB semi-spaces, the old generation is allowed to
 * double before a full GC, and every reply and receive chunk is an ArrayBuffer that only a GC frees
 * (V8 collects external memory lazily). A 1M-entry export peaked at ~200 MB that way.
 *
 * `lean` (the default) changes two GC heuristics that V8 reads at every collection, so they can be
 * set once the process runs (heap sizes cannot: V8 fixes them at start):
 * - `--heap-growing-percent`: the next full GC comes when the old generation has grown by this much
 *   over what survived the last one (V8 picks 10–400% by itself);
 * - `--semi-space-growth-factor=1`, set once the young generation has reached
 *   {@link YOUNG_GENERATION_CAP}: it stops growing there instead of at 32 MB.
 * Measured with `npm run bench` (bench/notes.md): peak RSS ~110–130 MB from 100k to 1M entries, for
 * some 5–15% more CPU. `fast` leaves V8's defaults alone.
 *
 * The flags are process-wide: only the CLI sets them, never the library.
 */
import v8 from "node:v8";

/** Values of `export --memory`. */
export const MEMORY_MODES = ["lean", "fast"] as const;
export type MemoryMode = (typeof MEMORY_MODES)[number];

/** Old-generation growth allowed between full GCs, in percent, under `lean`. */
const HEAP_GROWING_PERCENT = 30;
/** Size (both semi-spaces) at which the young generation stops growing under `lean`. */
export const YOUNG_GENERATION_CAP = 16 * 1024 * 1024;

/** What the export calls as it goes; a no-op under `fast`. */
export interface ExportMemory {
  /** Call after each page: caps the young generation once it has grown to its cap. */
  afterPage(): void;
}

function setFlag(flag: string): boolean {
  try {
    v8.setFlagsFromString(flag);
    return true;
  } catch {
    // A runtime that refuses late flags keeps its defaults: the export runs, only less lean.
    return false;
  }
}

function youngGenerationSize(): number {
  for (const space of v8.getHeapSpaceStatistics()) {
    if (space.space_name === "new_space") return space.space_size;
  }
  return 0;
}

/** Applies `mode` to this process's V8 heap. */
export function tuneMemoryForExport(mode: MemoryMode): ExportMemory {
  if (mode === "fast" || !setFlag(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`)) {
    return { afterPage: () => {} };
  }
  let capped = false;
  return {
    afterPage() {
      if (!capped && youngGenerationSize() >= YOUNG_GENERATION_CAP) {
        // Once, whether or not the runtime takes it: asking again would not change its answer.
        setFlag("--semi-space-growth-factor=1");
        capped = true;
      }
    },
  };
}
