/**
 * Compiles the vendored OCSF 1.8.0 schema (vendor/ocsf-schema-1.8.0: dictionary, objects, profiles,
 * event classes) into one JSON Schema (draft-07) per event class, for ajv: the class schemas are
 * derived from the OCSF sources, never written by hand, so the tests check our events against what
 * OCSF itself says.
 *
 * The rules follow the OCSF server's reading of the sources: `$include` merges a file's attributes
 * (a profile's are tagged with the profile's name) under the item's own; `extends` deep-merges the
 * child over its parent (a `null` removes a key, so `"profile": null` unties an attribute from its
 * profile); every attribute takes its type, array-ness and enum from the dictionary, overridden by the
 * item; attributes of profiles the event does not apply are left out; the `datetime` profile adds an
 * optional `<name>_dt` (datetime_t) beside every timestamp_t attribute. Strictness: unknown attributes
 * are refused (`additionalProperties: false`), required attributes are required, enum attributes hold
 * one of their values (and their named sibling the value's caption, unless Other), types carry the
 * dictionary's regexes, lengths and ranges, `at_least_one` / `just_one` constraints hold, and
 * `class_uid`, `category_uid`, `activity_id` and `type_uid` must be one of the class's combinations.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";

/** Where the vendored schema lives. */
export const OCSF_ROOT = join(process.cwd(), "vendor", "ocsf-schema-1.8.0");

type Json = Record<string, unknown>;
type JsonSchema = Record<string, unknown>;

interface Attribute {
  type?: string;
  is_array?: boolean;
  enum?: Record<string, { caption?: string }>;
  sibling?: string;
  requirement?: string;
  profile?: string | null;
  caption?: string;
}

interface Item {
  name: string;
  caption: string;
  uid?: number;
  category?: string;
  extends?: string;
  attributes: Record<string, Attribute>;
  constraints?: { at_least_one?: string[]; just_one?: string[] };
}

function readJson(path: string): Json {
  return JSON.parse(readFileSync(join(OCSF_ROOT, path), "utf8")) as Json;
}

function isPlain(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `over` merged into `base` (recursively for objects; `null` deletes; arrays and scalars replace). */
function deepMerge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === null) delete out[k];
    else if (isPlain(v) && isPlain(out[k])) out[k] = deepMerge(out[k] as Json, v);
    else out[k] = v;
  }
  return out;
}

const dictionary = readJson("dictionary.json") as { attributes: Json; types: { attributes: Json } };
const DICT = dictionary.attributes as Record<string, Attribute>;
const TYPES = dictionary.types.attributes as Record<
  string,
  { type?: string; regex?: string; max_len?: number; range?: [number, number]; values?: unknown[] }
>;
const CATEGORIES = (
  readJson("categories.json") as { attributes: Record<string, { uid: number; caption: string }> }
).attributes;

function eventFiles(dir: string): string[] {
  return readdirSync(join(OCSF_ROOT, dir), { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? eventFiles(join(dir, d.name)) : d.name.endsWith(".json") ? [join(dir, d.name)] : [],
  );
}
const EVENT_FILES = new Map(eventFiles("events").map((f) => [readJson(f).name as string, f]));

/** An item's own attributes with its `$include`s merged under them (a profile's tagged with its name). */
function ownAttributes(raw: Json): Json {
  const attrs = { ...((raw.attributes as Json | undefined) ?? {}) };
  const includes = (attrs.$include as string[] | undefined) ?? [];
  delete attrs.$include;
  let merged: Json = {};
  for (const path of includes) {
    const inc = readJson(path);
    let incAttrs = (inc.attributes as Json | undefined) ?? {};
    if (inc.meta === "profile") {
      incAttrs = Object.fromEntries(
        Object.entries(incAttrs).map(([k, v]) => [k, { ...(v as Json), profile: inc.name }]),
      );
    }
    merged = deepMerge(merged, incAttrs);
  }
  return deepMerge(merged, attrs);
}

const resolved = new Map<string, Item>();

/** An event class (`events/…`) or object (`objects/…`) with its parents and includes resolved. */
function resolveItem(kind: "event" | "object", name: string): Item {
  const cacheKey = `${kind}:${name}`;
  const hit = resolved.get(cacheKey);
  if (hit) return hit;
  const file = kind === "event" ? EVENT_FILES.get(name) : `objects/${name}.json`;
  if (file === undefined) throw new Error(`OCSF: no event class named ${name}`);
  const raw = readJson(file);
  let item: Json = { ...raw, attributes: ownAttributes(raw) };
  if (typeof raw.extends === "string") {
    const parent = resolveItem(kind, raw.extends) as unknown as Json;
    const attributes = deepMerge(parent.attributes as Json, item.attributes as Json);
    item = { ...deepMerge({ ...parent, uid: undefined }, item), attributes };
  }
  resolved.set(cacheKey, item as unknown as Item);
  return item as unknown as Item;
}

/** The attributes of an item under a set of profiles, each merged over its dictionary entry. */
function activeAttributes(item: Item, profiles: ReadonlySet<string>): Map<string, Attribute> {
  const out = new Map<string, Attribute>();
  for (const [name, local] of Object.entries(item.attributes)) {
    const dict = DICT[name];
    if (dict === undefined) throw new Error(`OCSF: ${item.name}.${name} is not in the dictionary`);
    const attr = deepMerge(dict as Json, local as Json) as Attribute;
    if (typeof attr.profile === "string" && !profiles.has(attr.profile)) continue;
    out.set(name, attr);
  }
  if (profiles.has("datetime")) {
    for (const [name, attr] of [...out]) {
      if (attr.type === "timestamp_t" && !out.has(`${name}_dt`)) {
        out.set(`${name}_dt`, { type: "datetime_t", requirement: "optional", is_array: attr.is_array });
      }
    }
  }
  return out;
}

/** The JSON Schema of a dictionary type (its base types' constraints included). */
function scalarSchema(type: string): JsonSchema {
  const schema: JsonSchema = {};
  for (let t: string | undefined = type; t !== undefined; t = TYPES[t]?.type) {
    const def = TYPES[t];
    if (def === undefined) throw new Error(`OCSF: unknown type ${t}`);
    if (def.regex !== undefined && schema.pattern === undefined) schema.pattern = def.regex;
    if (def.max_len !== undefined && schema.maxLength === undefined) schema.maxLength = def.max_len;
    if (def.range !== undefined && schema.minimum === undefined) {
      schema.minimum = def.range[0];
      schema.maximum = def.range[1];
    }
    if (t === "string_t") schema.type = "string";
    else if (t === "integer_t" || t === "long_t") schema.type = "integer";
    else if (t === "float_t") schema.type = "number";
    else if (t === "boolean_t") schema.type = "boolean";
  }
  return schema;
}

/** The `$id` of the schema holding every object's definition, shared by the class schemas. */
export const OBJECTS_ID = "ocsf-1.8.0-objects";

const INTEGER_TYPES = new Set(["integer_t", "long_t", "port_t", "timestamp_t"]);

/** Compiles attributes of items into `definitions`, sharing one definition per object. */
class Compiler {
  readonly definitions: Record<string, JsonSchema> = {};
  constructor(readonly profiles: ReadonlySet<string>) {}

  objectRef(name: string): JsonSchema {
    if (name === "object") return { type: "object" };
    if (this.definitions[name] === undefined) {
      this.definitions[name] = {}; // placeholder: objects refer to each other in cycles
      this.definitions[name] = this.itemSchema(resolveItem("object", name));
    }
    return { $ref: `${OBJECTS_ID}#/definitions/${name}` };
  }

  attributeSchema(attr: Attribute): JsonSchema {
    const type = attr.type ?? "string_t";
    let schema: JsonSchema;
    if (TYPES[type] !== undefined) {
      schema = scalarSchema(type);
      if (attr.enum !== undefined) {
        const keys = Object.keys(attr.enum);
        schema.enum = INTEGER_TYPES.has(type) ? keys.map(Number) : keys;
      }
    } else {
      schema = this.objectRef(type);
    }
    return attr.is_array ? { type: "array", items: schema } : schema;
  }

  /** The schema of an object or event class: its attributes, requirements, siblings and constraints. */
  itemSchema(item: Item): JsonSchema {
    const attrs = activeAttributes(item, this.profiles);
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    const allOf: JsonSchema[] = [];
    for (const [name, attr] of attrs) {
      properties[name] = this.attributeSchema(attr);
      if (attr.requirement === "required") required.push(name);
      // An enum's sibling names the value: its caption (Other leaves the text to the source).
      if (
        attr.enum !== undefined &&
        attr.sibling !== undefined &&
        attrs.has(attr.sibling) &&
        !attr.is_array
      ) {
        for (const [value, def] of Object.entries(attr.enum)) {
          if (value === "99" || def.caption === undefined) continue;
          allOf.push({
            if: { required: [name], properties: { [name]: { const: Number(value) } } },
            // biome-ignore lint/suspicious/noThenProperty: JSON Schema's keyword
            then: { properties: { [attr.sibling]: { const: def.caption } } },
          });
        }
      }
    }
    const schema: JsonSchema = { type: "object", properties, required, additionalProperties: false };
    const atLeastOne = item.constraints?.at_least_one?.filter((a) => attrs.has(a));
    if (atLeastOne && atLeastOne.length > 0)
      allOf.push({ anyOf: atLeastOne.map((a) => ({ required: [a] })) });
    const justOne = item.constraints?.just_one?.filter((a) => attrs.has(a));
    if (justOne && justOne.length > 0) allOf.push({ oneOf: justOne.map((a) => ({ required: [a] })) });
    if (allOf.length > 0) schema.allOf = allOf;
    return schema;
  }
}

/** What a compiled class is: its schema and the identifiers OCSF derives for it. */
export interface CompiledClass {
  schema: JsonSchema;
  classUid: number;
  className: string;
  categoryUid: number;
  categoryName: string;
  /** activity_id → caption, as the class (with its parents) defines them. */
  activities: Map<number, string>;
}

/**
 * The JSON Schema of one OCSF event class (by its name, e.g. `entity_management`) under `profiles`
 * (the profiles an event lists in `metadata.profiles`).
 */
function compileClass(compiler: Compiler, name: string): CompiledClass {
  const item = resolveItem("event", name);
  const category = item.category === undefined ? undefined : CATEGORIES[item.category];
  if (category === undefined || item.uid === undefined)
    throw new Error(`OCSF: ${name} is not a concrete class`);
  const classUid = category.uid * 1000 + item.uid;
  const schema = compiler.itemSchema(item);
  const properties = schema.properties as Record<string, JsonSchema>;
  const activityEnum = (item.attributes.activity_id as Attribute).enum ?? {};
  const activities = new Map(Object.entries(activityEnum).map(([k, v]) => [Number(k), v.caption ?? ""]));
  // The classification attributes are the class's own: one class, its category, its activities.
  // (base_event's enums of class_uid and category_uid name only its own 0: the class's replace them).
  properties.class_uid = { type: "integer", const: classUid };
  properties.class_name = { type: "string", const: item.caption };
  properties.category_uid = { type: "integer", const: category.uid };
  properties.category_name = { type: "string", const: category.caption };
  properties.type_uid = { type: "integer", enum: [...activities.keys()].map((a) => classUid * 100 + a) };
  const allOf = (schema.allOf as JsonSchema[] | undefined) ?? [];
  for (const activity of activities.keys()) {
    allOf.push({
      if: { required: ["activity_id"], properties: { activity_id: { const: activity } } },
      // biome-ignore lint/suspicious/noThenProperty: JSON Schema's keyword
      then: { properties: { type_uid: { const: classUid * 100 + activity } } },
    });
  }
  schema.allOf = allOf;
  return {
    schema: {
      $schema: "http://json-schema.org/draft-07/schema#",
      ...schema,
      definitions: compiler.definitions,
    },
    classUid,
    className: item.caption,
    categoryUid: category.uid,
    categoryName: category.caption,
    activities,
  };
}

/** The version of the vendored schema (version.json). */
export const OCSF_VERSION = readJson("version.json").version as string;

/**
 * The schemas of OCSF event classes (by name, e.g. `entity_management`) under `profiles` (the profiles
 * an event lists in `metadata.profiles`), and the one schema of the objects they refer to.
 */
export function compileOcsfClasses(
  names: readonly string[],
  profiles: readonly string[],
): { objects: JsonSchema; classes: Map<string, CompiledClass> } {
  const compiler = new Compiler(new Set(profiles));
  const classes = new Map(names.map((n) => [n, compileClass(compiler, n)]));
  return { objects: { $id: OBJECTS_ID, definitions: compiler.definitions }, classes };
}

/** A validator of one class's events, with what OCSF derives for the class. */
export type OcsfValidator = ValidateFunction & { compiled: CompiledClass };

/** Validators of the classes' events (one ajv, strict about the schemas themselves; all errors reported). */
export function ocsfValidators(
  names: readonly string[],
  profiles: readonly string[],
): Map<string, OcsfValidator> {
  const { objects, classes } = compileOcsfClasses(names, profiles);
  // strictRequired/strictTypes off: constraints and conditions name properties defined beside them.
  const ajv = new Ajv({
    strict: true,
    strictRequired: false,
    strictTypes: false,
    allErrors: true,
    unicodeRegExp: false,
  });
  ajv.addSchema(objects);
  return new Map(
    [...classes].map(([n, compiled]) => [n, Object.assign(ajv.compile(compiled.schema), { compiled })]),
  );
}
