/** How the verifier's modules stop at the first problem: they throw one, verifyLog reports it. */

import { ClarifaiAuditError } from "@clarifai-audit/client/internal/domain/errors.js";
import type { ProblemKind, VerifyProblem } from "./types.js";

/** The first problem found, thrown up to verifyLog (never out of the layer). */
export class NotVerified extends ClarifaiAuditError {
  override name = "NotVerified";
  constructor(readonly problem: VerifyProblem) {
    super(problem.message);
  }
}

/** Throws the problem `kind` in `file` (message: one line, naming the file first). */
export function fail(
  kind: ProblemKind,
  file: string,
  message: string,
  at: { entry?: number; digest?: string } = {},
): never {
  throw new NotVerified({
    kind,
    file,
    ...(at.entry !== undefined ? { entry: at.entry } : {}),
    ...(at.digest !== undefined ? { digest: at.digest } : {}),
    message,
  });
}

/** `a, b and c` (at most `max` named, then how many more). */
export function listed(items: readonly string[], max = 20): string {
  const shown = items.slice(0, max);
  const more = items.length - shown.length;
  const head = shown.length > 1 ? `${shown.slice(0, -1).join(", ")} and ${shown.at(-1)}` : (shown[0] ?? "");
  return more > 0 ? `${shown.join(", ")} and ${more} more` : head;
}
