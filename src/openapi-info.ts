import type { Config } from './config.js'

export function openapiInfo(config: Readonly<Config>) {
  return {
    openapi: '3.1.0' as const,
    info: {
      title: 'fgpat',
      version: '0.1.0',
      description:
        'Fine-grained personal access tokens: named permissions limited to chosen groups, projects, the user or the ' +
        'instance. GitLab-compatible token API, a hot-path authorization endpoint, directory sync and governance.\n\n' +
        'GitLab compatibility (management routes; not the directory or /authorize): a write reads its parameters from the ' +
        'query string, a form (`scopes[]=api`) or JSON, the body winning over the query, and refuses unknown ones; a GET ' +
        'ignores query parameters it does not know. Form and query values are converted as the schema types them; JSON ' +
        'is never coerced. JSON answers are `application/json`, errors `application/problem+json`.',
    },
    servers: [{ url: config.publicUrl }],
    components: {
      securitySchemes: {
        bearer: { type: 'http' as const, scheme: 'bearer', description: 'Caller JWT, or a personal access token' },
        privateToken: { type: 'apiKey' as const, in: 'header' as const, name: 'PRIVATE-TOKEN' },
      },
    },
    security: [{ bearer: [] }, { privateToken: [] }] as Array<Record<string, string[]>>,
    tags: [
      { name: 'tokens', description: 'Personal access token lifecycle' },
      { name: 'catalog', description: 'The permission catalog' },
      { name: 'namespaces', description: 'You, and the groups and projects you can see (to name and choose a token\'s scope)' },
      { name: 'directory', description: 'Users, groups, projects and memberships synced from the identity system' },
      { name: 'operations', description: 'Health and readiness' },
      { name: 'webhooks', description: 'Signed (Standard Webhooks) notifications of token events to receivers registered by administrators and group owners' },
    ],
  }
}
