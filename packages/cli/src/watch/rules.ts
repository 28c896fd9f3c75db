/**
 * Rules files: YAML parsed by `yaml`, validated against a JSON Schema by `ajv`, then compiled into
 * matchers over entries in their REST JSON form (the form exports hold and alerts carry), so that
 * `watch` and `rules test` evaluate the very same thing. Every error is one line naming the file,
 * the rule and the field.
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { parseDurationMs } from "@clarifai-audit/client/internal/domain/duration.js";
import {
  AuditUsageError,
  type UsageProblem,
  ValidationError,
} from "@clarifai-audit/client/internal/domain/errors.js";
import {
  closestNames,
  levenshtein,
  parseOperation,
} from "@clarifai-audit/client/internal/domain/operations.js";
import {
  entryHasTarget,
  jsonTargetKey,
  parseTarget,
  type TargetKey,
  targetKey,
} from "@clarifai-audit/client/internal/domain/targets.js";
import { parseTargetText } from "@clarifai-audit/client/internal/domain/targetText.js";
import { readRegularFile } from "@clarifai-audit/client/internal/state/stateReader.js";
import { Ajv, type ErrorObject } from "ajv";
import { parseDocument } from "yaml";
import { BUILTIN_NAME, BUILTIN_PACK } from "./builtinPack.js";
import { type CidrSet, parseCidrSet } from "./cidr.js";

/** Alert severities, least to most severe. */
export const SEVERITIES = ["info", "low", "medium", "high", "critical"] as const;
/** One of {@link SEVERITIES}. */
export type Severity = (typeof SEVERITIES)[number];

/** Entry fields a threshold or new_value rule can group by or learn. */
export const FIELDS = ["user_id", "source_ip", "operation", "req_id", "app_id", "target"] as const;
/** One of {@link FIELDS}. */
export type Field = (typeof FIELDS)[number];

/**
 * A bad rules file or rules option (`input` is `rules`). Given one sentence, it names the file, rule
 * and field itself and is the message; given fields, the message is `INPUT: PROBLEM`.
 */
export class RulesError extends AuditUsageError {
  override name = "RulesError";

  constructor(problem: string | UsageProblem) {
    if (typeof problem === "string") super({ input: "rules", problem }, problem);
    else super(problem);
  }
}

/** An audit-log entry in its REST JSON form (the fields rules read). */
export interface RestEntry {
  timestamp?: string;
  user?: { id?: string };
  operation?: number;
  targets?: Array<Record<string, Record<string, unknown> | undefined>>;
  success?: boolean;
  req_id?: string;
  source_ip?: string;
}

/** A validated, compiled rule. */
export interface CompiledRule {
  id: string;
  title: string;
  severity: Severity;
  /** Where the rule was defined (a path, or `builtin`). */
  source: string;
  /** Hash of the rule's definition: rule state saved under another definition is not reused. */
  fingerprint: string;
  /** True when the entry satisfies `match` (always true without one). */
  matches(entry: RestEntry): boolean;
  threshold?: { count: number; withinNs: bigint; by?: Field };
  newValue?: { field: Field; by?: Field; learnNs: bigint };
}

const LIST = (items: object) => ({ type: "array", minItems: 1, items });

/** The JSON Schema of a rules file (durations, operations, targets and CIDRs are checked after it). */
export const RULES_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["rules"],
  properties: {
    rules: {
      type: "array",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["id", "severity"],
        properties: {
          id: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$" },
          title: { type: "string", minLength: 1 },
          description: { type: "string" },
          severity: { enum: SEVERITIES },
          match: {
            type: "object",
            additionalProperties: false,
            properties: {
              operations: LIST({ type: ["string", "integer"] }),
              users: LIST({ type: "string", minLength: 1 }),
              targets: LIST({ type: "string", minLength: 1 }),
              source_ips: LIST({ type: "string", minLength: 1 }),
              success: { type: "boolean" },
            },
          },
          threshold: {
            type: "object",
            additionalProperties: false,
            required: ["count", "within"],
            properties: {
              count: { type: "integer", minimum: 1, maximum: 100000 },
              within: { type: "string" },
              by: { enum: FIELDS },
            },
          },
          new_value: {
            type: "object",
            additionalProperties: false,
            required: ["field", "learn"],
            properties: {
              field: { enum: FIELDS },
              by: { enum: FIELDS },
              learn: { type: "string" },
            },
          },
        },
      },
    },
  },
} as const;

interface RawRule {
  id: string;
  title?: string;
  description?: string;
  severity: Severity;
  match?: {
    operations?: Array<string | number>;
    users?: string[];
    targets?: string[];
    source_ips?: string[];
    success?: boolean;
  };
  threshold?: { count: number; within: string; by?: Field };
  new_value?: { field: Field; by?: Field; learn: string };
}

let validator: ReturnType<Ajv["compile"]> | undefined;
function validate(doc: unknown): ErrorObject | undefined {
  if (validator === undefined)
    validator = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true }).compile(
      RULES_SCHEMA,
    );
  if (validator(doc)) return undefined;
  // A misspelt key also makes a required one missing: the misspelling is the error to show.
  const errors = validator.errors ?? [];
  return errors.find((e) => e.keyword === "additionalProperties") ?? errors[0];
}

/** `rules[3].match.operations[0]` from `/rules/3/match/operations/0`. */
function fieldPath(pointer: string): string[] {
  return pointer
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function describeSchemaError(file: string, doc: unknown, error: ErrorObject): string {
  const parts = fieldPath(error.instancePath);
  let where = file;
  let rest = parts;
  if (parts[0] === "rules" && parts.length >= 2) {
    const index = Number(parts[1]);
    const rule = (doc as { rules: unknown[] }).rules[index] as { id?: unknown } | undefined;
    where +=
      typeof rule?.id === "string" ? `: rule "${rule.id}" (rules[${index}])` : `: rules[${index}] (no id)`;
    rest = parts.slice(2);
  }
  const field = rest.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), "");
  const params = error.params as Record<string, unknown>;
  let problem: string;
  switch (error.keyword) {
    case "additionalProperties": {
      const schemaKeys = Object.keys(
        (error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {},
      );
      const key = String(params.additionalProperty);
      const near = closestNames(
        key,
        schemaKeys.map((k) => k.toUpperCase()),
        1,
      )[0]?.toLowerCase();
      // Only a near miss is worth suggesting.
      const close = near !== undefined && levenshtein(key.toLowerCase(), near) <= Math.max(2, key.length / 3);
      problem = `unknown key "${key}" (allowed: ${schemaKeys.join(", ")}${close ? `; did you mean "${near}"?` : ""})`;
      return `${where}: ${field ? `${field}.` : ""}${key}: ${problem}`;
    }
    case "required":
      return `${where}: ${field ? `${field}.` : ""}${String(params.missingProperty)}: is required`;
    case "enum":
      problem = `must be one of ${(params.allowedValues as unknown[]).join(", ")}`;
      break;
    case "pattern":
      problem = "must be 1-128 letters, digits, _ . : - (starting with a letter or digit)";
      break;
    default:
      problem = error.message ?? "is not valid";
  }
  const value = rest.reduce<unknown>(
    (v, p) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[p] : undefined),
    parts[0] === "rules" && parts.length >= 2 ? (doc as { rules: unknown[] }).rules[Number(parts[1])] : doc,
  );
  const shown = value === undefined || typeof value === "object" ? "" : ` (got ${JSON.stringify(value)})`;
  return `${where}: ${field || "(top level)"}: ${problem}${shown}`;
}

function durationNs(where: string, field: string, text: string): bigint {
  const ms = parseDurationMs(text);
  if (ms === undefined || ms <= 0) {
    throw new RulesError(
      `${where}: ${field}: not a duration: ${JSON.stringify(text)} (use a number with a unit: ms, s, m, h, d, w — e.g. 10m, 24h, 7d)`,
    );
  }
  return BigInt(ms) * 1_000_000n;
}

/** A rule's `match.targets` item, read as `--target` reads it (one grammar: domain/targetText.ts). */
function targetMatch(where: string, field: string, text: string): TargetKey {
  try {
    return targetKey(parseTarget(parseTargetText(text), field)) as TargetKey;
  } catch (error) {
    if (error instanceof AuditUsageError) throw new RulesError(`${where}: ${field}: ${error.problem}`);
    throw error;
  }
}

function compileMatch(where: string, m: RawRule["match"]): (e: RestEntry) => boolean {
  if (m === undefined) return () => true;
  const tests: Array<(e: RestEntry) => boolean> = [];
  if (m.operations) {
    const codes = new Set<number>();
    m.operations.forEach((op, i) => {
      try {
        codes.add(parseOperation(op, `match.operations[${i}]`));
      } catch (error) {
        if (error instanceof ValidationError)
          throw new RulesError(
            `${where}: match.operations[${i}]: ${error.problem} (got ${JSON.stringify(op)})`,
          );
        throw error;
      }
    });
    tests.push((e) => codes.has(e.operation ?? 0));
  }
  if (m.success !== undefined) {
    const want = m.success;
    tests.push((e) => (e.success === true) === want);
  }
  if (m.users) {
    const users = new Set(m.users);
    tests.push((e) => users.has(e.user?.id ?? ""));
  }
  if (m.targets) {
    const wanted = m.targets.map((t, i) => targetMatch(where, `match.targets[${i}]`, t));
    tests.push((e) => {
      const keys = (e.targets ?? []).map(jsonTargetKey);
      return wanted.some((w) => entryHasTarget(keys, w));
    });
  }
  if (m.source_ips) {
    let set: CidrSet;
    try {
      set = parseCidrSet(m.source_ips);
    } catch (error) {
      const { index, problem } = error as { index: number; problem: string };
      if (typeof problem !== "string") throw error;
      throw new RulesError(
        `${where}: match.source_ips[${index}]: ${problem} (got ${JSON.stringify(m.source_ips[index])})`,
      );
    }
    tests.push((e) => set.has(e.source_ip ?? ""));
  }
  if (tests.length === 1) return tests[0] as (e: RestEntry) => boolean;
  return (e) => {
    for (const t of tests) if (!t(e)) return false;
    return true;
  };
}

function compileRule(source: string, raw: RawRule, index: number): CompiledRule {
  const where = `${source}: rule "${raw.id}" (rules[${index}])`;
  if (raw.threshold && raw.new_value)
    throw new RulesError(`${where}: new_value: a rule has a threshold or a new_value, not both`);
  const rule: CompiledRule = {
    id: raw.id,
    title: raw.title ?? raw.id,
    severity: raw.severity,
    source,
    fingerprint: createHash("sha256")
      .update(JSON.stringify([raw.match ?? null, raw.threshold ?? null, raw.new_value ?? null]))
      .digest("base64url")
      .slice(0, 16),
    matches: compileMatch(where, raw.match),
  };
  if (raw.threshold) {
    rule.threshold = {
      count: raw.threshold.count,
      withinNs: durationNs(where, "threshold.within", raw.threshold.within),
      ...(raw.threshold.by ? { by: raw.threshold.by } : {}),
    };
  }
  if (raw.new_value) {
    if (raw.new_value.by === raw.new_value.field)
      throw new RulesError(`${where}: new_value.by: must differ from new_value.field`);
    rule.newValue = {
      field: raw.new_value.field,
      learnNs: durationNs(where, "new_value.learn", raw.new_value.learn),
      ...(raw.new_value.by ? { by: raw.new_value.by } : {}),
    };
  }
  return rule;
}

/** Parses and compiles the rules in `text` (from `source`, named in errors). */
export function parseRules(source: string, text: string): CompiledRule[] {
  const doc = parseDocument(text, { uniqueKeys: true });
  const problem = doc.errors[0];
  if (problem !== undefined) {
    const pos = problem.linePos?.[0];
    const at = pos ? `:${pos.line}:${pos.col}` : "";
    throw new RulesError(
      `${source}${at}: not valid YAML: ${(problem.message.split("\n")[0] as string).replace(/ at line \d+, column \d+:?$/, "")}`,
    );
  }
  const value: unknown = doc.toJS();
  const error = validate(value);
  if (error !== undefined) throw new RulesError(describeSchemaError(source, value, error));
  const raw = (value as { rules: RawRule[] }).rules;
  const seen = new Map<string, number>();
  return raw.map((r, i) => {
    const first = seen.get(r.id);
    if (first !== undefined)
      throw new RulesError(`${source}: rule "${r.id}" (rules[${i}]): id: duplicate of rules[${first}]`);
    seen.set(r.id, i);
    return compileRule(source, r, i);
  });
}

/** Largest rules file read: rules are hand-written YAML, a few KiB each. */
const MAX_RULES_BYTES = 16 * 1024 * 1024;

/**
 * Loads `--rules` arguments in order: `builtin` or a file path each. Rule ids are unique across all
 * of them (a duplicate names both places).
 */
export async function loadRules(specs: readonly string[]): Promise<CompiledRule[]> {
  if (specs.length === 0) throw new RulesError({ input: "rules", problem: "give a rules file or builtin" });
  const all: CompiledRule[] = [];
  const byId = new Map<string, CompiledRule>();
  for (const spec of specs) {
    let text: string;
    if (spec === BUILTIN_NAME) text = BUILTIN_PACK;
    else {
      const fail = (problem: string) =>
        new RulesError({ input: "rules", problem: `${spec} ${problem}; give a rules file or builtin` });
      const bytes = await readRegularFile(spec, MAX_RULES_BYTES, fail, "a rules file");
      if (bytes === undefined)
        throw new RulesError({
          input: "rules",
          problem: `cannot read ${spec} (ENOENT); give a rules file or builtin`,
        });
      text = bytes.toString("utf8");
    }
    for (const rule of parseRules(spec, text)) {
      const other = byId.get(rule.id);
      if (other !== undefined) {
        // `rules check`, `rules test` and `watch` all come here: one definition of "ids are unique".
        const same = other.source === spec || resolve(other.source) === resolve(spec);
        throw new RulesError(
          `${spec}: rule "${rule.id}": id: already defined in ${other.source}${same ? " (the same file, given twice)" : ""}`,
        );
      }
      byId.set(rule.id, rule);
      all.push(rule);
    }
  }
  return all;
}
