/**
 * Library messages in the CLI's words. The library names its options in backticks by their library
 * names (`` `lake`: /x does not exist ``, `` pass `force` to overwrite it ``; packages/client/src/domain/errors.ts);
 * on the command line each is the flag that sets it. This table is the one place that knows which
 * flag sets which option.
 */

/** Library option name → the flag (or argument) that sets it on the command line. */
export const FLAG_OF_OPTION: Readonly<Record<string, string>> = {
  // The stream destinations' options (packages/cli/src/sync/destination.ts DestinationOptions).
  ca: "--ca",
  checkpoint: "--checkpoint",
  concurrency: "--concurrency",
  deadLetter: "--dead-letter",
  // The fields of a resume identity (packages/client/src/export/identity.ts's identityMismatch).
  endpoint: "--endpoint",
  force: "--force",
  format: "--format",
  from: "--from",
  input: "--input",
  insecure: "--insecure",
  key: "--key",
  lake: "--lake",
  lookbackMs: "--lookback",
  memoryLimit: "--max-memory",
  operations: "--operation",
  out: "--out",
  pdf: "--pdf",
  proof: "--proof",
  perPage: "--per-page",
  resume: "--resume",
  rules: "--rules",
  // Signed logs (docs/verifiable-logs.md): the keys and the time-stamping authority.
  sign: "--sign",
  since: "--since",
  sourceIps: "--source-ip",
  statePath: "--checkpoint",
  // sync's destination: a lake folder or a PostgreSQL URL (sync names --lake itself when it was given).
  store: "--dest",
  target: "--target",
  targets: "--target",
  to: "--to",
  tsa: "--tsa",
  // verify's time-stamping authorities' certificates (packages/cli/src/verify VerifyOptions).
  tsaCerts: "--tsa-cert",
  until: "--until",
  userId: "--user-id",
  userIds: "--actor",
};

/** A name in backticks: a library option, or (passed by the CLI itself) already a flag. */
const OPTION_NAME = /`(--[a-z][a-z-]*|[A-Za-z][\w.[\]]*)`/g;

/**
 * `message` with each backticked option name as its flag; a name the table does not have (an
 * option the CLI does not expose, such as `query.page`) loses only its backticks.
 */
export function renderMessage(message: string): string {
  return message.replace(OPTION_NAME, (_all, name: string) =>
    Object.hasOwn(FLAG_OF_OPTION, name) ? (FLAG_OF_OPTION[name] as string) : name,
  );
}
