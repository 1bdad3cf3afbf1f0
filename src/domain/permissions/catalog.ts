import { AI_FEATURE_PERMISSIONS } from './catalog/ai-features.js'
import { ADMINISTRATION_PERMISSIONS } from './catalog/administration.js'
import { CI_CD_PERMISSIONS } from './catalog/ci-cd.js'
import { DEPLOYMENT_PERMISSIONS } from './catalog/deployments.js'
import { GROUP_PERMISSIONS } from './catalog/groups.js'
import { INTEGRATION_PERMISSIONS } from './catalog/integrations.js'
import { MERGE_REQUEST_PERMISSIONS } from './catalog/merge-requests.js'
import { MONITORING_PERMISSIONS } from './catalog/monitoring.js'
import { NOTE_PERMISSIONS } from './catalog/notes.js'
import { PACKAGE_PERMISSIONS } from './catalog/packages.js'
import { PLANNING_PERMISSIONS } from './catalog/planning.js'
import { PROJECT_PERMISSIONS } from './catalog/projects.js'
import { RELEASE_PERMISSIONS } from './catalog/releases.js'
import { REPOSITORY_PERMISSIONS } from './catalog/repository.js'
import { SECURITY_PERMISSIONS } from './catalog/security.js'
import { SNIPPET_PERMISSIONS } from './catalog/snippets.js'
import { USER_PERMISSIONS } from './catalog/user.js'
import { WIKI_PERMISSIONS } from './catalog/wiki.js'
import type { Permission } from './types.js'

/**
 * Every permission, grouped by category in the order of CATEGORIES. This order is the
 * "catalog order" that listings and search ties fall back to.
 */
export const PERMISSIONS: readonly Permission[] = Object.freeze([
  ...REPOSITORY_PERMISSIONS,
  ...MERGE_REQUEST_PERMISSIONS,
  ...CI_CD_PERMISSIONS,
  ...PACKAGE_PERMISSIONS,
  ...PLANNING_PERMISSIONS,
  ...PROJECT_PERMISSIONS,
  ...GROUP_PERMISSIONS,
  ...WIKI_PERMISSIONS,
  ...SECURITY_PERMISSIONS,
  ...MONITORING_PERMISSIONS,
  ...DEPLOYMENT_PERMISSIONS,
  ...RELEASE_PERMISSIONS,
  ...NOTE_PERMISSIONS,
  ...SNIPPET_PERMISSIONS,
  ...USER_PERMISSIONS,
  ...INTEGRATION_PERMISSIONS,
  ...AI_FEATURE_PERMISSIONS,
  ...ADMINISTRATION_PERMISSIONS,
])
