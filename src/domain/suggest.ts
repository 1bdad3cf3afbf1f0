// "Did you mean …?" for misspelt permission and scope names, and the typo tolerance of
// permission guidance (permissions/suggest-ranking.ts).

/** Levenshtein edit distance: insertions, deletions and substitutions each cost 1. */
export function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]
    row[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return row[b.length]
}

/** The closest known name within a third of the word's length, if any. */
export function closestName(input: string, known: Iterable<string>): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(input.length / 3)) + 1
  for (const name of known) {
    const d = distance(input.toLowerCase(), name)
    if (d < bestDistance) {
      best = name
      bestDistance = d
    }
  }
  return best
}
