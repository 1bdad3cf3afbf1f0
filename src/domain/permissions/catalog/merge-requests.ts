import { ACCESS_LEVEL, DELETE, GET, POST, PROJECT_OR_GROUP, PUT, defineCategory } from './define.js'

const { reporter, developer, maintainer } = ACCESS_LEVEL

/** Words people use for merge requests on other forges, shared by every entry below. */
const MR = ['mr', 'merge request', 'pull request', 'pr']

export const MERGE_REQUEST_PERMISSIONS = defineCategory('merge_requests', { boundaries: PROJECT_OR_GROUP }, [
  {
    name: 'read_merge_request',
    title: 'Merge request: Read',
    routes: [
      GET('/projects/:id/merge_requests'),
      GET('/projects/:id/merge_requests/:merge_request_iid'),
      GET('/projects/:id/merge_requests/:merge_request_iid/changes'),
      GET('/projects/:id/merge_requests/:merge_request_iid/diffs'),
      GET('/projects/:id/merge_requests/:merge_request_iid/commits'),
      GET('/projects/:id/merge_requests/:merge_request_iid/pipelines'),
      GET('/projects/:id/merge_requests/:merge_request_iid/approvals'),
      GET('/projects/:id/merge_requests/:merge_request_iid/participants'),
      GET('/groups/:id/merge_requests'),
    ],
    description: 'View merge requests, their changes, commits, pipelines and approval state.',
    minAccessLevel: reporter,
    access: 'read',
    publicRead: true,
    synonyms: [...MR, 'diff', 'changes', 'review'],
  },
  {
    name: 'create_merge_request',
    title: 'Merge request: Create',
    routes: [POST('/projects/:id/merge_requests')],
    description: 'Open a merge request from a branch or fork.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: [...MR, 'open merge request', 'open pull request'],
  },
  {
    name: 'update_merge_request',
    title: 'Merge request: Update',
    routes: [PUT('/projects/:id/merge_requests/:merge_request_iid')],
    description: 'Edit, assign, label, mark as draft or ready, close and reopen merge requests.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: [...MR, 'edit', 'close', 'reopen', 'draft', 'assign', 'reviewer'],
  },
  {
    name: 'merge_merge_request',
    title: 'Merge request: Merge',
    routes: [
      PUT('/projects/:id/merge_requests/:merge_request_iid/merge'),
      POST('/projects/:id/merge_requests/:merge_request_iid/cancel_merge_when_pipeline_succeeds'),
    ],
    description: 'Merge a merge request, or set it to merge automatically when its checks pass.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: [...MR, 'merge', 'auto-merge', 'merge when pipeline succeeds', 'merge train'],
  },
  {
    name: 'rebase_merge_request',
    title: 'Merge request: Rebase',
    routes: [PUT('/projects/:id/merge_requests/:merge_request_iid/rebase')],
    description: 'Rebase the source branch of a merge request onto its target branch.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: [...MR, 'rebase', 'update branch'],
  },
  {
    name: 'approve_merge_request',
    title: 'Merge request: Approve',
    routes: [POST('/projects/:id/merge_requests/:merge_request_iid/approve'), POST('/projects/:id/merge_requests/:merge_request_iid/unapprove')],
    description: 'Approve a merge request, or revoke your own approval.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: [...MR, 'approve', 'approval', 'unapprove', 'lgtm', 'sign off'],
  },
  {
    name: 'manage_merge_request_approval_rule',
    title: 'Merge request approval rule: Manage',
    routes: [
      GET('/projects/:id/approvals'),
      POST('/projects/:id/approvals'),
      GET('/projects/:id/approval_rules'),
      POST('/projects/:id/approval_rules'),
      PUT('/projects/:id/approval_rules/:approval_rule_id'),
      DELETE('/projects/:id/approval_rules/:approval_rule_id'),
    ],
    description: 'Create, change and delete the approval rules and approval settings of merge requests.',
    minAccessLevel: maintainer,
    access: 'write',
    synonyms: [...MR, 'approval rules', 'required approvals', 'code owners', 'approvers'],
  },
  {
    // Approval is deliberately left out: authoring and approving are separate duties.
    name: 'manage_merge_request',
    title: 'Merge request: Manage',
    description: 'Create, update, rebase and merge merge requests (approving is granted separately).',
    minAccessLevel: developer,
    access: 'write',
    includes: ['create_merge_request', 'update_merge_request', 'rebase_merge_request', 'merge_merge_request'],
    synonyms: [...MR, 'all merge request actions'],
  },
])
