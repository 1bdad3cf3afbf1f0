import { ACCESS_LEVEL, DELETE, GET, POST, PROJECT_OR_GROUP, PUT, defineCategory } from './define.js'

const { guest, developer } = ACCESS_LEVEL

const RELEASE = ['release', 'releases', 'version', 'changelog', 'release notes']

export const RELEASE_PERMISSIONS = defineCategory('releases', { boundaries: PROJECT_OR_GROUP }, [
  {
    name: 'read_release',
    title: 'Release: Read',
    routes: [
      GET('/projects/:id/releases'),
      GET('/projects/:id/releases/permalink/latest'),
      GET('/projects/:id/releases/:tag_name'),
      GET('/projects/:id/releases/:tag_name/assets/links'),
      GET('/groups/:id/releases'),
    ],
    description: 'View releases, their notes, assets and evidence.',
    minAccessLevel: guest,
    access: 'read',
    publicRead: true,
    synonyms: [...RELEASE, 'download release', 'assets'],
  },
  {
    name: 'create_release',
    title: 'Release: Create',
    routes: [POST('/projects/:id/releases'), POST('/projects/:id/releases/:tag_name/assets/links')],
    description: 'Publish a release for a tag, creating the tag if needed.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: [...RELEASE, 'publish release', 'ship'],
  },
  {
    name: 'update_release',
    title: 'Release: Update',
    routes: [PUT('/projects/:id/releases/:tag_name'), PUT('/projects/:id/releases/:tag_name/assets/links/:link_id')],
    description: 'Edit release notes and milestones and add or remove asset links.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: [...RELEASE, 'asset link', 'edit release'],
  },
  {
    name: 'delete_release',
    title: 'Release: Delete',
    routes: [DELETE('/projects/:id/releases/:tag_name'), DELETE('/projects/:id/releases/:tag_name/assets/links/:link_id')],
    description: 'Delete a release while keeping its tag.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: [...RELEASE, 'remove release'],
  },
  {
    name: 'manage_release',
    title: 'Release: Manage',
    description: 'Create, update and delete releases.',
    minAccessLevel: developer,
    access: 'write',
    includes: ['create_release', 'update_release', 'delete_release'],
    synonyms: RELEASE,
  },
])
