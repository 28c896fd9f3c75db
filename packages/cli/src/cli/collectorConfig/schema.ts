/**
 * The JSON Schema of the collector's config file (`clarifai-audit run --config FILE`), shipped as
 * packages/cli/schema/collector.schema.json (written by `npm run docs`; test/collector/config.test.ts
 * fails when the file and this const differ) so that editors complete and check the file
 * (`# yaml-language-server: $schema=…`). Every object is closed (`additionalProperties: false`): a
 * misspelt key is refused. An account's connection keys are a profile's (PROFILE_SCHEMA), under the
 * same names; what a schema cannot say (one PAT source, unique ids, known accounts, targets held
 * twice) is checked by packages/cli/src/cli/collectorConfig/load.ts.
 */
import { MAX_PER_PAGE } from "@clarifai-audit/client/internal/domain/limits.js";
import { SYNC_DEFAULTS } from "../commands/sync.js";
import { ALERT_DEFAULTS } from "../commands/watch.js";
import { formatDurationMs } from "../duration.js";
import { PROFILE_KEY_HELP, PROFILE_NAME_PATTERN, PROFILE_SCHEMA } from "../options/configSchema.js";
import { CONCURRENCY_DEFAULT, CONCURRENCY_MAX, SETTLE_DEFAULT_MS } from "../sharedFlags.js";

/** The collector's own defaults (the others are sync's and watch's flags'). */
export const COLLECTOR_DEFAULTS = {
  /** /readyz fails while a destination has been failing for longer than this. */
  unhealthyAfterMs: 300_000,
  /** A lease not renewed for this long may be taken by another instance. */
  leaseMs: 30_000,
  /** How often leases are renewed and free ones looked for. */
  pollMs: 5_000,
  /** The folder of alert checkpoints, relative to the config file's folder. */
  stateDir: "clarifai-audit-state",
} as const;

/** The duration form the CLI's flags take (packages/client/src/domain/duration.ts): `30s`, `1h30m`, `0`. */
const DURATION = {
  type: "string",
  pattern: "^(0|([0-9]+(\\.[0-9]+)?(ms|s|m|h|d|w))+)$",
} as const;

function duration(description: string, defaultMs?: number) {
  return {
    ...DURATION,
    description,
    ...(defaultMs === undefined ? {} : { default: formatDurationMs(defaultMs) }),
  };
}

const STRINGS = { type: "array", items: { type: "string", minLength: 1 }, minItems: 1 } as const;
const STRING_OR_LIST = { anyOf: [{ type: "string", minLength: 1 }, STRINGS] } as const;

/** A profile's keys an account takes: its connection's (a HEC token is a destination's, not an account's). */
const {
  hec_token_env: _hecEnv,
  hec_token_file: _hecFile,
  ...CONNECTION_PROPERTIES
} = PROFILE_SCHEMA.properties;

/** One account: a profile's connection keys, its id and its filters. */
const ACCOUNT_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["id", "user_id"],
  properties: {
    id: {
      type: "string",
      pattern: PROFILE_NAME_PATTERN,
      description: "names the account in metrics, logs, lake partitions (account=ID) and rows",
    },
    ...CONNECTION_PROPERTIES,
    from: {
      type: "string",
      minLength: 1,
      description:
        "a destination's first run starts here (as --from): RFC 3339, a date, today, yesterday, now",
    },
    since: duration("a destination's first run starts this long before the config is loaded (as --since)"),
    operations: { ...STRINGS, description: "only these operations (as --operation)" },
    actors: { ...STRINGS, description: "only entries by these users (as --actor)" },
    targets: { ...STRINGS, description: "only entries on these targets, kind=[scope/…]id (as --target)" },
    success: {
      type: "boolean",
      description: "true: only successful entries (--success); false: only failed ones (--failed)",
    },
    source_ips: { ...STRINGS, description: "only entries from these addresses (as --source-ip)" },
  },
} as const;

/** One destination: a lake folder or a PostgreSQL table (`to`), or detection rules and alert receivers (`rules`). */
const DESTINATION_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["id"],
  properties: {
    id: {
      type: "string",
      pattern: PROFILE_NAME_PATTERN,
      description: "names the destination in metrics, logs and state",
    },
    to: {
      type: "string",
      minLength: 1,
      description:
        "a folder (a Parquet lake per account: DIR/account=ID/), postgres://user@host:port/db[?schema=…], s3://bucket/prefix[?layout=stream] (PREFIX/account=ID/), syslog://host:port, syslog+tls://host:port or splunk+https://host:port[?index=…]",
    },
    table: { type: "string", minLength: 1, description: "PostgreSQL only: the table (default audit_log)" },
    format: {
      type: "string",
      enum: ["json", "ocsf"],
      default: "json",
      description:
        "s3 stream layout, syslog, Splunk HEC: what each entry becomes, its JSON or an OCSF 1.8 event",
    },
    ca: {
      type: "string",
      minLength: 1,
      description: "syslog+tls, Splunk HEC: a PEM file of the CA(s) to trust instead of the system's",
    },
    hec_token_env: {
      type: "string",
      pattern: "^[A-Za-z_][A-Za-z0-9_]*$",
      description: "Splunk HEC: the variable holding the HEC token",
    },
    sign: {
      ...STRING_OR_LIST,
      description:
        "a lake (folder or s3:// lake layout): sign every commit with this Ed25519 private key (mode 0600), or these (old and new while changing keys); each account's lake its own chain of digests",
    },
    tsa: {
      type: "string",
      minLength: 1,
      description:
        "with sign: time-stamp each digest at this RFC 3161 time-stamping authority (http or https URL)",
    },
    hec_token_file: {
      type: "string",
      minLength: 1,
      description: "Splunk HEC: a file (mode 0600) holding the HEC token on its first line",
    },
    accounts: {
      ...STRINGS,
      uniqueItems: true,
      description: "the ids of the accounts it holds (default: all)",
    },
    rules: {
      ...STRING_OR_LIST,
      description: "rules files (relative to the config file's folder) and/or builtin",
    },
    alert_webhook: { ...STRING_OR_LIST, description: "POST each alert as JSON to these http(s) URLs" },
    alert_slack: { ...STRING_OR_LIST, description: "post each alert to these Slack incoming-webhook URLs" },
    alert_exec: {
      ...STRING_OR_LIST,
      description: "run these shell commands with each alert as JSON on stdin",
    },
    alert_secret_env: {
      type: "string",
      pattern: "^[A-Za-z_][A-Za-z0-9_]*$",
      description: "the variable holding the HMAC secret that signs webhook bodies (default: unsigned)",
    },
    alert_timeout: duration("deadline of one delivery attempt", ALERT_DEFAULTS.timeoutMs),
    alert_attempts: {
      type: "integer",
      minimum: 1,
      maximum: ALERT_DEFAULTS.attemptsMax,
      default: ALERT_DEFAULTS.attempts,
      description: "delivery attempts per alert and receiver",
    },
    alert_backoff: duration(
      "delay before the first retry, doubled for each next one",
      ALERT_DEFAULTS.backoffMs,
    ),
  },
} as const;

/** The config file (draft-07, ajv's default draft). */
export const COLLECTOR_SCHEMA = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "clarifai-audit collector config (run --config FILE)",
  type: "object",
  additionalProperties: false,
  required: ["accounts", "destinations"],
  properties: {
    accounts: {
      type: "array",
      minItems: 1,
      items: { $ref: "#/$defs/account" },
      description: "the accounts walked, each once whatever the number of destinations",
    },
    destinations: {
      type: "array",
      minItems: 1,
      items: { $ref: "#/$defs/destination" },
      description: "where the entries go",
    },
    listen: {
      type: "string",
      pattern: "^(\\[[0-9A-Fa-f:.]+\\]|[^\\s:\\[\\]]+):[0-9]{1,5}$",
      description: "host:port of /metrics, /healthz and /readyz (default: no listener)",
    },
    state_dir: {
      type: "string",
      minLength: 1,
      default: `./${COLLECTOR_DEFAULTS.stateDir}`,
      description: "the collector's own state (alert checkpoints), relative to the config file's folder",
    },
    interval: duration(
      "between rounds of an account (as sync --follow's --interval)",
      SYNC_DEFAULTS.intervalMs,
    ),
    settle: duration("leave out the last duration before now (as sync's --settle)", SETTLE_DEFAULT_MS),
    reconcile: duration(
      "re-read this far behind the last run's end (as sync's --reconcile)",
      SYNC_DEFAULTS.reconcileMs,
    ),
    concurrency: {
      type: "integer",
      minimum: 1,
      maximum: CONCURRENCY_MAX,
      default: CONCURRENCY_DEFAULT,
      description: "most pages of an account fetched in parallel (as sync's --concurrency)",
    },
    per_page: {
      type: "integer",
      minimum: 1,
      maximum: MAX_PER_PAGE,
      default: SYNC_DEFAULTS.perPage,
      description: "entries per page (as sync's --per-page)",
    },
    commit_interval: duration(
      "least time between commits (as sync's --commit-interval)",
      SYNC_DEFAULTS.commitIntervalMs,
    ),
    unhealthy_after: duration(
      "/readyz fails while a destination has been failing for longer than this",
      COLLECTOR_DEFAULTS.unhealthyAfterMs,
    ),
    coordination: {
      type: "object",
      additionalProperties: false,
      required: ["url"],
      description: "instances with the same config split the accounts through leases in PostgreSQL",
      properties: {
        url: { type: "string", minLength: 1, description: "postgres://user@host:port/db" },
        group: {
          type: "string",
          pattern: PROFILE_NAME_PATTERN,
          description: "instances of one group share the accounts (default: derived from the account ids)",
        },
        lease: duration(
          "a lease not renewed for this long may be taken by another instance",
          COLLECTOR_DEFAULTS.leaseMs,
        ),
        poll: duration(
          "how often leases are renewed and free ones looked for (at most half the lease)",
          COLLECTOR_DEFAULTS.pollMs,
        ),
      },
    },
  },
  $defs: { account: ACCOUNT_SCHEMA, destination: DESTINATION_SCHEMA },
} as const;

/** What each key holds, for messages (`allowed: …`), by the last name of its path. */
export const COLLECTOR_KEY_HELP: Record<string, string> = {
  ...PROFILE_KEY_HELP,
  id: "1-64 letters, digits, _ . - (starting with a letter or digit)",
  from: "RFC 3339 (2025-01-17T12:04:55Z), a date (2025-01-17), today, yesterday or now, in UTC",
  since: "a duration, e.g. 30d, 24h",
  operations: "a list of operation names, e.g. [MODEL_CREATE]",
  actors: "a list of user ids",
  targets: "a list of kind=[scope/…]id",
  success: "true or false",
  source_ips: "a list of IP addresses",
  to: "a folder, postgres://user@host:port/db, s3://bucket/prefix, syslog://host:port, syslog+tls://host:port or splunk+https://host:port",
  table: "a table name",
  format: "json or ocsf",
  ca: "a PEM file",
  sign: "a private key file, or a list of them",
  tsa: "an http(s) URL of an RFC 3161 time-stamping authority",
  accounts: "a list of account ids",
  rules: "builtin, a rules file, or a list of them",
  alert_webhook: "an http(s) URL or a list of them",
  alert_slack: "a Slack incoming-webhook URL or a list of them",
  alert_exec: "a shell command or a list of them",
  alert_secret_env: "the name of an environment variable",
  alert_attempts: `an integer from 1 to ${ALERT_DEFAULTS.attemptsMax}`,
  listen: "host:port, e.g. 127.0.0.1:9464 or [::1]:9464",
  state_dir: "a folder",
  concurrency: `an integer from 1 to ${CONCURRENCY_MAX}`,
  per_page: `an integer from 1 to ${MAX_PER_PAGE}`,
  coordination: "a map with url, group, lease, poll",
  url: "postgres://user@host:port/db",
  group: "1-64 letters, digits, _ . - (starting with a letter or digit)",
};

/** What a duration key holds. */
export const DURATION_HELP =
  "a duration: a number with a unit (ms, s, m, h, d, w), e.g. 30s, 5m, 1h30m; or 0";

/** Keys holding durations. */
export const DURATION_KEYS = new Set(
  Object.entries({
    ...COLLECTOR_SCHEMA.properties,
    ...ACCOUNT_SCHEMA.properties,
    ...DESTINATION_SCHEMA.properties,
    ...COLLECTOR_SCHEMA.properties.coordination.properties,
  })
    .filter(([, s]) => (s as { pattern?: string }).pattern === DURATION.pattern)
    .map(([k]) => k),
);

/** Where the schema ships, relative to the repository root (`npm run docs` writes it). */
export const COLLECTOR_SCHEMA_FILE = "packages/cli/schema/collector.schema.json";

/** The shipped file's text: {@link COLLECTOR_SCHEMA} as JSON. */
export function collectorSchemaText(): string {
  return `${JSON.stringify(COLLECTOR_SCHEMA, null, 2)}\n`;
}
