/**
 * Configures DuckDB's allocator (jemalloc, built into the library): imported ahead of
 * `@duckdb/node-api` by every module that loads it, because jemalloc reads
 * `DUCKDB_JE_MALLOC_CONF` once, as the library loads.
 *
 * One arena for DuckDB's threads instead of DuckDB's default two: the lake's writers run on
 * different threads, and one arena lets each reuse what the other freed (a 1M-entry sync: ~20 MB
 * less peak RSS at no more CPU, bench/notes.md). A value set in the environment wins.
 */
process.env.DUCKDB_JE_MALLOC_CONF ??= "narenas:1";
