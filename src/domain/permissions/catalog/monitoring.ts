import { ACCESS_LEVEL, DELETE, GET, PATCH, POST, PROJECT_OR_GROUP, PUT, defineCategory } from './define.js'

const { guest, reporter, developer } = ACCESS_LEVEL

const INCIDENT = ['incident', 'outage', 'postmortem', 'on-call']
const ERROR = ['error', 'errors', 'exception', 'sentry', 'crash']

/**
 * Incidents are issues and read like them (guest, public); alerts and errors carry operational
 * detail, so they need a reporter and are never public.
 */
export const MONITORING_PERMISSIONS = defineCategory('monitoring', { boundaries: PROJECT_OR_GROUP }, [
  {
    name: 'read_alert',
    title: 'Alert: Read',
    routes: [GET('/projects/:id/alert_management_alerts/:alert_iid/metric_images')],
    description: 'View alerts raised by monitoring tools and their details.',
    minAccessLevel: reporter,
    access: 'read',
    synonyms: ['alert', 'alerts', 'alertmanager', 'prometheus', 'monitoring'],
  },
  {
    name: 'update_alert',
    title: 'Alert: Update',
    routes: [
      POST('/projects/:id/alert_management_alerts/:alert_iid/metric_images'),
      PUT('/projects/:id/alert_management_alerts/:alert_iid/metric_images/:metric_image_id'),
      DELETE('/projects/:id/alert_management_alerts/:alert_iid/metric_images/:metric_image_id'),
    ],
    description: 'Acknowledge, resolve and assign alerts.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: ['alert', 'acknowledge', 'resolve', 'monitoring'],
  },
  {
    name: 'read_incident',
    title: 'Incident: Read',
    noRoute: "Incidents are issues of type incident: GitLab's REST API serves them on the issue routes (which map to read_issue); timelines are GraphQL.",
    description: 'View incidents and their timelines.',
    minAccessLevel: guest,
    access: 'read',
    publicRead: true,
    synonyms: [...INCIDENT, 'timeline'],
  },
  {
    name: 'create_incident',
    title: 'Incident: Create',
    noRoute: 'An incident is created with POST /projects/:id/issues and issue_type=incident in the body; the route alone maps to create_issue.',
    description: 'Declare a new incident.',
    minAccessLevel: reporter,
    access: 'write',
    synonyms: [...INCIDENT, 'declare incident', 'page'],
  },
  {
    name: 'update_incident',
    title: 'Incident: Update',
    noRoute: 'Incidents are changed on the issue routes (which map to update_issue) and through GraphQL (timelines, escalations).',
    description: 'Change the severity, status, escalation and timeline of incidents.',
    minAccessLevel: reporter,
    access: 'write',
    synonyms: [...INCIDENT, 'escalate', 'severity', 'resolve'],
  },
  {
    name: 'read_error_tracking',
    title: 'Error tracking: Read',
    routes: [GET('/projects/:id/error_tracking/settings'), GET('/projects/:id/error_tracking/client_keys')],
    description: 'View errors reported by applications, with stack traces and occurrences.',
    minAccessLevel: reporter,
    access: 'read',
    synonyms: [...ERROR, 'stack trace'],
  },
  {
    name: 'update_error_tracking',
    title: 'Error tracking: Update',
    routes: [
      PATCH('/projects/:id/error_tracking/settings'),
      PUT('/projects/:id/error_tracking/settings'),
      POST('/projects/:id/error_tracking/client_keys'),
      DELETE('/projects/:id/error_tracking/client_keys/:key_id'),
    ],
    description: 'Resolve, ignore and create issues from tracked errors.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: [...ERROR, 'resolve', 'ignore'],
  },
])
