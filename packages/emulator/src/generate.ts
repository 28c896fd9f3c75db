/**
 * Deterministic synthetic audit-log entries: a realistic spread of users, every EventType, targets
 * of all 13 kinds in the combinations Clarifai records (model+app, workflow+workflow_version+app,
 * team+user, …), mostly-successful outcomes, IPv4 and IPv6 sources, one request id shared by the
 * entries a request produced, and ties (equal timestamps). Timestamps have microsecond precision,
 * like Clarifai's. Targets and users are pooled objects, so a million entries stay compact.
 */
import type { Timestamp } from "@clarifai-audit/client/internal/generated/google/protobuf/timestamp.js";
import {
  type AuditLogEntry,
  AuditLogTarget,
  type DeepPartial,
  EventType,
  User,
} from "@clarifai-audit/client/internal/generated/proto/clarifai/api/resources.js";
import { Rng } from "./rng.js";
import {
  ADJ,
  ALL_EVENT_TYPES,
  DEFAULT_USER_IDS,
  DESCRIPTIONS,
  FIRST,
  FOLLOW_UPS,
  LAST,
  NOUN,
  ROLES,
  VERBS,
} from "./vocabulary.js";

/** Options of {@link generateEntries}. */
export interface GenerateOptions {
  /** Time of the first entry, in Unix seconds. Default 1735689600 (2025-01-01T00:00:00Z). */
  startSeconds?: number;
  /** Ids of the users who perform the operations. Default: ten made-up members. */
  userIds?: string[];
}

const DEFAULT_START_SECONDS = 1735689600;
function words(rng: Rng, a: readonly string[], b: readonly string[], n: number): string[] {
  const out = new Set<string>();
  while (out.size < n) out.add(`${rng.pick(a)}-${rng.pick(b)}-${rng.int(1000)}`);
  return [...out];
}

/** The pools of ids every entry draws from; built once per generator from its seed. */
class World {
  readonly users: User[];
  readonly userIps: string[];
  readonly ips: string[];
  readonly apps: string[];
  readonly models: { id: string; app: string; versions: string[] }[];
  readonly workflows: { id: string; app: string; versions: string[] }[];
  readonly modules: { id: string; app: string; versions: string[] }[];
  readonly teams: string[];
  readonly roles = [
    "org-admin",
    "org-contributor",
    "org-financial-manager",
    "team-contributor",
    "team-viewer",
  ];
  readonly clusters: { id: string; nodepools: string[] }[];
  readonly deployments: { id: string; cluster: number; nodepool: string }[];
  readonly invitees: string[];
  private readonly targetCache = new Map<string, AuditLogTarget>();

  constructor(rng: Rng, userIds: string[]) {
    this.users = userIds.map((id, i) =>
      User.fromPartial({
        id,
        firstName: FIRST[i % FIRST.length],
        lastName: LAST[i % LAST.length],
        companyName: "Emulated Co",
        jobTitle: i % 3 === 0 ? "Dev" : "Engineer",
        jobRole: ROLES[i % ROLES.length],
        intention: "Train a custom model",
        createdAt: { seconds: 1704067200 + i * 86400 * 7 + rng.int(86400), nanos: rng.int(1_000_000) * 1000 },
        visibility: { gettable: 10 },
      }),
    );
    this.ips = [];
    for (let i = 0; i < 24; i++)
      this.ips.push(`${3 + rng.int(200)}.${rng.int(256)}.${rng.int(256)}.${1 + rng.int(254)}`);
    for (let i = 0; i < 8; i++)
      this.ips.push(`2001:db8:${rng.hex(4)}:${rng.hex(4)}::${rng.int(0xffff).toString(16)}`);
    this.userIps = this.users.map(() => rng.pick(this.ips));
    this.apps = words(rng, ADJ, NOUN, 40);
    const versions = (n: number) => Array.from({ length: n }, () => rng.hex(32));
    this.models = words(rng, ADJ, ["classifier", "detector", "embedder", "llm", "ocr"], 120).map((id) => ({
      id,
      app: rng.pick(this.apps),
      versions: versions(1 + rng.int(4)),
    }));
    this.workflows = words(rng, ADJ, ["workflow", "pipeline", "flow"], 60).map((id) => ({
      id,
      app: rng.pick(this.apps),
      versions: versions(1 + rng.int(4)),
    }));
    this.modules = words(rng, ADJ, ["module", "dashboard", "labeler"], 30).map((id) => ({
      id,
      app: rng.pick(this.apps),
      versions: Array.from({ length: 1 + rng.int(3) }, (_, i) => `v${i + 1}.0.${rng.int(10)}`),
    }));
    this.teams = words(rng, ["data", "ml", "platform", "research", "ops"], ["team", "squad", "group"], 12);
    this.clusters = [
      "aws-us-east-1",
      "aws-eu-west-1",
      "gcp-us-central1",
      "azure-westus",
      "vultr-ny",
      "local-dev",
    ].map((id) => ({ id, nodepools: ["gpu-a10g", "gpu-l4", "cpu-general"].map((n) => `${id}-${n}`) }));
    this.deployments = Array.from({ length: 20 }, (_, i) => {
      const cluster = rng.int(this.clusters.length);
      return {
        id: `deploy-${rng.pick(this.models).id}-${i}`,
        cluster,
        nodepool: rng.pick((this.clusters[cluster] as { nodepools: string[] }).nodepools),
      };
    });
    this.invitees = Array.from({ length: 30 }, (_, i) => `member-${i}-${rng.hex(4)}`);
  }

  /** One pooled AuditLogTarget per distinct target, built through fromPartial (all defaults set). */
  target(key: string, build: () => DeepPartial<AuditLogTarget>): AuditLogTarget {
    let t = this.targetCache.get(key);
    if (t === undefined) {
      t = AuditLogTarget.fromPartial(build());
      this.targetCache.set(key, t);
    }
    return t;
  }
}

interface Shaped {
  targets: AuditLogTarget[];
  details: string;
}

/** Targets and a details line for one operation, in the combinations Clarifai records. */
function shape(w: World, rng: Rng, op: EventType, actor: User): Shaped {
  const app = (id: string) => w.target(`app:${id}`, () => ({ app: { id } }));
  const user = (id: string) => w.target(`user:${id}`, () => ({ user: { id } }));
  const family = Math.floor(op / 100);
  const Verb = VERBS.get(op) ?? "Change";
  switch (family) {
    case 1: {
      if (op >= EventType.ORGANIZATION_TEAM_CREATE) {
        const team = rng.pick(w.teams);
        const t = w.target(`team:${team}`, () => ({ team: { id: team, name: team } }));
        if (op <= EventType.ORGANIZATION_TEAM_DELETE)
          return { targets: [t], details: `${Verb} team '${team}'` };
        if (op <= EventType.ORGANIZATION_TEAM_MEMBER_REMOVE) {
          const member = rng.pick(w.users).id;
          return { targets: [t, user(member)], details: `${Verb} user '${member}' in team '${team}'` };
        }
        const a = rng.pick(w.apps);
        return { targets: [t, app(a)], details: `${Verb} application '${a}' for team '${team}'` };
      }
      const member = rng.pick(w.invitees);
      if (op === EventType.ORGANIZATION_MEMBER_CHANGE || op === EventType.ORGANIZATION_MEMBER_ADD) {
        const role = rng.pick(w.roles);
        const r = w.target(`role:${role}`, () => ({ role: { id: role, name: role } }));
        return { targets: [user(member), r], details: `${Verb} member '${member}' with role '${role}'` };
      }
      return { targets: [user(member)], details: `${Verb} invitation for '${member}'` };
    }
    case 2: {
      const m = rng.pick(w.modules);
      const mt = w.target(`module:${m.id}`, () => ({ module: { id: m.id, appId: m.app, userId: actor.id } }));
      if (op < EventType.MODULE_VERSION_CREATE) {
        return { targets: [mt, app(m.app)], details: `${Verb} module '${m.id}'` };
      }
      const v = rng.pick(m.versions);
      const vt = w.target(`module_version:${m.id}:${v}`, () => ({
        moduleVersion: { id: v, moduleId: m.id, appId: m.app, userId: actor.id },
      }));
      return { targets: [mt, vt, app(m.app)], details: `${Verb} module version '${v}' for module '${m.id}'` };
    }
    case 3: {
      const m = rng.pick(w.models);
      const mt = w.target(`model:${m.id}`, () => ({ model: { id: m.id, appId: m.app } }));
      if (op < EventType.MODEL_VERSION_CREATE) {
        return { targets: [mt, app(m.app)], details: `${Verb} model '${m.id}'` };
      }
      const v = rng.pick(m.versions);
      const vt = w.target(`model_version:${v}`, () => ({ modelVersion: { id: v, appId: m.app } }));
      return { targets: [mt, vt, app(m.app)], details: `${Verb} model version '${v}' for model '${m.id}'` };
    }
    case 4: {
      const f = rng.pick(w.workflows);
      const ft = w.target(`workflow:${f.id}`, () => ({ workflow: { id: f.id } }));
      if (op < EventType.WORKFLOW_VERSION_CREATE) {
        return { targets: [ft, app(f.app)], details: `${Verb} workflow '${f.id}'` };
      }
      const v = rng.pick(f.versions);
      const vt = w.target(`workflow_version:${v}`, () => ({ workflowVersion: { id: v } }));
      return {
        targets: [ft, vt, app(f.app)],
        details: `${Verb} workflow version '${v}' for workflow '${f.id}'`,
      };
    }
    case 6: {
      const a = rng.pick(w.apps);
      return { targets: [app(a)], details: `${Verb} application '${a}'` };
    }
    case 7: {
      const a = rng.pick(w.apps);
      const c = rng.pick(w.invitees);
      return { targets: [app(a), user(c)], details: `${Verb} collaborator '${c}' on application '${a}'` };
    }
    case 8:
      return {
        targets: [user(actor.id)],
        details: `Update user '${actor.id}': ${rng.pick(["job_title", "company_name", "visibility", "two_factor_auth_enabled"])}`,
      };
    case 9: {
      const c = rng.pick(w.clusters);
      const ct = w.target(`compute_cluster:${c.id}`, () => ({
        computeCluster: { id: c.id, userId: actor.id },
      }));
      return { targets: [ct], details: `${Verb} compute cluster '${c.id}'` };
    }
    case 10: {
      const c = rng.pick(w.clusters);
      const n = rng.pick(c.nodepools);
      const ct = w.target(`compute_cluster:${c.id}`, () => ({
        computeCluster: { id: c.id, userId: actor.id },
      }));
      const nt = w.target(`nodepool:${n}`, () => ({ nodepool: { id: n, computeCluster: { id: c.id } } }));
      return { targets: [nt, ct], details: `${Verb} nodepool '${n}' in compute cluster '${c.id}'` };
    }
    default: {
      const d = rng.pick(w.deployments);
      const c = w.clusters[d.cluster] as { id: string };
      const dt = w.target(`deployment:${d.id}`, () => ({ deployment: { id: d.id, userId: actor.id } }));
      const nt = w.target(`nodepool:${d.nodepool}`, () => ({
        nodepool: { id: d.nodepool, computeCluster: { id: c.id } },
      }));
      return { targets: [dt, nt], details: `${Verb} deployment '${d.id}' on nodepool '${d.nodepool}'` };
    }
  }
}

/**
 * An endless, seeded stream of entries in timestamp order. `next()` returns the entries of one
 * request (1–3, same req_id); {@link EntryGenerator.at} makes one request at a chosen time.
 */
export class EntryGenerator {
  private readonly rng: Rng;
  private readonly world: World;
  private secs: number;
  private micros = 0;

  constructor(seed: number, opts: GenerateOptions = {}) {
    this.rng = new Rng(seed);
    const userIds = opts.userIds && opts.userIds.length > 0 ? opts.userIds : DEFAULT_USER_IDS;
    this.world = new World(this.rng, userIds);
    this.secs = opts.startSeconds ?? DEFAULT_START_SECONDS;
  }

  /** Moves the clock forward to `t` if it is behind it. */
  advanceTo(t: Timestamp): void {
    const micros = Math.floor(t.nanos / 1000);
    if (t.seconds > this.secs || (t.seconds === this.secs && micros > this.micros)) {
      this.secs = t.seconds;
      this.micros = micros;
    }
  }

  private tick(maxMicros: number): void {
    this.micros += this.rng.int(maxMicros);
    if (this.micros >= 1_000_000) {
      this.secs += Math.floor(this.micros / 1_000_000);
      this.micros %= 1_000_000;
    }
  }

  /** The entries of the next request, after the previous one (or at the same instant: ties). */
  next(): AuditLogEntry[] {
    const r = this.rng.next();
    // 4% of requests land on the previous request's exact timestamp; the rest spread out.
    if (r >= 0.04) this.tick(r < 0.5 ? 2_000_000 : 60_000_000);
    return this.request(this.secs, this.micros, true);
  }

  /** One request recorded at (secs, micros): a late arrival when that is in the past. */
  at(secs: number, micros: number): AuditLogEntry[] {
    return this.request(secs, micros, false);
  }

  private request(secs: number, micros: number, advance: boolean): AuditLogEntry[] {
    const { rng, world } = this;
    const ui = rng.int(world.users.length);
    const actor = world.users[ui] as User;
    const sourceIp = rng.chance(0.85) ? (world.userIps[ui] as string) : rng.pick(world.ips);
    const channel = rng.next();
    const reqId = `${channel < 0.6 ? "webportal-" : channel < 0.85 ? "sdk-" : ""}${rng.hex(32)}`;
    const ops: EventType[] = [rng.pick(ALL_EVENT_TYPES)];
    const follow = FOLLOW_UPS[ops[0] as number];
    if (follow !== undefined && rng.chance(0.5)) ops.push(...follow.slice(0, 1 + rng.int(follow.length)));
    const success = rng.chance(0.93);
    const out: AuditLogEntry[] = [];
    let s = secs;
    let us = micros;
    for (let i = 0; i < ops.length; i++) {
      if (i > 0 && rng.chance(0.7)) {
        us += 1 + rng.int(40_000);
        if (us >= 1_000_000) {
          s += 1;
          us -= 1_000_000;
        }
      }
      const op = ops[i] as EventType;
      const sh = shape(world, rng, op, actor);
      const ok = i === 0 ? success : success && rng.chance(0.98);
      out.push({
        timestamp: { seconds: s, nanos: us * 1000 },
        user: actor,
        operation: op,
        description: DESCRIPTIONS[op] ?? "",
        targets: sh.targets,
        details: ok ? [sh.details] : [sh.details, "Failed: permission denied"],
        success: ok,
        reqId,
        sourceIp,
      });
      if (!ok) break;
    }
    if (advance) {
      this.secs = s;
      this.micros = us;
    }
    return out;
  }
}

/** Yields `count` generated entries in timestamp order, without holding them all. */
export function* generateEntryStream(
  count: number,
  seed: number,
  opts?: GenerateOptions,
): Generator<AuditLogEntry> {
  const g = new EntryGenerator(seed, opts);
  let n = 0;
  while (n < count) {
    for (const e of g.next()) {
      if (n++ >= count) return;
      yield e;
    }
  }
}

/**
 * `count` deterministic synthetic entries (same seed and options → same entries), oldest first.
 * Users and targets are shared objects: treat the result as read-only.
 */
export function generateEntries(count: number, seed: number, opts?: GenerateOptions): AuditLogEntry[] {
  if (!Number.isInteger(count) || count < 0)
    throw new RangeError(`count must be a non-negative integer, got ${count}`);
  return [...generateEntryStream(count, seed, opts)];
}
