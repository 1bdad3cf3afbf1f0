// The ordered list of migrations. Explicit imports (rather than a folder scan) so the same list works
// from TypeScript sources under tests and from compiled JavaScript in production.
import type { Migration } from 'kysely'
import * as m0001 from './0001_initial.js'
import * as m0002 from './0002_token_usage.js'
import * as m0003 from './0003_notification_deliveries.js'
import * as m0004 from './0004_governance.js'
import * as m0005 from './0005_inventory_at_scale.js'
import * as m0006 from './0006_invalidation_notify.js'
import * as m0007 from './0007_group_access_and_audit_groups.js'
import * as m0008 from './0008_reuse_detection.js'
import * as m0009 from './0009_audit_reach_from_ancestors.js'
import * as m0010 from './0010_legacy_conversion.js'
import * as m0011 from './0011_approval_requests.js'
import * as m0012 from './0012_webhooks.js'
import * as m0013 from './0013_service_accounts.js'
import * as m0014 from './0014_approval_digest.js'
import * as m0015 from './0015_webhook_pending.js'
import * as m0016 from './0016_live_legacy_tokens.js'
import * as m0017 from './0017_all_memberships_flag.js'
import * as m0018 from './0018_tokens_reaching_function.js'
import * as m0019 from './0019_token_facts_function.js'
import * as m0020 from './0020_legacy_use_days.js'
import * as m0021 from './0021_group_lookups.js'
import * as m0022 from './0022_token_family_default.js'
import * as m0023 from './0023_reach_covering_indexes.js'
import * as m0024 from './0024_single_statement_writes.js'

export const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_token_usage': m0002,
  '0003_notification_deliveries': m0003,
  '0004_governance': m0004,
  '0005_inventory_at_scale': m0005,
  '0006_invalidation_notify': m0006,
  '0007_group_access_and_audit_groups': m0007,
  '0008_reuse_detection': m0008,
  '0009_audit_reach_from_ancestors': m0009,
  '0010_legacy_conversion': m0010,
  '0011_approval_requests': m0011,
  '0012_webhooks': m0012,
  '0013_service_accounts': m0013,
  '0014_approval_digest': m0014,
  '0015_webhook_pending': m0015,
  '0016_live_legacy_tokens': m0016,
  '0017_all_memberships_flag': m0017,
  '0018_tokens_reaching_function': m0018,
  '0019_token_facts_function': m0019,
  '0020_legacy_use_days': m0020,
  '0021_group_lookups': m0021,
  '0022_token_family_default': m0022,
  '0023_reach_covering_indexes': m0023,
  '0024_single_statement_writes': m0024,
}
