/**
 * The text forms of a target filter, read back: `kind=[scope/…]id`, and every form the CLI prints an
 * entry's targets in, so that what a user copies from an output is accepted as a filter:
 * `model:app1/m1` (CSV, search's table), `model:m1;app:app1` (an entry's targets joined by `;`, `,`
 * or spaces, as CSV, the table, report tables and alert texts join them), `model=m1` (alert text),
 * and the REST JSON of jsonl/json (`{"model":{"id":"m1","app_id":""}}` or an entry's `targets` array).
 */
import { camelToSnake, snakeToCamel } from "./caseNames.js";
import { AuditUsageError } from "./errors.js";
import { isPlainObject } from "./plainObject.js";
import { TARGET_KIND_TABLE, TARGET_KINDS, type TargetInput, type TargetKind } from "./targets.js";

/** One target of a text, in the short form's camelCase fields. */
interface Part {
  readonly kind: TargetKind;
  readonly fields: Record<string, string>;
  /** How the text wrote it, for messages. */
  readonly text: string;
}

/** A target text {@link parseTargetText} refuses. */
function targetProblem(problem: string): AuditUsageError {
  return new AuditUsageError({ input: "target", problem, allowed: targetForms() });
}

/** The id-path forms of each kind, for help and errors. */
function targetForms(): string {
  return TARGET_KINDS.map((kind) =>
    TARGET_KIND_TABLE[kind].cliPaths.map((f) => `${camelToSnake(kind)}=${idPath(f)}`).join(" | "),
  ).join(", ");
}

function idPath(scope: readonly string[]): string {
  return [...scope.map(camelToSnake), "id"].join("/");
}

/** A kind as written (snake, camel or kebab case), or a refusal naming the kinds. */
function kindOf(rawKind: string): TargetKind {
  // Kebab-case (`model-version`) is taken too: it is how command lines spell kinds.
  const kind = snakeToCamel(rawKind.replace(/-/g, "_"));
  if (!Object.hasOwn(TARGET_KIND_TABLE, kind)) {
    throw targetProblem(`unknown kind "${rawKind}" (kinds: ${TARGET_KINDS.map(camelToSnake).join(", ")})`);
  }
  return kind as TargetKind;
}

/** `kind=path` or `kind:path` (the printed form): the last segment is the id, those before it scope it. */
function pathPart(text: string): Part {
  const sep = text.search(/[=:]/);
  if (sep <= 0) throw targetProblem(`"${text}" is not kind=id (forms: ${targetForms()})`);
  const kind = kindOf(text.slice(0, sep).trim());
  const forms = TARGET_KIND_TABLE[kind].cliPaths;
  const parts = text.slice(sep + 1).split("/");
  if (parts.some((p) => p.trim() === "")) throw targetProblem(`empty id segment in "${text}"`);
  const scope = forms.find((f) => f.length === parts.length - 1);
  if (scope === undefined) {
    throw targetProblem(
      `"${text}" has ${parts.length} segments; ${camelToSnake(kind)} accepts ${forms.map(idPath).join(" or ")}`,
    );
  }
  const fields: Record<string, string> = { id: parts[parts.length - 1] as string };
  scope.forEach((name, i) => {
    fields[name] = parts[i] as string;
  });
  return { kind, fields, text };
}

/** A REST JSON (or camelCase) target object: its kind and id-like fields; other fields are ignored. */
function jsonPart(value: unknown, text: string): Part {
  const members = isPlainObject(value) ? Object.entries(value).filter(([, v]) => isPlainObject(v)) : [];
  if (members.length !== 1) {
    throw targetProblem(`${text} is not one target object such as {"model":{"id":"m1","app_id":"app1"}}`);
  }
  const [rawKind, raw] = members[0] as [string, Record<string, unknown>];
  const kind = kindOf(rawKind);
  const fields: Record<string, string> = {};
  for (const name of TARGET_KIND_TABLE[kind].fields) {
    let v = raw[name] ?? raw[camelToSnake(name)];
    if (isPlainObject(v)) v = v.id; // a nodepool's compute_cluster {id}
    if (typeof v === "string" && v !== "") fields[name === "computeCluster" ? "computeClusterId" : name] = v;
  }
  if (fields.id === undefined) throw targetProblem(`${text} has no "id"`);
  return { kind, fields, text: `${camelToSnake(kind)}:${fields.id}` };
}

function jsonParts(body: string): Part[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw targetProblem(`${JSON.stringify(body)} is not JSON: ${(error as Error).message}`);
  }
  return (Array.isArray(value) ? value : [value]).map((v) => jsonPart(v, JSON.stringify(v)));
}

/** The field of a `kind` target that a sibling target of `sibling`'s kind fills, if any. */
function scopeField(kind: TargetKind, sibling: TargetKind): string | undefined {
  const spec = TARGET_KIND_TABLE[kind];
  if (sibling === "app" && spec.fields.includes("appId")) return "appId";
  if (spec.parentKind === sibling) return kind === "nodepool" ? "computeClusterId" : spec.parent;
  return undefined;
}

/**
 * Folds an entry's targets into the one filter they describe: an app or parent printed beside a
 * target becomes its scope (`model:m1;app:a1` is `model=a1/m1`), as the API records scopes.
 */
function fold(parts: readonly Part[], text: string): Part {
  if (parts.length === 1) return parts[0] as Part;
  const folded = new Set<Part>();
  for (const p of parts) {
    for (const q of parts) {
      if (q === p) continue;
      const field = scopeField(q.kind, p.kind);
      if (field !== undefined) {
        const have = q.fields[field];
        if (have !== undefined && have !== p.fields.id) {
          throw targetProblem(
            `"${text}": ${q.text} is in ${camelToSnake(p.kind)} ${have}, not ${p.fields.id}`,
          );
        }
        q.fields[field] = p.fields.id as string;
        // The parent's own scope is the child's too (`module:a1/m1` beside `module_version:v1`).
        for (const name of ["appId", "userId"]) {
          const v = p.fields[name];
          if (
            v !== undefined &&
            q.fields[name] === undefined &&
            TARGET_KIND_TABLE[q.kind].fields.includes(name)
          )
            q.fields[name] = v;
        }
        folded.add(p);
      } else if (TARGET_KIND_TABLE[q.kind].determines?.includes(p.kind)) {
        folded.add(p);
      }
    }
  }
  const left = parts.filter((p) => !folded.has(p));
  if (left.length !== 1) {
    throw targetProblem(
      `"${text}" names ${left.length} resources (${left.map((p) => p.text).join(", ")}) that one target filter cannot combine: the API matches one resource per target (several targets match entries with any of them); give each on its own`,
    );
  }
  return left[0] as Part;
}

/**
 * Parses a target filter's text into the client's short target form: `kind=[scope/…]id`
 * (`model=app1/m1`, `model_version=app1/v1`; snake, camel or kebab-case kinds), or any form the CLI
 * prints an entry's targets in (see the module's comment). Several printed targets must describe
 * one resource with its app or parent; they are folded into it.
 * @throws AuditUsageError with `input` "target", saying what is wrong and which forms are allowed.
 */
export function parseTargetText(text: string): TargetInput {
  const body = text.trim();
  let parts: Part[];
  if (body.startsWith("{") || body.startsWith("[")) parts = jsonParts(body);
  else {
    const items = body.split(/[;,\s]+/).filter((s) => s !== "");
    // "model=my model": a space inside an id, not two printed targets.
    if (/\s/.test(body) && items.some((item) => item.search(/[=:]/) <= 0))
      throw targetProblem(`"${text}": an id has no whitespace`);
    parts = items.map(pathPart);
  }
  if (parts.length === 0) throw targetProblem(`"${text}" names no target (forms: ${targetForms()})`);
  const { kind, fields } = fold(parts, text);
  return { [kind]: Object.keys(fields).length === 1 ? fields.id : { ...fields } } as TargetInput;
}
