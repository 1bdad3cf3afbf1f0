/**
 * The words of permission guidance: how a sentence such as "clone the repo and open MRs" becomes
 * the terms the ranking (suggest-ranking.ts) looks up. Index text and query text go through the
 * same `stem`, so "cloning", "cloned" and "clone" meet on one term without a dictionary.
 */

/** Words that say nothing about which permission a job needs. */
export const STOPWORDS: ReadonlySet<string> = new Set([
  'a', 'an', 'the', 'and', 'or', 'but', 'to', 'of', 'in', 'on', 'at', 'for', 'from', 'with', 'by', 'into', 'onto', 'as',
  'my', 'our', 'your', 'their', 'its', 'it', 'this', 'that', 'these', 'those', 'some', 'any', 'all', 'every', 'each',
  'i', 'we', 'you', 'me', 'us', 'they', 'he', 'she', 'them',
  'want', 'wants', 'need', 'needs', 'would', 'like', 'should', 'must', 'can', 'could', 'will', 'shall', 'may', 'might',
  'be', 'is', 'are', 'was', 'were', 'been', 'being', 'am', 'do', 'does', 'did', 'have', 'has', 'had',
  'so', 'then', 'also', 'just', 'only', 'please', 'able', 'allow', 'allows', 'let', 'lets', 'via', 'using', 'through',
  'script', 'automation', 'automatically', 'something', 'stuff', 'things', 'thing',
  'not', 'no', 'yes', 'if', 'when', 'where', 'which', 'what', 'who', 'how', 'there', 'here', 'about', 'over', 'up', 'out',
  'other', 'own', 'one', 'more', 'such', 'than', 'too', 'very', 'including', 'e', 'g', 'eg', 'etc',
])

/** Lower case words; snake_case, kebab-case, slashes and punctuation split ("ci/cd" → ci, cd). */
export function words(text: string): string[] {
  return text.toLowerCase().replace(/'s\b/g, '').split(/[^a-z0-9]+/).filter((w) => w !== '')
}

/** Words minus stopwords: what index text and queries are made of. */
export function contentWords(text: string): string[] {
  return words(text).filter((w) => !STOPWORDS.has(w))
}

/**
 * After one of these, the rest of a clause names where or on what the job acts, not what it does:
 * in "comment on MR" the job comments; the merge request is the context.
 */
const PREPOSITIONS: ReadonlySet<string> = new Set(['on', 'in', 'to', 'into', 'onto', 'for', 'from', 'of', 'at', 'within', 'inside', 'under', 'across'])

export interface ClauseWord {
  word: string
  /** It came after a preposition: it says where, and counts for less. */
  context: boolean
}

/** A clause's content words, each marked when it came after a preposition. */
export function clauseWords(text: string): ClauseWord[] {
  let context = false
  const result: ClauseWord[] = []
  for (const word of words(text)) {
    if (PREPOSITIONS.has(word)) context = true
    else if (!STOPWORDS.has(word)) result.push({ word, context })
  }
  return result
}

const VOWEL = /[aeiouy]/

/** Undoubles a final consonant left by a suffix ("tagged" → tag, "running" → run), not ll/ss/zz. */
function undouble(stem: string): string {
  const last = stem[stem.length - 1]
  return stem.length > 2 && last === stem[stem.length - 2] && !'lsz'.includes(last) && !VOWEL.test(last) ? stem.slice(0, -1) : stem
}

/**
 * Light stemming: plurals, -ing, -ed, -ment and a final e, so that "requests"/"request",
 * "cloning"/"cloned"/"clone", "pipelines"/"pipeline" and "branches"/"branch" meet. Short words
 * are left alone ("use", "need"), and so are -us/-is/-ss endings ("status", "access").
 */
export function stem(word: string): string {
  let w = word
  if (w.length > 4 && w.endsWith('ies')) w = `${w.slice(0, -3)}y`
  else if (w.endsWith('sses')) w = w.slice(0, -2)
  else if (w.length > 4 && /(ch|sh|x|z)es$/.test(w)) w = w.slice(0, -2)
  else if (w.length > 3 && w.endsWith('s') && !/(ss|us|is)$/.test(w)) w = w.slice(0, -1)

  if (w.length >= 6 && w.endsWith('ing') && VOWEL.test(w.slice(0, -3))) w = undouble(w.slice(0, -3))
  else if (w.length >= 5 && w.endsWith('ed') && !w.endsWith('eed') && VOWEL.test(w.slice(0, -2))) w = undouble(w.slice(0, -2))

  // "deployment" → deploy, "management" → manage; "comment" and "document" are too short to be touched.
  if (w.length >= 9 && w.endsWith('ment')) w = w.slice(0, -4)
  if (w.length > 3 && w.endsWith('e')) w = w.slice(0, -1)
  return w
}

/**
 * Everyday verbs → the catalog's action words (the first word of a permission name: read,
 * create, update, manage, delete, push, run, …). A verb also keeps its own meaning: "open"
 * still matches "Open a merge request".
 */
export const VERBS: ReadonlyMap<string, readonly string[]> = new Map(Object.entries({
  read: ['read'], create: ['create'], update: ['update'],
  open: ['create'], submit: ['create'], raise: ['create'], add: ['create', 'add'], make: ['create'],
  register: ['create'], report: ['create'], post: ['create'], write: ['create', 'update', 'push', 'publish'],
  declare: ['create'], generate: ['create'], new: ['create'], start: ['create', 'play', 'run'],
  view: ['read'], see: ['read'], list: ['read'], get: ['read'], show: ['read'], browse: ['read'], look: ['read'],
  inspect: ['read'], check: ['read'], watch: ['read'], monitor: ['read'], query: ['read'], scan: ['read'],
  download: ['read'], clone: ['read'], pull: ['read'], fetch: ['read'], install: ['read'], consume: ['read'],
  export: ['read'], audit: ['read'], access: ['read'], search: ['read'], find: ['read'], track: ['read'],
  push: ['push', 'update'], commit: ['push'], upload: ['push', 'publish'],
  change: ['update', 'manage'], edit: ['update'], modify: ['update'], set: ['update', 'manage'], rename: ['update'],
  configure: ['update', 'manage'], adjust: ['update'], label: ['update'], assign: ['update'], close: ['update'], reopen: ['update'],
  manage: ['manage'], administer: ['manage'], administrate: ['manage'], control: ['manage'], maintain: ['manage'], handle: ['manage'],
  delete: ['delete'], remove: ['delete', 'remove'], destroy: ['delete'], drop: ['delete'], purge: ['delete', 'erase'],
  wipe: ['delete', 'erase'], clean: ['delete', 'erase'], cleanup: ['delete', 'erase'], prune: ['delete'], erase: ['erase', 'delete'],
  trigger: ['create', 'run'], launch: ['create', 'run'], kick: ['create', 'run'], execute: ['run', 'play'], run: ['run', 'create'],
  rerun: ['retry'], restart: ['retry'], retry: ['retry'],
  abort: ['cancel', 'stop'], stop: ['cancel', 'stop'], kill: ['cancel'], halt: ['cancel'], cancel: ['cancel'],
  publish: ['publish', 'create'], ship: ['publish', 'create'], release: ['create'],
  accept: ['merge'], approve: ['approve'], invite: ['add'], renew: ['rotate'], regenerate: ['rotate'],
  rotate: ['rotate'], revoke: ['revoke'], invalidate: ['revoke'], move: ['transfer'], deploy: ['create'],
  copy: ['fork'], react: ['award'], resolve: ['resolve', 'update'],
}))

/**
 * Shorthand people type for one thing the catalog spells out. A word that belongs to a single
 * permission goes into that permission's synonyms instead (the catalog files).
 */
export const WORD_SYNONYMS: ReadonlyMap<string, readonly string[]> = new Map(Object.entries({
  mr: ['merge', 'request'], mrs: ['merge', 'request'], pr: ['merge', 'request'], prs: ['merge', 'request'],
  repo: ['repository', 'code'], repos: ['repository', 'code'], repository: ['code'], codebase: ['code'], source: ['code'], git: ['code'],
  ci: ['pipeline'], cicd: ['pipeline'], build: ['pipeline', 'job'], builds: ['pipeline', 'job'],
  pkg: ['package'], pkgs: ['package'], library: ['package'], libraries: ['package'], artefact: ['artifact'], artefacts: ['artifact'],
  log: ['trace'], logs: ['trace'], output: ['log'], vuln: ['vulnerability'], vulns: ['vulnerability'], cve: ['vulnerability'],
  deps: ['dependency'], config: ['settings'], creds: ['credentials'], readme: ['file'],
  teammate: ['member'], colleague: ['member'], people: ['member'], version: ['release', 'tag'], changelog: ['release'],
  image: ['container'], images: ['container'], secret: ['variable'], secrets: ['variable'], prod: ['production'],
}))

/** Looks a word up by its stem, so "cloning", "opened" and "repositories" find clone, open and repository. */
function byStem(table: ReadonlyMap<string, readonly string[]>): (word: string) => readonly string[] | undefined {
  const stems = new Map<string, readonly string[]>()
  for (const [word, meaning] of table) if (!stems.has(stem(word))) stems.set(stem(word), meaning)
  return (word) => table.get(word) ?? stems.get(stem(word))
}

/** The catalog actions an everyday verb stands for, if the word is one. */
export const verbActions = byStem(VERBS)

/** What a shorthand word stands for, if it is one. */
export const shorthand = byStem(WORD_SYNONYMS)

/**
 * Clauses of a multi-intent request: "clone the repo and open merge requests" → "clone the repo",
 * "open merge requests". Split on "and", "then", "also", "plus", "&", commas, semicolons and
 * full stops.
 */
export function splitClauses(text: string): string[] {
  return text
    .split(/\s*(?:[,;.&+\n]|\band\b|\bthen\b|\balso\b|\bplus\b|\bas well as\b)\s*/i)
    .map((clause) => clause.trim())
    .filter((clause) => clause !== '')
}
