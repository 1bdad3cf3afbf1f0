import { ACCESS_LEVEL, DELETE, GET, POST, PROJECT_OR_GROUP, PUT, defineCategory } from './define.js'

const { guest, reporter } = ACCESS_LEVEL

const COMMENT = ['comment', 'note', 'discussion', 'thread', 'reply']

/**
 * Comments on anything in a project or group: issues, merge requests, commits, epics, snippets.
 * Reading the commented object is a separate permission; both are needed.
 */
export const NOTE_PERMISSIONS = defineCategory('notes', { boundaries: PROJECT_OR_GROUP }, [
  {
    name: 'read_note',
    title: 'Comment: Read',
    routes: [
      GET('/projects/:id/issues/:issue_iid/notes'),
      GET('/projects/:id/issues/:issue_iid/notes/:note_id'),
      GET('/projects/:id/issues/:issue_iid/discussions'),
      GET('/projects/:id/merge_requests/:merge_request_iid/notes'),
      GET('/projects/:id/merge_requests/:merge_request_iid/notes/:note_id'),
      GET('/projects/:id/merge_requests/:merge_request_iid/discussions'),
      GET('/projects/:id/repository/commits/:sha/comments'),
      GET('/groups/:id/epics/:epic_id/notes'),
    ],
    description: 'Read comments and threads on issues, merge requests, commits, epics and snippets.',
    minAccessLevel: guest,
    access: 'read',
    publicRead: true,
    synonyms: COMMENT,
  },
  {
    name: 'create_note',
    title: 'Comment: Create',
    routes: [
      POST('/projects/:id/issues/:issue_iid/notes'),
      POST('/projects/:id/issues/:issue_iid/discussions'),
      POST('/projects/:id/merge_requests/:merge_request_iid/notes'),
      POST('/projects/:id/merge_requests/:merge_request_iid/discussions'),
      POST('/projects/:id/repository/commits/:sha/comments'),
      POST('/groups/:id/epics/:epic_id/notes'),
    ],
    description: 'Comment on issues, merge requests, commits, epics and snippets, and reply in threads.',
    minAccessLevel: guest,
    access: 'write',
    synonyms: [...COMMENT, 'review comment', 'comment on merge request', 'comment on issue'],
  },
  {
    name: 'update_note',
    title: 'Comment: Update',
    routes: [PUT('/projects/:id/issues/:issue_iid/notes/:note_id'), PUT('/projects/:id/merge_requests/:merge_request_iid/notes/:note_id')],
    description: 'Edit your own comments.',
    minAccessLevel: guest,
    access: 'write',
    synonyms: [...COMMENT, 'edit comment'],
  },
  {
    name: 'delete_note',
    title: 'Comment: Delete',
    routes: [DELETE('/projects/:id/issues/:issue_iid/notes/:note_id'), DELETE('/projects/:id/merge_requests/:merge_request_iid/notes/:note_id')],
    description: 'Delete your own comments.',
    minAccessLevel: guest,
    access: 'write',
    synonyms: [...COMMENT, 'remove comment'],
  },
  {
    name: 'resolve_discussion',
    title: 'Thread: Resolve',
    routes: [PUT('/projects/:id/merge_requests/:merge_request_iid/discussions/:discussion_id')],
    description: 'Resolve and unresolve threads on issues and merge requests.',
    minAccessLevel: reporter,
    access: 'write',
    synonyms: [...COMMENT, 'resolve', 'unresolve'],
  },
  {
    name: 'award_emoji',
    title: 'Emoji reaction: Add',
    routes: [
      POST('/projects/:id/issues/:issue_iid/award_emoji'),
      DELETE('/projects/:id/issues/:issue_iid/award_emoji/:award_id'),
      POST('/projects/:id/merge_requests/:merge_request_iid/award_emoji'),
      DELETE('/projects/:id/merge_requests/:merge_request_iid/award_emoji/:award_id'),
    ],
    description: 'Add and remove emoji reactions on issues, merge requests, snippets and comments.',
    minAccessLevel: guest,
    access: 'write',
    synonyms: ['emoji', 'reaction', 'thumbs up', 'upvote', 'award'],
  },
])
