/**
 * Keeps one Node warning off the CLI's stderr: DEP0123 ("Setting the TLS ServerName to an IP
 * address…"), which grpc-js triggers on every TLS connection to an IP address (it always sets the
 * server name to the host). The user can do nothing about it, and it would turn a one-line error
 * into three lines. Likewise the AWS SDK's NodeVersionSupportWarning (the SDK's future Node
 * requirement, nine lines on every `s3://` run under Node 20). Every other warning still prints.
 */
const emitWarning = process.emitWarning.bind(process);

process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const code =
    typeof rest[0] === "object" && rest[0] !== null ? (rest[0] as { code?: unknown }).code : rest[1];
  if (code === "DEP0123") return;
  if (typeof warning === "string" && warning.startsWith("NodeVersionSupportWarning:")) return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;
