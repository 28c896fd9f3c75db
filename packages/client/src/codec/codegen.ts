/**
 * The one builder of the generated printers (packages/client/src/codec/jsonlTranscoder.ts, bytes → JSON lines, and
 * packages/client/src/codec/entryPrinter.ts, objects → JSON lines) and of the REST JSON → bytes encoder
 * (packages/client/src/codec/restJsonEncoder.ts), and what they are built from.
 *
 * A printer is JavaScript source generated from the descriptors, one specialised function per
 * message type, compiled once with `new Function`. The builder names those functions, interns the
 * JSON keys (each written by its own function with the bytes as constants: copying them from a table
 * took a fifth of the transcoding time), collects the source, prints it for review
 * ({@link GeneratedCode.source}; e.g. `node -e 'import("./dist/src/codec/jsonlTranscoderSource.js")
 * .then((m) => console.log(m.jsonlTranscoderCode().source()))'`) and compiles it with the typed helpers the source calls passed in as
 * arguments, so what the source may refer to is declared in one place.
 *
 * The printers never re-implement Clarifai's presence rules (`cl_show_if_empty`, the always printed
 * model lists): they ask the reference printer once per message type what it prints for an empty
 * message ({@link emptyPrint}) and print exactly those keys and values when a field is absent.
 */
import type { DescMessage, JsonObject } from "@bufbuild/protobuf";
import { binaryToClarifaiJson } from "./restJson.js";

/**
 * Generated source and the helpers it calls. `Helpers` maps each name the source may use from
 * outside itself (a signal, a native function, a domain function) to its value.
 */
export class GeneratedCode<Helpers extends Record<string, unknown>> {
  readonly #helpers: Helpers;
  readonly #parts: string[] = [];
  readonly #names = new Map<string, string>();
  readonly #keys: Uint8Array[] = [];
  #result = "";

  /** @param helpers - the values the source refers to by these names (the factory's parameters). */
  constructor(helpers: Helpers) {
    this.#helpers = helpers;
  }

  /** The name of the generated function for message type `desc`: `prefix` and a number. */
  functionName(desc: DescMessage, prefix: string): string {
    let name = this.#names.get(desc.typeName);
    if (name === undefined) {
      name = `${prefix}${this.#names.size}`;
      this.#names.set(desc.typeName, name);
    }
    return name;
  }

  /** Source of a call writing `text` (UTF-8) at the output position: `k<n>()`. */
  writeKey(text: string): string {
    this.#keys.push(new Uint8Array(Buffer.from(text, "utf8")));
    return `k${this.#keys.length - 1}();`;
  }

  /** Appends source: runtime state and functions, message functions. */
  add(source: string): this {
    this.#parts.push(source);
    return this;
  }

  /** Ends the source with the statements that return what {@link compile} gives back. */
  returns(source: string): this {
    this.#result = source;
    return this;
  }

  /** The factory's whole source, as compiled: for debugging and review. */
  source(): string {
    return `(function (${Object.keys(this.#helpers).join(", ")}) {\n${this.#body()}\n})`;
  }

  /** Compiles the source and returns what it returns. */
  compile<T>(): T {
    const factory = new Function(...Object.keys(this.#helpers), this.#body());
    return factory(...Object.values(this.#helpers)) as T;
  }

  #body(): string {
    const keys = this.#keys.map((bytes, i) => {
      const stores = Array.from(bytes, (b, j) => `out[p + ${j}] = ${b};`).join(" ");
      return `function k${i}() { ens(${bytes.length}); const out = o, p = op; ${stores} op = p + ${bytes.length}; }`;
    });
    return [...this.#parts, ...keys, this.#result].join("\n");
  }
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

/** ts-proto's property name for a proto field (its snakeToCamel, which also folds ALL_CAPS words). */
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
