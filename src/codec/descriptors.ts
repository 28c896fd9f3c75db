/**
 * The descriptors the generated fast paths are built from, and what the reference printer
 * (src/codec/protoJson.ts) prints for an empty message of each type.
 *
 * The fast paths never re-implement Clarifai's presence rules (`cl_show_if_empty`, the always
 * printed model lists): they ask the reference printer once per message type what it prints for an
 * empty message, and print exactly those keys with exactly those values when a field is absent.
 * A change to the rules in protoJson.ts therefore reaches the fast paths without a code change.
 */
import type { DescMessage, JsonObject } from "@bufbuild/protobuf";
import { auditLogRegistry, binaryToClarifaiJson } from "./protoJson.js";

/**
 * The descriptor of `typeName`, from the reference printer's registry (one parse of the image, on
 * first use); throws when the image lacks it.
 */
export function fastMessageDesc(typeName: string): DescMessage {
  const desc = auditLogRegistry().getMessage(typeName);
  if (!desc) throw new Error(`descriptor image lacks ${typeName}; run make generate`);
  return desc;
}

const emptyPrints = new Map<string, JsonObject>();

/**
 * The JSON the reference printer produces for an empty message of this type: its keys are the
 * fields printed even when absent, its values what is printed for them.
 */
export function emptyPrint(desc: DescMessage): JsonObject {
  let json = emptyPrints.get(desc.typeName);
  if (json === undefined) {
    const v = binaryToClarifaiJson(desc.typeName, new Uint8Array(0));
    json = v !== null && typeof v === "object" && !Array.isArray(v) ? v : {};
    emptyPrints.set(desc.typeName, json);
  }
  return json;
}

/** Every message type reachable from `root` through fields (maps and lists included). */
export function messageClosure(root: DescMessage): DescMessage[] {
  const seen = new Map<string, DescMessage>();
  const visit = (d: DescMessage): void => {
    if (seen.has(d.typeName)) return;
    seen.set(d.typeName, d);
    for (const f of d.fields) if (f.message) visit(f.message);
  };
  visit(root);
  return [...seen.values()];
}

/** ts-proto's property name for a proto field (its snakeToCamel). */
export function tsProtoName(name: string): string {
  if (!name.includes("_")) return name;
  const hasLower = /[a-z]/.test(name);
  return name
    .split("_")
    .map((w, i) => {
      const word = hasLower ? w : w.toLowerCase();
      return i === 0 ? word : word.charAt(0).toUpperCase() + word.slice(1);
    })
    .join("");
}
