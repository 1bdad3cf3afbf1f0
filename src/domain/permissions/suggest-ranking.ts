/**
 * Permission guidance: "clone the repo and open merge requests" → Code: Read, Merge request:
 * Create, each with why it matched. BM25 over the fields of suggest-index.ts, field weighted
 * (a word in a permission's name says more than one in its category's description); query words
 * are widened by stemming, a verb vocabulary, shorthand ("MR") and typo tolerance, each widening
 * counting for less than the word itself. A request with several intents is split into clauses and
 * the best match of every clause is listed first, so "… and open merge requests" is not drowned by
 * the clause with more words.
 */
import { distance } from '../suggest.js'
import { bigramKey, type IndexedPermission, SUGGEST_FIELDS, type SuggestField, type SuggestIndex } from './suggest-index.js'
import { type ClauseWord, clauseWords, shorthand, splitClauses, stem, verbActions } from './suggest-text.js'
import type { Boundary, Permission } from './types.js'

export type MatchHow = 'exact' | 'stem' | 'fuzzy' | 'synonym' | 'verb'

/** BM25's usual constants: term-frequency saturation and length normalisation. */
const K1 = 1.2
const B = 0.75

const FIELD_WEIGHT: Record<SuggestField, number> = { name: 3, title: 2.5, synonym: 2, description: 1, category: 0.5 }

/** How much a widened word counts next to the word itself. */
const HOW_WEIGHT: Record<MatchHow, number> = { exact: 1, stem: 0.9, synonym: 0.75, verb: 0.6, fuzzy: 0.55 }
const FUZZY_TWO_EDITS = 0.35

/** A word's further widenings add a little on top of its best one (so "repo" → code and repository is not counted twice). */
const SECONDARY_SHARE = 0.25

/**
 * A permission whose action is what the query asks for ("push code" → push_code) gains; one of the
 * other kind (a write when the query only reads, a read when it only writes) loses.
 */
const ACTION_AGREES = 1.25
const ACCESS_DISAGREES = 0.8

/** Actions that only read; the rest of a query's actions write. */
const READ_ACTIONS: ReadonlySet<string> = new Set(['read', 'download'])

/**
 * Specificity: a permission whose name (or title) the query covers entirely (read_code for "read
 * the code") beats one that only shares a word (use_code_suggestions). Factor: NAME_FLOOR + (1 − NAME_FLOOR) × covered share.
 */
const NAME_FLOOR = 0.5

/** Words after a preposition ("comment on MR") name the context, not the job. */
const CONTEXT_WEIGHT = 0.6

/** Two adjacent query words found side by side in a name, title or synonym ("deploy token") add this share of their weight. */
const PHRASE_SHARE = 1

/** Results below this share of their clause's best score are noise, not suggestions. */
const MIN_RELEVANCE = 0.2

/** A result covers a clause when it scores at least this share of the clause's best. */
const COVERS_RELEVANCE = 0.6

interface Expansion {
  term: string
  how: MatchHow
  weight: number
}

interface QueryWord {
  word: string
  /** 1, or CONTEXT_WEIGHT for a word after a preposition. */
  weight: number
  expansions: Expansion[]
}

export interface Match {
  /** The word of the query. */
  word: string
  /** The index term it matched, as a word ("clone", not the stem "clon"). */
  term: string
  field: SuggestField
  how: MatchHow
}

export interface Suggestion {
  permission: Permission
  /** BM25 score in the clause it matched best. */
  score: number
  /** 0–1: the score as a share of that clause's best; results are ordered by it. */
  relevance: number
  /** The clauses it is a good match for. */
  covers: string[]
  matched: Match[]
}

export interface ClauseResult {
  text: string
  /** The words that took part in the ranking (after stopwords). */
  words: string[]
  /** Words that matched nothing in the catalog, not even as a typo. */
  unmatched: string[]
  /** Name of the best permission for this clause, null when nothing matched. */
  best: string | null
}

export interface SuggestOutcome {
  clauses: ClauseResult[]
  suggestions: Suggestion[]
  /** Set when there is nothing to suggest: what to try instead. */
  hint?: string
}

export interface SuggestOptions {
  boundary?: Boundary
  limit: number
}

/** Typo tolerance by word length: none below 4 letters ("pr" is not "mr"), 1 edit from 4, 2 from 8. */
function allowedEdits(word: string): number {
  return word.length >= 8 ? 2 : word.length >= 4 ? 1 : 0
}

function addExpansion(expansions: Expansion[], next: Expansion): void {
  const existing = expansions.find((e) => e.term === next.term)
  if (!existing) expansions.push(next)
  else if (existing.weight < next.weight) Object.assign(existing, next)
}

function expandWord(index: SuggestIndex, { word, context }: ClauseWord): QueryWord {
  const expansions: Expansion[] = []
  const own = stem(word)
  if (index.documentFrequency.has(own)) {
    const how: MatchHow = index.words.has(word) ? 'exact' : 'stem'
    addExpansion(expansions, { term: own, how, weight: HOW_WEIGHT[how] })
  }
  for (const other of shorthand(word) ?? []) {
    const term = stem(other)
    if (index.documentFrequency.has(term)) addExpansion(expansions, { term, how: 'synonym', weight: HOW_WEIGHT.synonym })
  }
  for (const action of verbActions(word) ?? []) {
    const term = stem(action)
    if (index.documentFrequency.has(term)) addExpansion(expansions, { term, how: 'verb', weight: HOW_WEIGHT.verb })
  }
  // Typos only for words the catalog does not know: a known word means what it says.
  const edits = allowedEdits(word)
  if (expansions.length === 0 && edits > 0) {
    for (let length = own.length - edits; length <= own.length + edits; length++) {
      for (const term of index.stemsByLength.get(length) ?? []) {
        const d = distance(own, term)
        if (d > 0 && d <= edits) addExpansion(expansions, { term, how: 'fuzzy', weight: d === 1 ? HOW_WEIGHT.fuzzy : FUZZY_TWO_EDITS })
      }
    }
  }
  return { word, weight: context ? CONTEXT_WEIGHT : 1, expansions }
}

const inverseDocumentFrequency = (index: SuggestIndex, term: string) => index.idf.get(term) ?? 0

/** The term's BM25 contribution in each field of one permission, field weights applied. */
function fieldScores(index: SuggestIndex, entry: IndexedPermission, term: string): { total: number; bestField: SuggestField } {
  let total = 0
  let bestField: SuggestField = 'name'
  let best = 0
  for (const field of SUGGEST_FIELDS) {
    const { counts, length } = entry.fields[field]
    const tf = counts.get(term) ?? 0
    if (tf === 0) continue
    const saturated = (tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * length) / index.averageLength[field]))
    const score = FIELD_WEIGHT[field] * saturated
    total += score
    if (score > best) {
      best = score
      bestField = field
    }
  }
  return { total, bestField }
}

/**
 * The catalog actions a clause asks for: its action words and what its verbs map to. A word that
 * starts a compound with the next one is a noun, not an action ("view merge requests" does not
 * ask to merge).
 */
function clauseActions(index: SuggestIndex, words: QueryWord[]): Set<string> {
  const actions = new Set<string>()
  words.forEach(({ word, expansions }, i) => {
    const next = words[i + 1]?.word
    if (next !== undefined && index.bigrams.has(bigramKey(stem(word), stem(next)))) return
    for (const e of expansions) if ((e.how === 'exact' || e.how === 'stem' || e.how === 'verb') && index.actions.has(e.term)) actions.add(e.term)
  })
  return actions
}

function actionFactor(entry: IndexedPermission, actions: Set<string>): number {
  if (actions.size === 0) return 1
  if (actions.has(entry.action)) return ACTION_AGREES
  const readsOnly = [...actions].every((a) => READ_ACTIONS.has(a))
  const writesOnly = [...actions].every((a) => !READ_ACTIONS.has(a))
  if ((readsOnly && entry.permission.access === 'write') || (writesOnly && entry.permission.access === 'read')) return ACCESS_DISAGREES
  return 1
}

function nameFactor(entry: IndexedPermission, words: QueryWord[]): number {
  const named = new Set(words.flatMap((w) => w.expansions.map((e) => e.term)))
  const share = (terms: string[]) => terms.filter((t) => named.has(t)).length / Math.max(1, terms.length)
  return NAME_FLOOR + (1 - NAME_FLOOR) * Math.max(share(entry.nameTerms), share(entry.titleTerms))
}

const HOW_ORDER: MatchHow[] = ['exact', 'stem', 'synonym', 'verb', 'fuzzy']

/** Adjacent query words that stand side by side in the permission's name, title or a synonym. */
function phraseMatch(index: SuggestIndex, entry: IndexedPermission, first: QueryWord, second: QueryWord): (Match & { contribution: number }) | undefined {
  let best: (Match & { contribution: number }) | undefined
  for (const a of first.expansions) {
    for (const b of second.expansions) {
      const field = entry.bigrams.get(bigramKey(a.term, b.term))
      if (!field) continue
      const weight = Math.min(first.weight * a.weight, second.weight * b.weight)
      const contribution = PHRASE_SHARE * weight * FIELD_WEIGHT[field] * (inverseDocumentFrequency(index, a.term) + inverseDocumentFrequency(index, b.term))
      if (best && best.contribution >= contribution) continue
      const how = HOW_ORDER[Math.max(HOW_ORDER.indexOf(a.how), HOW_ORDER.indexOf(b.how))]
      const term = `${index.surface.get(a.term) ?? a.term} ${index.surface.get(b.term) ?? b.term}`
      best = { word: `${first.word} ${second.word}`, term, field, how, contribution }
    }
  }
  return best
}

function scoreEntry(index: SuggestIndex, entry: IndexedPermission, words: QueryWord[], actions: Set<string>): { score: number; matched: Match[] } {
  let score = 0
  const matched: Array<Match & { contribution: number }> = []
  for (const { word, weight, expansions } of words) {
    const contributions: number[] = []
    for (const expansion of expansions) {
      if (!entry.stems.has(expansion.term)) continue
      const { total, bestField } = fieldScores(index, entry, expansion.term)
      const contribution = weight * expansion.weight * inverseDocumentFrequency(index, expansion.term) * total
      contributions.push(contribution)
      matched.push({ word, term: index.surface.get(expansion.term) ?? expansion.term, field: bestField, how: expansion.how, contribution })
    }
    if (contributions.length === 0) continue
    const best = Math.max(...contributions)
    const rest = contributions.reduce((sum, c) => sum + c, 0) - best
    score += best + SECONDARY_SHARE * rest
  }
  for (let i = 0; i + 1 < words.length; i++) {
    const phrase = phraseMatch(index, entry, words[i], words[i + 1])
    if (!phrase) continue
    score += phrase.contribution
    matched.push(phrase)
  }
  matched.sort((a, b) => b.contribution - a.contribution)
  if (score > 0) score *= actionFactor(entry, actions) * nameFactor(entry, words)
  return { score, matched: matched.map(({ contribution: _, ...match }) => match) }
}

interface Clause {
  text: string
  words: ClauseWord[]
}

/**
 * Clauses with their content words. A clause of verbs only ("read and write the code") borrows
 * the other words of its neighbour, so it becomes "read code" rather than "read" anything.
 */
function clausesOf(query: string): Clause[] {
  const raw = splitClauses(query).map((text) => ({ text, words: clauseWords(text) })).filter((c) => c.words.length > 0)
  const isVerb = (w: ClauseWord) => verbActions(w.word) !== undefined
  const isVerbOnly = (c: Clause) => c.words.every(isVerb)
  const clauses = raw.map((clause, i) => {
    if (!isVerbOnly(clause)) return clause
    const neighbour = raw.slice(i + 1).find((c) => !isVerbOnly(c)) ?? raw.slice(0, i).reverse().find((c) => !isVerbOnly(c))
    return neighbour ? { text: clause.text, words: [...clause.words, ...neighbour.words.filter((w) => !isVerb(w))] } : clause
  })
  // A repeated intent is one intent (and ranking it twice would only cost time).
  const seen = new Set<string>()
  return clauses.filter((c) => {
    const key = c.words.map((w) => w.word).join(' ')
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

interface Scored {
  entry: IndexedPermission
  scores: number[]
  matched: Match[][]
}

export function suggestPermissions(index: SuggestIndex, query: string, options: SuggestOptions): SuggestOutcome {
  const clauses = clausesOf(query)
  if (clauses.length === 0) {
    return { clauses: [], suggestions: [], hint: 'The text has only common words; say what the job does, e.g. "clone the repo and open merge requests".' }
  }
  const expanded = clauses.map((c) => c.words.map((w) => expandWord(index, w)))
  const actions = expanded.map((words) => clauseActions(index, words))
  const candidates = index.entries.filter((e) => options.boundary === undefined || e.permission.boundaries.includes(options.boundary))

  const queryTerms = new Set(expanded.flat().flatMap((w) => w.expansions.map((e) => e.term)))
  const scored: Scored[] = []
  for (const entry of candidates) {
    if (![...queryTerms].some((term) => entry.stems.has(term))) continue
    const results = expanded.map((words, i) => scoreEntry(index, entry, words, actions[i]))
    if (results.some((r) => r.score > 0)) scored.push({ entry, scores: results.map((r) => r.score), matched: results.map((r) => r.matched) })
  }

  const tops = clauses.map((_, i) => Math.max(0, ...scored.map((s) => s.scores[i])))
  const winners = clauses.map((_, i) => (tops[i] > 0 ? scored.find((s) => s.scores[i] === tops[i]) : undefined))
  const ranked = scored.map((s) => ({
    ...s,
    relevance: Math.max(...s.scores.map((score, i) => (tops[i] > 0 ? score / tops[i] : 0))),
    best: Math.max(...s.scores),
    // Each clause's best comes first, in the order of the clauses.
    winnerOf: winners.includes(s) ? winners.indexOf(s) : clauses.length,
  }))
  const ordered = ranked
    .filter((s) => s.relevance >= MIN_RELEVANCE)
    .sort((a, b) => a.winnerOf - b.winnerOf || b.relevance - a.relevance || b.best - a.best)
    .slice(0, options.limit)

  const suggestions = ordered.map((s): Suggestion => {
    const best = s.scores.indexOf(Math.max(...s.scores))
    const seen = new Set<string>()
    const matched = s.matched.flat().filter((m) => {
      const key = `${m.word}\u0000${m.term}`
      if (seen.has(key)) return false
      seen.add(key)
      return true
    })
    return {
      permission: s.entry.permission,
      score: round(s.scores[best]),
      relevance: round(s.relevance),
      covers: clauses.filter((_, i) => tops[i] > 0 && s.scores[i] / tops[i] >= COVERS_RELEVANCE).map((c) => c.text),
      matched,
    }
  })

  const clauseResults = clauses.map((clause, i): ClauseResult => ({
    text: clause.text,
    words: clause.words.map((w) => w.word),
    unmatched: expanded[i].filter((w) => w.expansions.length === 0).map((w) => w.word),
    best: winners[i]?.entry.permission.name ?? null,
  }))
  if (suggestions.length > 0) return { clauses: clauseResults, suggestions }
  return { clauses: clauseResults, suggestions, hint: emptyHint(clauseResults, options.boundary) }
}

function emptyHint(clauses: ClauseResult[], boundary: Boundary | undefined): string {
  const unmatched = [...new Set(clauses.flatMap((c) => c.unmatched))]
  const where = boundary ? ` that can be granted at the ${boundary} boundary` : ''
  const words = unmatched.length > 0 ? ` (no permission${where} knows "${unmatched.join('", "')}")` : where ? ` among permissions${where}` : ''
  return `Nothing matched${words}. Describe the job with the words of a GitLab user, e.g. "clone the repo", "open merge requests", "run the pipeline", "publish a package".`
}

const round = (n: number) => Math.round(n * 1000) / 1000
