import type { Category } from './types.js'

/**
 * The catalog's categories, in the order a token-creation form lists them (most used first).
 * `as const` keeps the ids as literal types so a catalog entry with a misspelt category fails
 * to compile instead of vanishing from the form.
 */
const CATEGORY_LIST = [
  {
    id: 'repository',
    title: 'Repository',
    description: 'Git data: cloning, pushing, branches, tags and repository rules.',
  },
  {
    id: 'merge_requests',
    title: 'Merge requests',
    description: 'Proposing, reviewing, approving and merging changes.',
  },
  {
    id: 'ci_cd',
    title: 'CI/CD',
    description: 'Pipelines, jobs, artifacts, variables, runners and schedules.',
  },
  {
    id: 'packages_registries',
    title: 'Packages & registries',
    description: 'Package registry, container registry, dependency proxy and virtual registries.',
  },
  {
    id: 'project_planning',
    title: 'Project planning',
    description: 'Issues, labels, milestones, boards, epics, iterations and time tracking.',
  },
  {
    id: 'projects',
    title: 'Projects',
    description: 'Project lifecycle and settings, members, access tokens, deploy keys and webhooks.',
  },
  {
    id: 'groups',
    title: 'Groups',
    description: 'Group lifecycle and settings, members, group variables, tokens and token policy.',
  },
  {
    id: 'wiki',
    title: 'Wiki',
    description: 'Project and group wiki pages.',
  },
  {
    id: 'security',
    title: 'Security',
    description: 'Vulnerabilities, security reports, policies and secret push protection.',
  },
  {
    id: 'monitoring',
    title: 'Monitoring',
    description: 'Alerts, incidents and error tracking.',
  },
  {
    id: 'deployments',
    title: 'Deployments',
    description: 'Environments, deployments, feature flags, Kubernetes agents and Terraform state.',
  },
  {
    id: 'releases',
    title: 'Releases',
    description: 'Releases and their assets.',
  },
  {
    id: 'notes',
    title: 'Notes',
    description: 'Comments, threads and emoji reactions on issues, merge requests, commits and snippets.',
  },
  {
    id: 'snippets',
    title: 'Snippets',
    description: 'Personal and project snippets.',
  },
  {
    id: 'user',
    title: 'User',
    description: "The token owner's own account: profile, keys, emails, to-do items and personal access tokens.",
  },
  {
    id: 'integrations',
    title: 'Integrations',
    description: 'Third-party integrations and OAuth applications.',
  },
  {
    id: 'ai_features',
    title: 'AI features',
    description: 'AI-assisted features such as chat and code suggestions.',
  },
  {
    id: 'administration',
    title: 'Administration',
    description: 'Instance administration; the token owner must be an administrator.',
  },
] as const satisfies readonly Category[]

export type CategoryId = (typeof CATEGORY_LIST)[number]['id']

export const CATEGORIES: readonly Category[] = Object.freeze(
  CATEGORY_LIST.map((category) => Object.freeze({ ...category })),
)
