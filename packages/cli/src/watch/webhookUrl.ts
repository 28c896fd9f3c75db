/**
 * The one check of an alert webhook URL (`watch --alert-webhook/--alert-slack`, the collector's
 * `alert_webhook`/`alert_slack`), which also registers the URL's secrets with the redactor so that
 * no message ever quotes them.
 */
import {
  redactUrl,
  registerSecret,
  registerUrlSecrets,
} from "@clarifai-audit/client/internal/domain/redact.js";

/**
 * Registers the secrets of `url` (user info, query, and Slack's key, the path's last segment) and
 * returns what makes it unusable as a webhook, or undefined. The problem quotes the URL redacted.
 */
export function webhookUrlProblem(
  url: string,
  flavour: "json" | "slack",
  remedy: string,
): string | undefined {
  // Credentials in the user info or query (and Slack's path, which is the credential) never reach
  // a message, whatever quotes the URL (undici's errors do).
  registerUrlSecrets(url);
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {}
  // Slack's secret is the path's last segment (24 characters); a short one is a test receiver's.
  const slackKey = parsed?.pathname.split("/").pop() ?? "";
  if (flavour === "slack" && slackKey.length >= 12) registerSecret(slackKey);
  if (parsed === undefined || (parsed.protocol !== "http:" && parsed.protocol !== "https:"))
    return `${JSON.stringify(redactUrl(url))} is not an http(s) URL`;
  // fetch refuses such a URL at every delivery (quoting it whole); refused here, once, without it.
  if (parsed.username !== "" || parsed.password !== "")
    return `${JSON.stringify(redactUrl(url))}: user info (user:password@) in a webhook URL is not supported: put the receiver's token in its path or query, or ${remedy}`;
  return undefined;
}
