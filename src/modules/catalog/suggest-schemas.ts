// GET /api/v4/permissions/suggest: the request and the answer of permission guidance.
import { Type } from 'typebox'
import { Nullable } from '../../http/schemas.js'

export const SUGGEST_LIMIT_DEFAULT = 10
export const SUGGEST_LIMIT_MAX = 50

export const SuggestQuery = Type.Object(
  {
    q: Type.String({
      minLength: 1, maxLength: 200,
      description: 'What the job does, in plain words: "clone the repo and open merge requests". Several intents may be joined by "and", commas, semicolons or "then".',
    }),
    boundary: Type.Optional(Type.Union([Type.Literal('project'), Type.Literal('group'), Type.Literal('user'), Type.Literal('instance')], {
      description: 'Only permissions that can be granted at this boundary',
    })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: SUGGEST_LIMIT_MAX, default: SUGGEST_LIMIT_DEFAULT, description: `At most this many results (default ${SUGGEST_LIMIT_DEFAULT})` })),
  },
  { additionalProperties: false },
)

const MatchSchema = Type.Object({
  word: Type.String({ description: 'The word (or two adjacent words) of the query' }),
  term: Type.String({ description: 'The catalog word it matched' }),
  field: Type.Union([Type.Literal('name'), Type.Literal('title'), Type.Literal('synonym'), Type.Literal('description'), Type.Literal('category')], {
    description: 'Where in the permission the term is',
  }),
  how: Type.Union([Type.Literal('exact'), Type.Literal('stem'), Type.Literal('fuzzy'), Type.Literal('synonym'), Type.Literal('verb')], {
    description: 'exact; stem (another form: "requests" → request); fuzzy (a typo); synonym (shorthand: "MR" → merge request); verb (an everyday verb for a catalog action: "open" → create)',
  }),
})

const SuggestionSchema = Type.Object({
  name: Type.String(),
  title: Type.String(),
  category: Type.String(),
  access: Type.String({ description: 'read or write' }),
  boundaries: Type.Array(Type.String()),
  score: Type.Number({ description: 'BM25 score in the clause it matched best' }),
  relevance: Type.Number({ description: '0–1: the score as a share of the best score of that clause; results are ordered by it, each clause\'s best first' }),
  covers: Type.Array(Type.String(), { description: 'The clauses of the query it is a good match for' }),
  matched: Type.Array(MatchSchema, { description: 'Why it matched, strongest first' }),
})

const ClauseSchema = Type.Object({
  text: Type.String(),
  words: Type.Array(Type.String(), { description: 'The words that were ranked (common words dropped)' }),
  unmatched: Type.Array(Type.String(), { description: 'Words no permission knows, not even as a typo' }),
  best: Nullable(Type.String({ description: 'The best permission for this clause' })),
})

export const SuggestResponse = Type.Object({
  query: Type.String(),
  clauses: Type.Array(ClauseSchema, { description: 'The intents the query was split into, each with its best match' }),
  results: Type.Array(SuggestionSchema),
  hint: Type.Optional(Type.String({ description: 'When there are no results: what to try instead' })),
})
