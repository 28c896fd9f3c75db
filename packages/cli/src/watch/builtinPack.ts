/**
 * The built-in rule pack (`--rules builtin`), embedded as YAML text so that it ships inside the
 * bundle and reads exactly like a user's rules file (docs/cli/rules.md, "The built-in pack", explains each threshold).
 */

/** The name that selects the built-in pack in `--rules`. */
export const BUILTIN_NAME = "builtin";

/** The built-in pack, in the rules-file format. */
export const BUILTIN_PACK = `# clarifai-audit built-in rules. Thresholds are explained in docs/cli/rules.md (The built-in pack).
rules:
  - id: mass-model-deletion
    title: Many models deleted by one user in a short time
    severity: high
    match: { operations: [MODEL_DELETE], success: true }
    threshold: { count: 5, within: 10m, by: user_id }

  - id: mass-app-deletion
    title: Several apps deleted by one user in a short time
    severity: critical
    match: { operations: [APPLICATION_DELETE], success: true }
    threshold: { count: 3, within: 10m, by: user_id }

  - id: mass-workflow-deletion
    title: Many workflows deleted by one user in a short time
    severity: high
    match: { operations: [WORKFLOW_DELETE], success: true }
    threshold: { count: 5, within: 10m, by: user_id }

  - id: failure-burst
    title: Burst of failed operations by one user
    severity: medium
    match: { success: false }
    threshold: { count: 10, within: 5m, by: user_id }

  - id: collaborator-added
    title: A collaborator was added to an app
    severity: medium
    match: { operations: [COLLABORATOR_ADD], success: true }

  - id: collaborator-scopes-changed
    title: A collaborator's scopes were changed
    severity: medium
    match: { operations: [COLLABORATOR_UPDATE], success: true }

  - id: org-member-role-changed
    title: An organization member's role was changed
    severity: high
    match: { operations: [ORGANIZATION_MEMBER_CHANGE], success: true }

  - id: org-member-removed
    title: An organization member was removed
    severity: medium
    match: { operations: [ORGANIZATION_MEMBER_REMOVE], success: true }

  - id: team-app-removed
    title: An app was removed from a team
    severity: low
    match: { operations: [ORGANIZATION_TEAM_APP_REMOVE], success: true }

  - id: deployment-deleted
    title: A deployment was deleted
    severity: medium
    match: { operations: [DEPLOYMENT_DELETE], success: true }

  - id: compute-cluster-deleted
    title: A compute cluster was deleted
    severity: high
    match: { operations: [COMPUTE_CLUSTER_DELETE], success: true }

  - id: new-source-ip
    title: A user acted from a source IP not seen for them before
    severity: medium
    new_value: { field: source_ip, by: user_id, learn: 7d }
`;
