import { ACCESS_LEVEL, USER_ONLY, defineCategory } from './define.js'

const { none } = ACCESS_LEVEL

const PAT = ['pat', 'token', 'personal access token', 'access token', 'api token']

/**
 * The token owner's own account. Granted on the user boundary only, so no membership applies;
 * the decision still keeps a token within what its owner may do.
 */
export const USER_PERMISSIONS = defineCategory('user', { boundaries: USER_ONLY }, [
  {
    name: 'read_user',
    title: 'User profile: Read',
    description: 'Read your profile, such as username, name and public email, and public profiles of other users.',
    minAccessLevel: none,
    access: 'read',
    synonyms: ['user', 'profile', 'me', 'whoami', 'account', 'users'],
  },
  {
    name: 'update_user',
    title: 'User profile: Update',
    description: 'Change your profile, status and preferences.',
    minAccessLevel: none,
    access: 'write',
    synonyms: ['user', 'profile', 'account', 'status', 'avatar', 'preferences'],
  },
  {
    name: 'read_ssh_key',
    title: 'SSH key: Read',
    description: 'List the SSH keys on your account.',
    minAccessLevel: none,
    access: 'read',
    synonyms: ['ssh', 'ssh key', 'public key', 'keys'],
  },
  {
    name: 'create_ssh_key',
    title: 'SSH key: Create',
    description: 'Add an SSH key to your account.',
    minAccessLevel: none,
    access: 'write',
    synonyms: ['ssh', 'ssh key', 'public key', 'add key'],
  },
  {
    name: 'delete_ssh_key',
    title: 'SSH key: Delete',
    description: 'Remove an SSH key from your account.',
    minAccessLevel: none,
    access: 'write',
    synonyms: ['ssh', 'ssh key', 'public key', 'remove key'],
  },
  {
    name: 'read_gpg_key',
    title: 'GPG key: Read',
    description: 'List the GPG keys on your account.',
    minAccessLevel: none,
    access: 'read',
    synonyms: ['gpg', 'pgp', 'signing key', 'signed commits', 'keys'],
  },
  {
    name: 'manage_gpg_key',
    title: 'GPG key: Manage',
    description: 'Add, revoke and remove the GPG keys on your account.',
    minAccessLevel: none,
    access: 'write',
    synonyms: ['gpg', 'pgp', 'signing key', 'signed commits'],
  },
  {
    name: 'read_email',
    title: 'Email: Read',
    description: 'List the email addresses on your account, including private ones.',
    minAccessLevel: none,
    access: 'read',
    synonyms: ['email', 'e-mail', 'address'],
  },
  {
    name: 'manage_email',
    title: 'Email: Manage',
    description: 'Add and remove secondary email addresses on your account.',
    minAccessLevel: none,
    access: 'write',
    synonyms: ['email', 'e-mail', 'address'],
  },
  {
    name: 'read_personal_access_token',
    title: 'Personal access token: Read',
    description: 'List your personal access tokens with their permissions, expiry and last use.',
    minAccessLevel: none,
    access: 'read',
    synonyms: [...PAT, 'list tokens', 'inspect token'],
  },
  {
    name: 'create_personal_access_token',
    title: 'Personal access token: Create',
    description: 'Create personal access tokens that never exceed the permissions of the token used.',
    minAccessLevel: none,
    access: 'write',
    synonyms: [...PAT, 'new token', 'duplicate token'],
  },
  {
    name: 'rotate_personal_access_token',
    title: 'Personal access token: Rotate',
    description: 'Replace a personal access token with a new secret and expiry date.',
    minAccessLevel: none,
    access: 'write',
    synonyms: [...PAT, 'rotate', 'renew', 'self rotate', 'regenerate'],
  },
  {
    name: 'revoke_personal_access_token',
    title: 'Personal access token: Revoke',
    description: 'Revoke one of your personal access tokens immediately.',
    minAccessLevel: none,
    access: 'write',
    synonyms: [...PAT, 'revoke', 'delete token', 'invalidate'],
  },
  {
    name: 'read_todo',
    title: 'To-do item: Read',
    description: 'List your to-do items.',
    minAccessLevel: none,
    access: 'read',
    synonyms: ['todo', 'to-do', 'inbox', 'notifications'],
  },
  {
    name: 'update_todo',
    title: 'To-do item: Update',
    description: 'Mark your to-do items as done or pending, and snooze them.',
    minAccessLevel: none,
    access: 'write',
    synonyms: ['todo', 'to-do', 'inbox', 'mark as done'],
  },
])
