import { ACCESS_LEVEL, GET, POST, PROJECT_OR_GROUP, PUT, defineCategory } from './define.js'

const { developer, maintainer, owner } = ACCESS_LEVEL

const VULNERABILITY = ['vulnerability', 'vulnerabilities', 'cve', 'finding', 'security dashboard']

/** Security data reveals weaknesses, so none of it is public and reads start at developer. */
export const SECURITY_PERMISSIONS = defineCategory('security', { boundaries: PROJECT_OR_GROUP }, [
  {
    name: 'read_vulnerability',
    title: 'Vulnerability: Read',
    routes: [GET('/projects/:id/vulnerabilities'), POST('/security/projects/:id/vulnerability_exports')],
    description: 'View the vulnerability report and the details of each vulnerability.',
    minAccessLevel: developer,
    access: 'read',
    synonyms: VULNERABILITY,
  },
  {
    name: 'update_vulnerability',
    title: 'Vulnerability: Update',
    routes: [POST('/projects/:id/vulnerabilities')],
    description: 'Change the status and severity of vulnerabilities, dismiss them and link issues.',
    minAccessLevel: maintainer,
    access: 'write',
    synonyms: [...VULNERABILITY, 'dismiss', 'triage', 'resolve'],
  },
  {
    name: 'read_security_report',
    title: 'Security report: Read',
    routes: [GET('/projects/:id/vulnerability_findings')],
    description: 'View the findings of security scanners in pipelines and merge requests.',
    minAccessLevel: developer,
    access: 'read',
    synonyms: ['security', 'sast', 'dast', 'scan', 'scanner', 'secret detection', 'findings'],
  },
  {
    name: 'read_dependency_list',
    title: 'Dependency list: Read',
    routes: [GET('/projects/:id/dependencies')],
    description: 'View the dependencies a project uses, their licenses and known vulnerabilities.',
    minAccessLevel: developer,
    access: 'read',
    synonyms: ['dependencies', 'sbom', 'license', 'license compliance', 'supply chain'],
  },
  {
    name: 'read_security_policy',
    title: 'Security policy: Read',
    noRoute: "Security policies are read through GraphQL and the security policy project's repository, not a REST endpoint.",
    description: 'View the scan execution, pipeline execution and merge request approval policies that apply.',
    minAccessLevel: developer,
    access: 'read',
    synonyms: ['security', 'policy', 'scan policy', 'approval policy'],
  },
  {
    name: 'manage_security_policy',
    title: 'Security policy: Manage',
    noRoute: "Security policies are linked and changed through GraphQL and the security policy project's repository, not a REST endpoint.",
    description: 'Link a security policy project and create, change and delete security policies.',
    minAccessLevel: owner,
    access: 'write',
    synonyms: ['security', 'policy', 'scan policy', 'approval policy'],
  },
  {
    name: 'manage_secret_push_protection',
    title: 'Secret push protection: Manage',
    routes: [PUT('/projects/:id/security_settings'), PUT('/groups/:id/security_settings')],
    description: 'Turn secret push protection on or off and manage its exclusions.',
    minAccessLevel: maintainer,
    access: 'write',
    synonyms: ['security', 'secret', 'secret detection', 'push protection', 'leak', 'credentials'],
  },
])
