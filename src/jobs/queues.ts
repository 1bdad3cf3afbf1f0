// Queue names, job payloads and the options every queue and worker shares. BullMQ keys live under
// REDIS_KEY_PREFIX + "{bull}": the hash tag keeps each queue's keys in one Redis Cluster slot, and
// the prefix keeps deployments (and parallel test files) apart on one Redis.
import type { ConnectionOptions, JobsOptions } from 'bullmq'
import { bullConnection } from '../cache/redis-client.js'
import type { Config } from '../config.js'

export const MAIL_QUEUE = 'mail'
export const MAINTENANCE_QUEUE = 'maintenance'

/** Job names on the maintenance queue (also the ids of their job schedulers). */
export const EXPIRY_SWEEP = 'expiry-sweep'
export const USAGE_RETENTION = 'usage-retention'
export const USAGE_RETENTION_EVERY_MS = 24 * 3_600_000

/** Who a notification goes to; with the event id it names the notification exactly once. */
/** owner_mail: the token's owner; approvers_mail: the owners of the group an approval request asks. */
export type NotificationKind = 'owner_mail' | 'approvers_mail'

export interface MailJobData {
  eventId: number
  kind: NotificationKind
}

/** BullMQ rejects ids that look like integers or contain ":"; this one is neither. */
export function mailJobId(eventId: number, kind: NotificationKind): string {
  return `${kind}-${eventId}`
}

export interface RetryPolicy {
  attempts: number
  /** First retry delay; each later one doubles (BullMQ exponential backoff). */
  backoffMs: number
}

// 10 attempts from 10 s doubling: the last retry is ~85 minutes after the first failure, long
// enough to ride out an SMTP outage or a deploy of the mail relay.
export const DEFAULT_MAIL_RETRY: RetryPolicy = { attempts: 10, backoffMs: 10_000 }

export function mailJobOptions(retry: RetryPolicy): JobsOptions {
  return {
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.backoffMs },
    // Completed jobs go after a day (notification_deliveries is the lasting record); failed ones
    // stay for 30 days so an operator can inspect and retry them (Queue.retryJobs).
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 30 * 24 * 3600 },
  }
}

export function queuePrefix(config: Readonly<Config>): string {
  return `${config.redisKeyPrefix}{bull}`
}

/** See bullConnection: options for one node or Sentinel, a Cluster client on a cluster. */
export function connectionOf(config: Readonly<Config>): ConnectionOptions {
  return bullConnection(config)
}
