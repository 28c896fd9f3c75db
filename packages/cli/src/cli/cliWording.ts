/**
 * The client's validation messages speak the library's language (`pass { pat }`, `insecure: true`);
 * on the command line they must name the flags and variables the user actually has. These rewrite
 * them, field by field (times: packages/cli/src/cli/timeFlag.ts).
 */
import { ValidationError } from "@clarifai-audit/client";
import { UsageError } from "./exitCodes.js";

function shown(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

/** A ValidationError raised while building the client from the flags, in CLI terms. */
export function connectionError(error: ValidationError): UsageError {
  switch (error.field) {
    case "pat":
      return new UsageError(
        error.problem === "malformed PAT"
          ? "CLARIFAI_PAT: malformed PAT (allowed: printable ASCII without spaces or control characters)"
          : "no Personal Access Token: set CLARIFAI_PAT, or use a profile with pat_env, pat_file or pat_command (--profile NAME; see clarifai-audit config list)",
      );
    case "userId":
      return new UsageError(
        error.value === undefined
          ? "no user id: give --user-id, set CLARIFAI_USER_ID, or use a profile with user_id (--profile NAME)"
          : `--user-id: ${error.problem} (got ${shown(error.value)})`,
      );
    case "endpoint":
    case "CLARIFAI_GRPC_BASE": {
      const name = error.field === "endpoint" ? "--endpoint" : "CLARIFAI_GRPC_BASE";
      const problem = error.problem
        .replace("use insecure: true for plaintext", "give host:port, with --insecure for plaintext")
        .replace("CLARIFAI_PAT or the pat option", "CLARIFAI_PAT");
      return new UsageError(`${name}: ${problem} (got ${shown(error.value)}; allowed: ${error.allowed})`);
    }
    case "insecure":
      return new UsageError(
        `--insecure: ${error.problem} (got ${shown(error.value)}); --insecure is for loopback hosts only ` +
          "(127.0.0.0/8, ::1, localhost): drop it to use TLS",
      );
    case "timeoutMs":
      return new UsageError(`--timeout: ${error.problem} (got ${shown(error.value)} ms)`);
    default:
      return new UsageError(error.message);
  }
}

/** Runs `build`, rewording a ValidationError with `reword`. */
export function reworded<T>(build: () => T, reword: (error: ValidationError) => UsageError): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof ValidationError) throw reword(error);
    throw error;
  }
}
