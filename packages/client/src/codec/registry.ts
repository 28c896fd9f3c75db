/**
 * The descriptors of the audit-log messages: the image `make generate` embeds (the RPC's closure),
 * read by @bufbuild/protobuf. The REST JSON mapping (packages/client/src/codec/restJson.ts) and the generated
 * printers (packages/client/src/codec/codegen.ts) share this one registry.
 */
import { createFileRegistry, type DescMessage, type FileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { auditLogDescriptorSetBase64 } from "../../generated/audit_log_descriptor.js";

// Parsed on first use (~25 ms and a few MB): importing the client or the CLI must not pay for it.
let registry: FileRegistry | undefined;

/** The registry of the embedded descriptor image, built on first use. */
export function auditLogRegistry(): FileRegistry {
  registry ??= createFileRegistry(
    fromBinary(FileDescriptorSetSchema, Buffer.from(auditLogDescriptorSetBase64, "base64")),
  );
  return registry;
}

/** The descriptor of `typeName`; throws when the image lacks it. */
export function messageDesc(typeName: string): DescMessage {
  const desc = auditLogRegistry().getMessage(typeName);
  if (!desc) throw new Error(`descriptor image lacks ${typeName}; run make generate`);
  return desc;
}
