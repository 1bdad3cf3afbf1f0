import { ACCESS_LEVEL, DELETE, GET, POST, PUT, defineCategory } from './define.js'
import type { Boundary } from '../types.js'

const { guest, reporter } = ACCESS_LEVEL

/**
 * Snippets live in projects or, as personal snippets, with a user. The access level applies to
 * project snippets (and groups covering them); personal snippets belong to the owner.
 */
const PROJECT_GROUP_OR_USER: Boundary[] = ['project', 'group', 'user']

const SNIPPET = ['snippet', 'gist', 'paste', 'code sample']

export const SNIPPET_PERMISSIONS = defineCategory('snippets', { boundaries: PROJECT_GROUP_OR_USER }, [
  {
    name: 'read_snippet',
    title: 'Snippet: Read',
    routes: [
      GET('/projects/:id/snippets'),
      GET('/projects/:id/snippets/:snippet_id'),
      GET('/projects/:id/snippets/:snippet_id/raw'),
      GET('/snippets', 'self'),
    ],
    description: 'View and clone snippets and their files.',
    minAccessLevel: guest,
    access: 'read',
    publicRead: true,
    synonyms: SNIPPET,
  },
  {
    name: 'create_snippet',
    title: 'Snippet: Create',
    routes: [POST('/projects/:id/snippets'), POST('/snippets', 'self')],
    description: 'Create personal or project snippets.',
    minAccessLevel: reporter,
    access: 'write',
    synonyms: SNIPPET,
  },
  {
    name: 'update_snippet',
    title: 'Snippet: Update',
    routes: [PUT('/projects/:id/snippets/:snippet_id'), PUT('/snippets/:snippet_id', 'self')],
    description: 'Edit snippets, their files and visibility, and push to snippet repositories.',
    minAccessLevel: reporter,
    access: 'write',
    synonyms: SNIPPET,
  },
  {
    name: 'delete_snippet',
    title: 'Snippet: Delete',
    routes: [DELETE('/projects/:id/snippets/:snippet_id'), DELETE('/snippets/:snippet_id', 'self')],
    description: 'Delete snippets.',
    minAccessLevel: reporter,
    access: 'write',
    synonyms: SNIPPET,
  },
])
