// How much recorded use a least-privilege recommendation needs, and how sure it can be. Pure.

export type Confidence = 'none' | 'low' | 'medium' | 'high'

/**
 * Below these nothing is recommended. Ten allowed decisions is a handful of job runs: fewer is a
 * token tried once by hand, whose recommendation would strip whatever the real job does next. Two
 * distinct days, because one day's use is one run (or one debugging session) of a job, not its
 * pattern: a job that also does something on its second run (a release, a clean-up) would lose it.
 */
export const MIN_ALLOWED_DECISIONS = 10
export const MIN_DAYS = 2

/**
 * Medium: a week of days with use, enough to see a weekly job at least once (the cycle most
 * scheduled pipelines run on), and fifty decisions, so the pattern is not a few runs.
 */
export const MEDIUM_DAYS = 7
export const MEDIUM_ALLOWED_DECISIONS = 50

/**
 * High: two weeks of days with use, so a weekly job has been seen twice (its second run repeats
 * the first, or shows what the first missed), and two hundred decisions.
 */
export const HIGH_DAYS = 14
export const HIGH_ALLOWED_DECISIONS = 200

export interface Evidence {
  /** Allowed decisions in the window. */
  allowed: number
  /** Denied decisions in the window. */
  denied: number
  /** Distinct UTC days with at least one allowed decision. */
  days: number
}

export function confidenceOf(evidence: Evidence): Confidence {
  const { allowed, days } = evidence
  if (allowed < MIN_ALLOWED_DECISIONS || days < MIN_DAYS) return 'none'
  if (allowed >= HIGH_ALLOWED_DECISIONS && days >= HIGH_DAYS) return 'high'
  if (allowed >= MEDIUM_ALLOWED_DECISIONS && days >= MEDIUM_DAYS) return 'medium'
  return 'low'
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

/** Why nothing is recommended, in words; undefined when there is enough evidence. */
export function insufficiencyReason(evidence: Evidence, windowDays: number): string | undefined {
  if (confidenceOf(evidence) !== 'none') return undefined
  const seen = `${plural(evidence.allowed, 'allowed decision')} on ${plural(evidence.days, 'day')} in the last ${plural(windowDays, 'day')}`
  return `Too little evidence: ${seen}; a recommendation needs at least ${MIN_ALLOWED_DECISIONS} allowed decisions on at least ${MIN_DAYS} different days. ` +
    'Use the token for its job for longer (or ask for a longer window with ?days=) and ask again.'
}
