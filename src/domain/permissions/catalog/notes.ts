import { ACCESS_LEVEL, PROJECT_OR_GROUP, defineCategory } from './define.js'

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
    description: 'Read comments and threads on issues, merge requests, commits, epics and snippets.',
    minAccessLevel: guest,
    access: 'read',
    publicRead: true,
    synonyms: COMMENT,
  },
  {
    name: 'create_note',
    title: 'Comment: Create',
    description: 'Comment on issues, merge requests, commits, epics and snippets, and reply in threads.',
    minAccessLevel: guest,
    access: 'write',
    synonyms: [...COMMENT, 'review comment', 'comment on merge request', 'comment on issue'],
  },
  {
    name: 'update_note',
    title: 'Comment: Update',
    description: 'Edit your own comments.',
    minAccessLevel: guest,
    access: 'write',
    synonyms: [...COMMENT, 'edit comment'],
  },
  {
    name: 'delete_note',
    title: 'Comment: Delete',
    description: 'Delete your own comments.',
    minAccessLevel: guest,
    access: 'write',
    synonyms: [...COMMENT, 'remove comment'],
  },
  {
    name: 'resolve_discussion',
    title: 'Thread: Resolve',
    description: 'Resolve and unresolve threads on issues and merge requests.',
    minAccessLevel: reporter,
    access: 'write',
    synonyms: [...COMMENT, 'resolve', 'unresolve'],
  },
  {
    name: 'award_emoji',
    title: 'Emoji reaction: Add',
    description: 'Add and remove emoji reactions on issues, merge requests, snippets and comments.',
    minAccessLevel: guest,
    access: 'write',
    synonyms: ['emoji', 'reaction', 'thumbs up', 'upvote', 'award'],
  },
])
