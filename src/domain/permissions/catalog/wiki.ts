import { ACCESS_LEVEL, DELETE, GET, POST, PROJECT_OR_GROUP, PUT, defineCategory } from './define.js'

const { guest, developer } = ACCESS_LEVEL

const WIKI = ['wiki', 'docs', 'documentation', 'page', 'knowledge base']

/** Project and group wikis share these permissions; a group grant covers both. */
export const WIKI_PERMISSIONS = defineCategory('wiki', { boundaries: PROJECT_OR_GROUP }, [
  {
    name: 'read_wiki',
    title: 'Wiki: Read',
    routes: [GET('/projects/:id/wikis'), GET('/projects/:id/wikis/:slug'), GET('/groups/:id/wikis'), GET('/groups/:id/wikis/:slug')],
    description: 'Read wiki pages, their history and attachments, and clone the wiki repository.',
    minAccessLevel: guest,
    access: 'read',
    publicRead: true,
    synonyms: [...WIKI, 'clone wiki'],
  },
  {
    name: 'update_wiki',
    title: 'Wiki: Update',
    routes: [
      POST('/projects/:id/wikis'),
      PUT('/projects/:id/wikis/:slug'),
      POST('/projects/:id/wikis/attachments'),
      POST('/groups/:id/wikis'),
      PUT('/groups/:id/wikis/:slug'),
    ],
    description: 'Create and edit wiki pages and upload attachments to them.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: [...WIKI, 'edit wiki', 'create page', 'push wiki'],
  },
  {
    name: 'delete_wiki_page',
    title: 'Wiki page: Delete',
    routes: [DELETE('/projects/:id/wikis/:slug'), DELETE('/groups/:id/wikis/:slug')],
    description: 'Delete wiki pages.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: [...WIKI, 'remove page'],
  },
])
