// A byte scanner for JSON request bodies that builds nothing: it bounds the nesting depth before any
// object exists, and for a large body it finds the arrays that are values of the top-level object
// and where their elements are separated, so they can be parsed a slice at a time. It does not check
// that the text is JSON: JSON.parse does that afterwards, on what the scan let through.
//
// Bytes, not characters: every structural byte of JSON is ASCII, and no byte of a multi-byte UTF-8
// sequence is below 0x80, so a quote, bracket or comma byte is always that character.

const QUOTE = 0x22
const BACKSLASH = 0x5c
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d
const COMMA = 0x2c

export class JsonTooDeepError extends Error {
  constructor(readonly maxDepth: number) {
    super(`The JSON body nests deeper than ${maxDepth} levels`)
  }
}

/** An array that is the value of a member of the top-level object: `[` at open, `]` at close. */
export interface TopLevelArray {
  open: number
  close: number
  /** Offsets of the commas between its elements (only the first `maxCommas` are kept). */
  commas: number[]
  /** How many commas separate its elements (elements - 1, for a non-empty array). */
  commaCount: number
}

/**
 * Scans `body` in steps (`scan(until)`), so a large body can be scanned between other work. With
 * `outline`, records the arrays that are values of a top-level object.
 */
export class JsonScanner {
  private position = 0
  private depth = 0
  private inString = false
  private escaped = false
  private topIsObject = false
  private current: TopLevelArray | undefined
  readonly arrays: TopLevelArray[] = []

  /**
   * With `outline`, records the top-level arrays; of each, the offsets of the first `maxCommas`
   * commas (an array longer than any route accepts is refused from its count alone).
   */
  constructor(
    private readonly body: Uint8Array,
    private readonly maxDepth: number,
    private readonly outline = false,
    private readonly maxCommas = Number.MAX_SAFE_INTEGER,
  ) {}

  get done(): boolean {
    return this.position >= this.body.length
  }

  /** Scans up to byte `until` (exclusive). Throws JsonTooDeepError past the depth bound. */
  scan(until = this.body.length): void {
    const body = this.body
    const end = Math.min(until, body.length)
    let { depth, inString, escaped } = this
    for (let i = this.position; i < end; i++) {
      const byte = body[i]
      if (inString) {
        if (escaped) escaped = false
        else if (byte === BACKSLASH) escaped = true
        else if (byte === QUOTE) inString = false
      } else if (byte === QUOTE) {
        inString = true
      } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        if (++depth > this.maxDepth) throw new JsonTooDeepError(this.maxDepth)
        if (this.outline) this.opened(byte, depth, i)
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (this.outline && depth === 2 && this.current) {
          this.current.close = i
          this.arrays.push(this.current)
          this.current = undefined
        }
        depth--
      } else if (byte === COMMA && depth === 2 && this.current) {
        if (this.current.commaCount++ < this.maxCommas) this.current.commas.push(i)
      }
    }
    this.position = end
    this.depth = depth
    this.inString = inString
    this.escaped = escaped
  }

  private opened(byte: number, depth: number, at: number) {
    if (depth === 1) this.topIsObject = byte === OPEN_BRACE
    else if (depth === 2 && this.topIsObject && byte === OPEN_BRACKET) this.current = { open: at, close: -1, commas: [], commaCount: 0 }
  }

  /** False when the body ended inside a string or with brackets left open: not JSON. */
  get complete(): boolean {
    return this.done && this.depth === 0 && !this.inString
  }

  /** True when the top-level value is an object (known once its first byte was scanned). */
  get topLevelObject(): boolean {
    return this.topIsObject
  }
}

/**
 * Depth check of a whole body at once, for the small bodies of every request (/authorize
 * included): the same walk as JsonScanner.scan, without an object per request.
 */
export function checkJsonDepth(body: Uint8Array, maxDepth: number): void {
  let depth = 0
  let inString = false
  for (let i = 0; i < body.length; i++) {
    const byte = body[i]
    if (inString) {
      if (byte === BACKSLASH) i++
      else if (byte === QUOTE) inString = false
    } else if (byte === QUOTE) {
      inString = true
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      if (++depth > maxDepth) throw new JsonTooDeepError(maxDepth)
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      depth--
    }
  }
}
