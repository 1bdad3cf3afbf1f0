import { ACCESS_LEVEL, PROJECT_OR_GROUP, defineCategory } from './define.js'

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
    description: 'View alerts raised by monitoring tools and their details.',
    minAccessLevel: reporter,
    access: 'read',
    synonyms: ['alert', 'alerts', 'alertmanager', 'prometheus', 'monitoring'],
  },
  {
    name: 'update_alert',
    title: 'Alert: Update',
    description: 'Acknowledge, resolve and assign alerts.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: ['alert', 'acknowledge', 'resolve', 'monitoring'],
  },
  {
    name: 'read_incident',
    title: 'Incident: Read',
    description: 'View incidents and their timelines.',
    minAccessLevel: guest,
    access: 'read',
    publicRead: true,
    synonyms: [...INCIDENT, 'timeline'],
  },
  {
    name: 'create_incident',
    title: 'Incident: Create',
    description: 'Declare a new incident.',
    minAccessLevel: reporter,
    access: 'write',
    synonyms: [...INCIDENT, 'declare incident', 'page'],
  },
  {
    name: 'update_incident',
    title: 'Incident: Update',
    description: 'Change the severity, status, escalation and timeline of incidents.',
    minAccessLevel: reporter,
    access: 'write',
    synonyms: [...INCIDENT, 'escalate', 'severity', 'resolve'],
  },
  {
    name: 'read_error_tracking',
    title: 'Error tracking: Read',
    description: 'View errors reported by applications, with stack traces and occurrences.',
    minAccessLevel: reporter,
    access: 'read',
    synonyms: [...ERROR, 'stack trace'],
  },
  {
    name: 'update_error_tracking',
    title: 'Error tracking: Update',
    description: 'Resolve, ignore and create issues from tracked errors.',
    minAccessLevel: developer,
    access: 'write',
    synonyms: [...ERROR, 'resolve', 'ignore'],
  },
])
