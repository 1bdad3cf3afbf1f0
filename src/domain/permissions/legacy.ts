import { PERMISSIONS } from './catalog.js'
import type { LegacyScope } from './types.js'

/**
 * GitLab's legacy token scopes, expressed in catalog permissions so that legacy tokens go
 * through the same decision as fine-grained ones.
 *
 * GitLab's two admin scopes, creatable only for administrators, grant no ordinary API access:
 * - `sudo` is `act_as_user` alone (GitLab's Sudo parameter: requests made as another user). `api`
 *   holds every permission but that one, as in GitLab, where the Sudo parameter needs the sudo scope.
 * - `admin_mode` grants nothing by itself. With `ADMIN_MODE` on (GitLab's Admin Mode), a legacy
 *   token's instance-administration permissions (and its administrator reach over this service's
 *   API) count only when it also holds `admin_mode`; with it off, the scope changes nothing.
 */

const READ_REPOSITORY = ['read_code', 'download_code_archive']

// Everything Git over HTTP can change; repository settings (protection, push rules) are API-only.
const WRITE_REPOSITORY = [
  ...READ_REPOSITORY,
  'push_code',
  'force_push_code',
  'create_branch',
  'delete_branch',
  'create_tag',
  'delete_tag',
]

const READ_REGISTRY = ['read_container_image', 'read_dependency_proxy']

const WRITE_REGISTRY = [...READ_REGISTRY, 'push_container_image']

/** Computed from the catalog so a new read permission is covered by `read_api` automatically. */
const EVERY_READ = PERMISSIONS.filter((permission) => permission.access === 'read').map(
  (permission) => permission.name,
)

export const LEGACY_SCOPES: readonly LegacyScope[] = Object.freeze(
  (
    [
      {
        name: 'api',
        description: 'Complete read and write access to the API, including all groups, projects, registries and the repository.',
        permissions: 'all',
        except: ['act_as_user'],
      },
      {
        name: 'read_api',
        description: 'Read access to the API, including all groups and projects, the registries and the repository.',
        permissions: EVERY_READ,
      },
      {
        name: 'read_user',
        description: "Read access to the authenticated user's profile, keys and emails, and to public user profiles.",
        permissions: ['read_user', 'read_ssh_key', 'read_gpg_key', 'read_email'],
      },
      {
        name: 'read_repository',
        description: 'Read access (pull) to repositories over Git and through the repository files API.',
        permissions: READ_REPOSITORY,
      },
      {
        name: 'write_repository',
        description: 'Read and write access (pull and push) to repositories over Git.',
        permissions: WRITE_REPOSITORY,
      },
      {
        name: 'read_registry',
        description: 'Read access (pull) to container registry images and the dependency proxy.',
        permissions: READ_REGISTRY,
      },
      {
        name: 'write_registry',
        description: 'Read and write access (pull and push) to container registry images.',
        permissions: WRITE_REGISTRY,
      },
      {
        name: 'read_virtual_registry',
        description: 'Read access (pull) to packages and images through virtual registries.',
        permissions: ['read_virtual_registry'],
      },
      {
        name: 'create_runner',
        description: 'Create runners for projects and groups, and for the instance when the owner is an administrator.',
        permissions: ['create_runner', 'create_instance_runner'],
      },
      {
        name: 'manage_runner',
        description: 'List, change, pause and delete runners, including instance runners when the owner is an administrator.',
        permissions: ['read_runner', 'manage_runner', 'manage_instance_runner'],
      },
      {
        name: 'self_rotate',
        description: 'Rotate the token itself.',
        permissions: ['rotate_personal_access_token'],
      },
      {
        name: 'k8s_proxy',
        description: 'Call the Kubernetes API through the agent for Kubernetes.',
        permissions: ['access_kubernetes_api'],
      },
      {
        name: 'ai_features',
        description: 'Use AI features such as chat and code suggestions.',
        permissions: ['use_duo_chat', 'use_code_suggestions'],
      },
      {
        name: 'sudo',
        description: 'Make API requests as another user (GitLab\'s Sudo parameter); the owner must be an administrator. Grants no other access: combine it with api or read_api.',
        permissions: ['act_as_user'],
        adminOnly: true,
      },
      {
        name: 'admin_mode',
        description: 'Use the owner\'s administrator rights while admin mode is on (ADMIN_MODE); the owner must be an administrator. Grants nothing by itself.',
        permissions: [],
        adminOnly: true,
      },
      {
        name: 'read_service_ping',
        description: 'Download Service Ping usage data; the owner must be an administrator.',
        permissions: ['read_service_ping'],
      },
    ] satisfies LegacyScope[]
  ).map(freezeScope),
)

/** Scopes are shared by every caller, so nothing may change them in place. */
function freezeScope(scope: LegacyScope): LegacyScope {
  const permissions = scope.permissions === 'all' ? 'all' : (Object.freeze([...scope.permissions]) as string[])
  const except = scope.except === undefined ? {} : { except: Object.freeze([...scope.except]) as string[] }
  return Object.freeze({ ...scope, permissions, ...except })
}
