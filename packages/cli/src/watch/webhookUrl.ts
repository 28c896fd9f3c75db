/**
 * What a webhook URL may be, checked before any alert is sent (watch's --alert-webhook and
 * --alert-slack, the collector config's alert_webhook and alert_slack): http(s), without user info
 * (fetch refuses such a URL at every delivery, quoting it whole). Its credentials (user info, query,
 * Slack's path) are registered as secrets first, so no message ever quotes them.
 */
import {
  redactUrl,
  registerSecret,
  registerUrlSecrets,
} from "@clarifai-audit/client/internal/domain/redact.js";

/** How a webhook's body is shaped: the alert as JSON, or Slack's incoming-webhook message. */
export type WebhookFlavour = "json" | "slack";

/**
 * Why `url` cannot be a webhook (one clause, the URL redacted), or undefined when it can.
 * `secretOption` names what signs bodies where the caller is (`--alert-secret`, `alert_secret_env`).
 */
export function webhookUrlProblem(
  url: string,
  flavour: WebhookFlavour,
  secretOption: string,
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
  if (parsed.username !== "" || parsed.password !== "")
    return `${JSON.stringify(redactUrl(url))}: user info (user:password@) in a webhook URL is not supported: put the receiver's token in its path or query, or check bodies with ${secretOption}`;
  return undefined;
}
