/**
 * The official clarifai-nodejs-grpc decode paths, loaded the way its packages/client/src/index.js loads them
 * (nested @grpc/proto-loader, same proto files, same options) plus its google-protobuf stubs, and a
 * plain protobufjs root for the decode-only reference.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);
const officialDir = join(dirname(require.resolve("clarifai-nodejs-grpc")), "..");
const PROTO = join(officialDir, "proto");
const FILES = [
  "clarifai/api/status/status_code.proto",
  "clarifai/api/status/status.proto",
  "clarifai/api/resources.proto",
  "clarifai/api/service_processed.proto",
  "clarifai/api/utils/matrix.proto",
].map((f) => join(PROTO, f));

/** Clarifai's proto-loader options (node_modules/clarifai-nodejs-grpc/src/index.js). */
export const OFFICIAL_LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: Number,
  defaults: true,
  oneofs: true,
};

interface MethodDef {
  responseDeserialize(b: Buffer): unknown;
  requestSerialize(v: unknown): Buffer;
}

function loadNested(name: string): unknown {
  try {
    return require(require.resolve(name, { paths: [officialDir] }));
  } catch {
    return require(name);
  }
}

/** `responseDeserialize` of PostAuditLogSearches from the official package definition. */
export function officialProtoLoaderDeserialize(): (b: Buffer) => unknown {
  const protoLoader = loadNested("@grpc/proto-loader") as {
    loadSync(files: string[], opts: object): Record<string, Record<string, MethodDef>>;
  };
  const def = protoLoader.loadSync(FILES, OFFICIAL_LOADER_OPTIONS);
  const method = def["clarifai.api.V2"]?.PostAuditLogSearches;
  if (!method) throw new Error("official package definition lacks clarifai.api.V2/PostAuditLogSearches");
  return (b) => method.responseDeserialize(b);
}

/** google-protobuf `deserializeBinary` + `toObject` from the official service_pb.js. */
export function officialGoogleProtobuf(): (b: Uint8Array) => unknown {
  const pb = require(join(PROTO, "clarifai/api/service_pb.js")) as {
    MultiAuditLogEntryResponse: { deserializeBinary(b: Uint8Array): { toObject(): unknown } };
  };
  return (b) => pb.MultiAuditLogEntryResponse.deserializeBinary(b).toObject();
}

/** protobufjs `Type.decode` alone (no toObject): the fastest JS decoder measured. */
export function protobufjsDecodeOnly(): (b: Uint8Array) => { entries: unknown[] } {
  const protobuf = require("protobufjs") as {
    Root: new () => {
      resolvePath: (origin: string, target: string) => string;
      loadSync(files: string[], opts: object): { lookupType(n: string): { decode(b: Uint8Array): unknown } };
    };
  };
  const root = new protobuf.Root();
  const fallback = root.resolvePath;
  root.resolvePath = (origin, target) => {
    const local = join(officialDir, target);
    try {
      require("node:fs").accessSync(local);
      return local;
    } catch {
      return fallback(origin, target);
    }
  };
  const type = root.loadSync(FILES, { keepCase: true }).lookupType("clarifai.api.MultiAuditLogEntryResponse");
  return (b) => type.decode(b) as { entries: unknown[] };
}
