import { ACCESS_LEVEL, DELETE, GET, INSTANCE_ONLY, PROJECT_OR_GROUP, PUT, USER_ONLY, defineCategory } from './define.js'

const { none, maintainer } = ACCESS_LEVEL

const INTEGRATION = ['integration', 'service', 'jira', 'slack', 'mattermost', 'chat', 'third party']
const OAUTH = ['oauth', 'oauth app', 'application', 'client id', 'client secret', 'sso']

export const INTEGRATION_PERMISSIONS = defineCategory('integrations', { boundaries: PROJECT_OR_GROUP }, [
  {
    name: 'read_integration',
    title: 'Integration: Read',
    routes: [
      GET('/projects/:id/integrations'),
      GET('/projects/:id/integrations/:slug'),
      GET('/groups/:id/integrations'),
      GET('/groups/:id/integrations/:slug'),
    ],
    description: 'List the integrations of a project or group and their settings, without secrets.',
    minAccessLevel: maintainer,
    access: 'read',
    synonyms: INTEGRATION,
  },
  {
    name: 'manage_integration',
    title: 'Integration: Manage',
    routes: [
      PUT('/projects/:id/integrations/:slug'),
      DELETE('/projects/:id/integrations/:slug'),
      PUT('/groups/:id/integrations/:slug'),
      DELETE('/groups/:id/integrations/:slug'),
    ],
    description: 'Turn integrations on or off, configure and test them.',
    minAccessLevel: maintainer,
    access: 'write',
    synonyms: INTEGRATION,
  },
  {
    name: 'read_oauth_application',
    title: 'OAuth application: Read',
    noRoute: "A user's own OAuth applications are managed in the user settings; GitLab's REST /applications endpoints are for administrators only.",
    description: 'List the OAuth applications you own and the ones you authorized.',
    boundaries: USER_ONLY,
    minAccessLevel: none,
    access: 'read',
    synonyms: OAUTH,
  },
  {
    name: 'manage_oauth_application',
    title: 'OAuth application: Manage',
    noRoute: "A user's own OAuth applications are managed in the user settings; GitLab's REST /applications endpoints are for administrators only.",
    description: 'Create, change and delete your OAuth applications, renew their secrets and revoke authorizations.',
    boundaries: USER_ONLY,
    minAccessLevel: none,
    access: 'write',
    synonyms: OAUTH,
  },
  {
    name: 'manage_instance_integration',
    title: 'Instance integration: Manage',
    noRoute: "Instance-level integrations are configured in the Admin area; GitLab's REST API covers project and group integrations only.",
    description: 'Configure integration defaults that apply to every group and project of the instance.',
    boundaries: INSTANCE_ONLY,
    minAccessLevel: none,
    access: 'write',
    synonyms: [...INTEGRATION, 'instance', 'default'],
  },
])
