import { ACCESS_LEVEL, INSTANCE_ONLY, defineCategory } from './define.js'

const { none } = ACCESS_LEVEL

const RUNNER = ['ci', 'runner', 'instance runner', 'shared runner']

/**
 * Instance administration. Granted only on the instance boundary, and only effective while the
 * token owner is an administrator: a token never outlives its owner's admin rights.
 */
export const ADMINISTRATION_PERMISSIONS = defineCategory('administration', { boundaries: INSTANCE_ONLY }, [
  {
    name: 'read_audit_events',
    title: 'Audit event: Read',
    description: 'Read the audit log of the whole instance.',
    minAccessLevel: none,
    access: 'read',
    synonyms: ['audit', 'audit log', 'compliance', 'siem', 'activity'],
  },
  {
    name: 'manage_users',
    title: 'Users: Manage',
    description: 'Create, change, block, ban, deactivate and delete user accounts and make users administrators.',
    minAccessLevel: none,
    access: 'write',
    synonyms: ['user', 'users', 'accounts', 'block', 'ban', 'deactivate', 'admin'],
  },
  {
    name: 'impersonate_user',
    title: 'User: Impersonate',
    description: 'Create impersonation tokens for another user and sign in as them.',
    minAccessLevel: none,
    access: 'write',
    synonyms: ['impersonate', 'impersonation token'],
  },
  {
    name: 'act_as_user',
    title: 'User: Act as (sudo)',
    description: "Make API requests as another user (GitLab's Sudo parameter); only the legacy sudo scope grants it to legacy tokens.",
    minAccessLevel: none,
    access: 'write',
    synonyms: ['sudo', 'act as', 'on behalf of'],
  },
  {
    name: 'read_credentials_inventory',
    title: 'Credentials inventory: Read',
    description: 'List every access token, SSH key and GPG key of every user on the instance.',
    minAccessLevel: none,
    access: 'read',
    synonyms: ['credentials', 'inventory', 'tokens', 'keys', 'all tokens'],
  },
  {
    name: 'revoke_credential',
    title: 'Credential: Revoke',
    description: "Revoke any user's access tokens and remove their SSH and GPG keys.",
    minAccessLevel: none,
    access: 'write',
    synonyms: ['credentials', 'revoke', 'leaked token', 'incident response'],
  },
  {
    name: 'read_application_settings',
    title: 'Application settings: Read',
    description: 'Read instance-wide settings, including the token policy.',
    minAccessLevel: none,
    access: 'read',
    synonyms: ['settings', 'admin', 'instance', 'token policy', 'configuration'],
  },
  {
    name: 'update_application_settings',
    title: 'Application settings: Update',
    description: 'Change instance-wide settings, including token expiry limits, allowed IP ranges and blocked permissions.',
    minAccessLevel: none,
    access: 'write',
    synonyms: ['settings', 'admin', 'instance', 'token policy', 'configuration'],
  },
  {
    name: 'read_service_ping',
    title: 'Service Ping: Read',
    description: 'Download the usage data the instance collects for Service Ping.',
    minAccessLevel: none,
    access: 'read',
    synonyms: ['service ping', 'usage data', 'telemetry', 'metrics'],
  },
  {
    name: 'create_instance_runner',
    title: 'Instance runner: Create',
    description: 'Register a runner available to every project of the instance.',
    minAccessLevel: none,
    access: 'write',
    synonyms: [...RUNNER, 'register runner'],
  },
  {
    name: 'manage_instance_runner',
    title: 'Instance runner: Manage',
    description: 'List, change, pause and delete instance runners and reset their tokens.',
    minAccessLevel: none,
    access: 'write',
    synonyms: RUNNER,
  },
  {
    name: 'manage_system_hook',
    title: 'System hook: Manage',
    description: 'Create, test and delete webhooks that receive events from the whole instance.',
    minAccessLevel: none,
    access: 'write',
    synonyms: ['system hook', 'webhook', 'hook', 'event'],
  },
])
