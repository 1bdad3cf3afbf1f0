// The small demo directory `npm start` loads (unless SEED_DEMO=false): an admin, two users, nested
// groups, projects, a personal project and memberships at several levels.
import type { BulkInput } from '../modules/directory/schemas.js'

export const DEMO_ADMIN_ID = 1
export const DEMO_USER_ID = 2

export const demoDirectory: BulkInput = {
  users: [
    { id: 1, username: 'root', name: 'Instance Admin', email: 'admin@example.com', is_admin: true },
    { id: 2, username: 'alice', name: 'Alice Developer', email: 'alice@example.com' },
    { id: 3, username: 'bob', name: 'Bob Reporter', email: 'bob@example.com' },
  ],
  namespaces: [
    { id: 100, kind: 'group', path: 'acme', name: 'ACME Corp', visibility: 'internal' },
    { id: 101, kind: 'group', path: 'platform', name: 'Platform', parent_id: 100 },
    { id: 102, kind: 'project', path: 'api', name: 'API', parent_id: 101 },
    { id: 103, kind: 'project', path: 'website', name: 'Website', parent_id: 100, visibility: 'public' },
    { id: 104, kind: 'group', path: 'infra', name: 'Infrastructure', parent_id: 101 },
    { id: 105, kind: 'project', path: 'terraform', name: 'Terraform', parent_id: 104 },
    { id: 200, kind: 'group', path: 'opensource', name: 'Open Source', visibility: 'public' },
    { id: 201, kind: 'project', path: 'cli', name: 'CLI', parent_id: 200, visibility: 'public' },
    { id: 300, kind: 'user', path: 'alice', name: 'alice', owner_id: 2 },
    { id: 301, kind: 'project', path: 'dotfiles', name: 'dotfiles', parent_id: 300 },
    { id: 310, kind: 'user', path: 'bob', name: 'bob', owner_id: 3 },
  ],
  memberships: [
    { user_id: 2, namespace_id: 100, access_level: 30 },
    { user_id: 2, namespace_id: 102, access_level: 40 },
    { user_id: 2, namespace_id: 200, access_level: 20 },
    { user_id: 3, namespace_id: 101, access_level: 20 },
    { user_id: 3, namespace_id: 200, access_level: 50 },
  ],
}
