// Built-in templates for common jobs: least privilege as the easy path. Read-only (ids 1-999 are
// reserved for them; stored templates start at 1001). A selected_memberships scope without ids takes
// the groups/projects given on token creation (`template_targets`).
import type { GranularScopeInput } from '../../domain/scopes.js'

export interface TemplateDefinition {
  id: number
  name: string
  description: string
  granular_scopes: GranularScopeInput[]
  default_lifetime_days: number | null
}

const selected = (permissions: string[]): GranularScopeInput => ({ access: 'selected_memberships', permissions })

export const BUILTIN_TEMPLATES: readonly TemplateDefinition[] = [
  {
    id: 1, name: 'Read-only repository access', default_lifetime_days: 90,
    description: 'Clone and read code, merge requests and releases of the chosen projects or groups (mirrors, code search, backups).',
    granular_scopes: [selected(['read_code', 'download_code_archive', 'read_merge_request', 'read_release'])],
  },
  {
    id: 2, name: 'CI/CD pipeline trigger', default_lifetime_days: 90,
    description: 'Start pipelines and jobs and read their results on the chosen projects (chatops, external schedulers).',
    granular_scopes: [selected(['read_pipeline', 'create_pipeline', 'read_job', 'read_job_log', 'run_job'])],
  },
  {
    id: 3, name: 'Package publishing', default_lifetime_days: 180,
    description: 'Read and publish packages and container images on the chosen projects (release pipelines outside CI).',
    granular_scopes: [selected(['read_package', 'publish_package', 'read_container_image', 'push_container_image'])],
  },
  {
    id: 4, name: 'Issue-tracker integration', default_lifetime_days: 180,
    description: 'Read, create and update issues, labels and comments on the chosen projects or groups (help desks, chat bots).',
    granular_scopes: [selected(['read_issue', 'create_issue', 'update_issue', 'read_label', 'read_note', 'create_note'])],
  },
  {
    id: 5, name: 'Release automation', default_lifetime_days: 90,
    description: 'Create tags and releases and read code on the chosen projects (changelog and release tooling).',
    granular_scopes: [selected(['read_code', 'create_tag', 'read_release', 'create_release', 'update_release'])],
  },
  {
    id: 6, name: 'Read-only auditor', default_lifetime_days: 30,
    description: 'Read projects, members, audit events and security reports everywhere the owner is a member; changes nothing.',
    granular_scopes: [
      { access: 'all_memberships', permissions: ['read_project', 'read_group', 'read_project_member', 'read_group_member', 'read_group_audit_events', 'read_security_report', 'read_vulnerability'] },
      { access: 'user', permissions: ['read_user'] },
    ],
  },
]

export const FIRST_STORED_TEMPLATE_ID = 1001
