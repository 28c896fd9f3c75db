/**
 * The layers of the packages' sources (issue 21): each folder under packages/<pkg>/src is a layer
 * (the emulator's package is one), and a layer imports only itself
 * and the layers and npm packages its row names, so that the client, the exporter, sync, watch and
 * report can each be used as a library without the CLI, and the client package stays lean. Nothing
 * is transitive, and there is no exceptions list: a new edge changes this table, in review.
 */
import { flagWordsIn, type LayerTable, layerOf, sourceFiles, violations } from "./layerCheck.js";

/**
 * Layer → the layers and packages it may import. `generated` is the protobuf schema (generated/,
 * outside src/): the API's message types are the vocabulary of every layer, and it imports only
 * @bufbuild/protobuf. `ajv` is loaded lazily by state (schema checks of state files), as before.
 */
const TABLE: LayerTable = {
  generated: { layers: [], packages: ["@bufbuild/protobuf"] },
  domain: { layers: ["generated"], packages: [] },
  codec: { layers: ["generated", "domain"], packages: ["@bufbuild/protobuf"] },
  state: { layers: ["generated", "domain"], packages: ["ajv"] },
  client: { layers: ["generated", "codec", "domain"], packages: ["@bufbuild/protobuf"] },
  // Entries as OCSF events (docs/ocsf.md): the schema's messages and the domain's vocabulary only.
  ocsf: { layers: ["generated", "domain"], packages: [] },
  // Signed logs (docs/verifiable-logs.md): Merkle trees, keys, digests; node:crypto only.
  digest: { layers: ["domain", "state"], packages: [] },
  export: {
    layers: ["generated", "client", "codec", "domain", "state", "ocsf", "digest"],
    packages: ["csv-stringify"],
  },
  // ocsf: the stream and S3 destinations write entries as OCSF events when asked (format ocsf).
  sync: {
    layers: ["generated", "export", "client", "codec", "domain", "state", "ocsf", "digest"],
    packages: ["@duckdb/node-api", "pg", "@aws-sdk/client-s3"],
  },
  // report --lake reads a lake through sync's own reader (packages/cli/src/sync/lake/reader.ts): the lake's
  // format (its manifest, its files, the SQL over them) is sync's to know, and a second reader in
  // report would be that knowledge twice. Sync never imports report.
  // csv-stringify (as export's): the full lists behind the tables a report cuts short are CSV.
  report: {
    layers: ["generated", "export", "client", "codec", "domain", "state", "sync"],
    packages: ["csv-stringify", "puppeteer-core", "vega", "vega-lite"],
  },
  watch: {
    layers: ["generated", "export", "client", "codec", "domain", "state"],
    packages: ["ajv", "yaml"],
  },
  // The collector (`run --config`) composes sync's stores and watch's rules into one service: the
  // walk per account fanned out to destinations, its alerts destination, metrics, leases.
  collector: {
    layers: ["generated", "export", "client", "codec", "domain", "state", "sync", "watch", "digest"],
    packages: ["pg", "prom-client", "ajv"],
  },
  // RFC 3161 time-stamps: asking an authority (at signing) and checking a token offline (verify).
  timestamp: { layers: ["domain", "digest"], packages: ["pkijs", "asn1js"] },
  // The offline verifier of signed exports and lakes: reads files only, never the network.
  verify: {
    layers: ["generated", "domain", "codec", "state", "digest", "timestamp", "export", "sync"],
    packages: ["@duckdb/node-api"],
  },
  // The emulator serves the API with the schema and codec only; its command line is its own.
  emulator: {
    layers: ["generated", "codec", "domain"],
    packages: ["@bufbuild/protobuf", "@grpc/grpc-js", "commander"],
  },
  cli: {
    layers: [
      "generated",
      "domain",
      "codec",
      "state",
      "client",
      "ocsf",
      "digest",
      "timestamp",
      "verify",
      "export",
      "sync",
      "report",
      "watch",
      "collector",
      "emulator",
    ],
    packages: "any",
  },
};

/**
 * The files directly under a package's src/: the client's errors.ts holds the client's errors (the
 * ClarifaiError family; their root and the usage errors every layer throws are in
 * packages/client/src/domain/errors.ts) and its index.ts is the package's entry point; the CLI
 * package's entry points re-export the client, the export engine and the emulator.
 */
const TOP_LEVEL: Record<string, string> = {
  "client/errors.ts": "client",
  "client/index.ts": "client",
  "cli/index.ts": "cli",
  "cli/export.ts": "cli",
  "cli/emulator.ts": "cli",
};

/** Every source root of the workspace packages. */
const ROOTS = [
  "packages/client/src",
  "packages/client/generated",
  "packages/emulator/src",
  "packages/cli/src",
];

describe("layers", () => {
  const files = sourceFiles(...ROOTS);

  test("every module of the packages' src/ and generated/ is in a layer of the table", () => {
    expect(files.size).toBeGreaterThan(100);
    const unplaced = [...files.keys()].filter((p) => {
      const layer = layerOf(p, TOP_LEVEL);
      return layer === undefined || TABLE[layer] === undefined;
    });
    expect(unplaced).toEqual([]);
  });

  test("no import crosses the layer table", () => {
    expect(violations(files, TABLE, TOP_LEVEL)).toEqual([]);
  });

  test("the table has no layer that may import the CLI, and cli/ is the only one taking any package", () => {
    const importsCli = Object.entries(TABLE).filter(
      ([name, r]) => name !== "cli" && r.layers.includes("cli"),
    );
    expect(importsCli).toEqual([]);
    const anyPackage = Object.entries(TABLE).filter(([, r]) => r.packages === "any");
    expect(anyPackage.map(([name]) => name)).toEqual(["cli"]);
  });
});

/**
 * The layers used as libraries: their messages name options by their library names (in backticks),
 * and packages/cli/src/cli/renderError.ts renders those as flags. cli/ and the emulator (whose command.ts is its
 * own command line) name flags.
 */
const LIBRARY_LAYERS = new Set([
  "domain",
  "codec",
  "client",
  "state",
  "ocsf",
  "digest",
  "timestamp",
  "verify",
  "export",
  "sync",
  "report",
  "watch",
]);

test("no string of a library layer names a command-line flag (TSDoc may)", () => {
  const files = sourceFiles(...ROOTS);
  const library = [...files].filter(([p]) => LIBRARY_LAYERS.has(layerOf(p, TOP_LEVEL) ?? ""));
  expect(library.length).toBeGreaterThan(100);
  const found = library.flatMap(([path, text]) =>
    flagWordsIn(path, text).map(({ line, text: s }) => `${path}:${line}: ${JSON.stringify(s)}`),
  );
  expect(found).toEqual([]);
});
