/**
 * One error root (issue 21): every error class of the packages descends from ClarifaiAuditError
 * (packages/client/src/domain/errors.ts), which alone extends a built-in error, so `instanceof ClarifaiAuditError`
 * tells every failure the project raises on purpose from a bug or a runtime error.
 */
import ts from "typescript";
import { sourceFiles } from "./layerCheck.js";

/** `FILE: CLASS extends BASE` for each class of `text` that extends a built-in error class. */
function builtinErrorSubclasses(path: string, text: string): string[] {
  const source = ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isClassLike(node)) {
      for (const clause of node.heritageClauses ?? []) {
        if (clause.token !== ts.SyntaxKind.ExtendsKeyword) continue;
        const base = clause.types[0]?.expression.getText(source) ?? "";
        if (/^(Error|RangeError|TypeError|SyntaxError|AggregateError)$/.test(base))
          found.push(`${path}: ${node.name?.getText(source) ?? "(anonymous)"} extends ${base}`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

test("only ClarifaiAuditError extends a built-in error class", () => {
  const found = [...sourceFiles("packages/client/src", "packages/emulator/src", "packages/cli/src")].flatMap(
    ([p, text]) => builtinErrorSubclasses(p, text),
  );
  expect(found).toEqual(["packages/client/src/domain/errors.ts: ClarifaiAuditError extends Error"]);
});

test("the scan sees classes, class expressions and every built-in error base", () => {
  const text = [
    "class A extends Error {}",
    "export class B extends ClarifaiAuditError {}",
    "const C = class extends RangeError {};",
    "class D extends TypeError {}",
  ].join("\n");
  expect(builtinErrorSubclasses("x.ts", text)).toEqual([
    "x.ts: A extends Error",
    "x.ts: (anonymous) extends RangeError",
    "x.ts: D extends TypeError",
  ]);
});
