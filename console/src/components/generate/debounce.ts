// Waits for a pause in typing (or in form changes) before asking the API, and drops answers that
// arrive after a newer question was asked (a slow answer must not overwrite a fresh one).
export function debounced<A extends unknown[]>(ms: number, run: (...args: A) => void) {
  let timer: ReturnType<typeof setTimeout> | undefined
  const call = (...args: A) => {
    clearTimeout(timer)
    timer = setTimeout(() => run(...args), ms)
  }
  call.cancel = () => clearTimeout(timer)
  return call
}

/** Each call gets a ticket; only the latest ticket's answer is used. */
export function latestOnly() {
  let latest = 0
  return {
    next: () => ++latest,
    isLatest: (ticket: number) => ticket === latest,
  }
}
