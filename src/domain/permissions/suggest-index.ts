/**
 * The search index behind permission guidance: per permission, the stemmed terms of five fields
 * (name words, title, synonyms, description, category) with their counts, plus what BM25 needs
 * across the catalog (document frequencies, average field lengths). Built once from the catalog
 * at startup; read only afterwards.
 */
import { contentWords, stem } from './suggest-text.js'
import type { Category, Permission } from './types.js'

export type SuggestField = 'name' | 'title' | 'synonym' | 'description' | 'category'
export const SUGGEST_FIELDS: readonly SuggestField[] = ['name', 'title', 'synonym', 'description', 'category']

export interface FieldTerms {
  /** stem → how often it occurs in the field */
  counts: Map<string, number>
  length: number
}

export interface IndexedPermission {
  permission: Permission
  fields: Record<SuggestField, FieldTerms>
  /** The stems of all fields: document frequency counts a permission once per stem. */
  stems: Set<string>
  /** The stems of the name's words (`read_job_log` → read, job, log): how much of it a query names. */
  nameTerms: string[]
  /** The same for the title ("Comment: Create" → comment, creat), the name people read. */
  titleTerms: string[]
  /** Adjacent stems ("deploy token") in the name, title or one synonym, with the best field they occur in. */
  bigrams: Map<string, SuggestField>
  /** The stem of the name's first word, the catalog's action (read, create, manage, push, …). */
  action: string
}

export interface SuggestIndex {
  entries: IndexedPermission[]
  documentFrequency: Map<string, number>
  /** BM25's inverse document frequency of every stem, ln(1 + (N − df + 0.5) / (df + 0.5)). */
  idf: Map<string, number>
  averageLength: Record<SuggestField, number>
  /** stem → the shortest word it was seen as ("clon" → "clone"), to explain matches in words. */
  surface: Map<string, string>
  /** Every word the index was built from, unstemmed: a query word found here matched "exactly". */
  words: Set<string>
  /** Stems by length, for the typo search (only lengths near the query word's are compared). */
  stemsByLength: Map<number, string[]>
  /** Every action stem in the catalog, for telling a query's verbs from its nouns. */
  actions: Set<string>
  /** Every bigram of every permission: "merge request" is a compound, so its "merge" is no action. */
  bigrams: Set<string>
}

function fieldTexts(permission: Permission, category: Category | undefined): Record<SuggestField, string> {
  return {
    name: permission.name,
    title: permission.title,
    synonym: (permission.synonyms ?? []).join(' , '),
    description: permission.description,
    category: category ? `${category.title} ${category.description}` : permission.category,
  }
}

export const bigramKey = (first: string, second: string) => `${first} ${second}`

export function buildSuggestIndex(permissions: readonly Permission[], categories: readonly Category[]): SuggestIndex {
  const categoryById = new Map(categories.map((c) => [c.id, c]))
  const documentFrequency = new Map<string, number>()
  const surface = new Map<string, string>()
  const words = new Set<string>()
  const totals: Record<SuggestField, number> = { name: 0, title: 0, synonym: 0, description: 0, category: 0 }

  const entries = permissions.map((permission): IndexedPermission => {
    const texts = fieldTexts(permission, categoryById.get(permission.category))
    const stems = new Set<string>()
    const fields = {} as Record<SuggestField, FieldTerms>
    for (const field of SUGGEST_FIELDS) {
      const counts = new Map<string, number>()
      const fieldWords = contentWords(texts[field])
      for (const word of fieldWords) {
        const term = stem(word)
        // A name is a set of words: merge_merge_request says "merge" once as an action, once in its resource.
        counts.set(term, field === 'name' ? 1 : (counts.get(term) ?? 0) + 1)
        stems.add(term)
        words.add(word)
        const known = surface.get(term)
        if (known === undefined || word.length < known.length) surface.set(term, word)
      }
      fields[field] = { counts, length: fieldWords.length }
      totals[field] += fieldWords.length
    }
    for (const term of stems) documentFrequency.set(term, (documentFrequency.get(term) ?? 0) + 1)
    const nameTerms = permission.name.split('_').map(stem)
    const bigrams = new Map<string, SuggestField>()
    const phrases: Array<[SuggestField, string]> = [
      ['name', texts.name], ['title', texts.title], ...(permission.synonyms ?? []).map((s): [SuggestField, string] => ['synonym', s]),
    ]
    for (const [field, phrase] of phrases) {
      const terms = contentWords(phrase).map(stem)
      // A name starts with its action: "create deploy(ment)" is a verb and its object, not a compound like "deploy token".
      for (let i = field === 'name' ? 1 : 0; i + 1 < terms.length; i++) {
        const key = bigramKey(terms[i], terms[i + 1])
        if (!bigrams.has(key)) bigrams.set(key, field)
      }
    }
    return { permission, fields, stems, bigrams, nameTerms, titleTerms: contentWords(permission.title).map(stem), action: nameTerms[0] }
  })

  const averageLength = {} as Record<SuggestField, number>
  for (const field of SUGGEST_FIELDS) averageLength[field] = totals[field] / Math.max(1, entries.length) || 1

  const stemsByLength = new Map<number, string[]>()
  for (const term of documentFrequency.keys()) {
    const list = stemsByLength.get(term.length) ?? []
    list.push(term)
    stemsByLength.set(term.length, list)
  }
  const actions = new Set(entries.map((e) => e.action))
  const bigrams = new Set(entries.flatMap((e) => [...e.bigrams.keys()]))
  const n = entries.length
  const idf = new Map([...documentFrequency].map(([term, df]) => [term, Math.log(1 + (n - df + 0.5) / (df + 0.5))]))
  return { entries, documentFrequency, idf, averageLength, surface, words, stemsByLength, actions, bigrams }
}
