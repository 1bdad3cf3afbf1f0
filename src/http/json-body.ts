// The application/json body parser of every route: nesting depth bounded before anything is built,
// Fastify's own prototype-poisoning protection (secure-json-parse, through getDefaultJsonParser),
// and, for the few bodies larger than a slice (only routes with a larger bodyLimit accept them),
// parsing a slice at a time so the event loop is never held for long.
import { randomBytes } from 'node:crypto'
import { errorCodes, type FastifyInstance, type FastifyRequest } from 'fastify'
import { AppError } from './errors.js'
import { checkJsonDepth, JsonScanner, JsonTooDeepError, type TopLevelArray } from './json-scan.js'
import { LoopBudget } from './yield.js'

/**
 * Our deepest request schema nests four levels (a token's granular scopes and their id lists);
 * 16 leaves room for growth and keeps the recursive parts (poisoning filter, validation, logging)
 * shallow. Deeper bodies are refused before one object is allocated.
 */
export const MAX_JSON_DEPTH = 16

/**
 * The body limit of every route that does not set its own. The largest realistic requests are an
 * /authorize/batch of 100 checks with long resource paths and a token or template with 100 scopes,
 * each about 100 KB; 256 KiB holds them with room to spare, and parsing and validating that much
 * takes a few milliseconds. (Callers authenticate before their body is read, so this bounds what
 * a caller with a credential can make one request cost.)
 */
export const DEFAULT_BODY_LIMIT = 256 * 1024

/**
 * Bodies up to this size (every body within the default limit) are scanned and parsed in one go.
 * Larger ones, which only routes with a larger bodyLimit accept, are parsed a slice of array
 * elements at a time, with a yield between slices.
 */
export const SLICE_BYTES = DEFAULT_BODY_LIMIT

/** Most elements, and bytes, parsed by one JSON.parse call of a large body (well under 1 ms). */
const SLICE_ELEMENTS = 500
const PARSE_SLICE_BYTES = 64 * 1024
/** Bytes copied between two checks of the time budget (~3 ms at the 350 MB/s such a VM copies). */
const COPY_STEP_BYTES = 1024 * 1024
/** Bytes scanned between two checks of the time budget. */
const SCAN_STEP_BYTES = 64 * 1024

/** Elements of one top-level array whose offsets are kept; beyond it only the count (refused). */
const MAX_ARRAY_ITEMS = 100_000

type StrictParse = (text: string) => unknown

/** Fastify's own parser (prototype poisoning refused) as a function that returns or throws. */
function strictParser(app: FastifyInstance): (request: FastifyRequest) => StrictParse {
  const fastifyJson = app.getDefaultJsonParser('error', 'error')
  return (request) => (text) => {
    let parsed: unknown
    let failure: Error | undefined
    fastifyJson(request, text, (err, body) => {
      failure = err ?? undefined
      parsed = body
    })
    if (failure) throw failure
    return parsed
  }
}

export function registerJsonBodyParser(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const fastifyJson = app.getDefaultJsonParser('error', 'error')
  const strictParse = strictParser(app)
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    // No body at all, only the header: python-gitlab sends `Content-Type: application/json` with
    // every request, its DELETEs included, and GitLab reads that as no body. So does the route's
    // schema here (undefined is validated as null: a route that needs a body still says so).
    if (body.length === 0) return done(null, undefined)
    if (body.length > SLICE_BYTES) {
      parseInSlices(body, maxDepth, strictParse(request), arrayLimits(request)).then((value) => done(null, value), (err: Error) => done(refusal(err)))
      return
    }
    // Every /authorize body comes this way: no closure per request, Fastify's parser answers `done`.
    try {
      checkJsonDepth(body, maxDepth)
    } catch (err) {
      return done(refusal(err as Error))
    }
    fastifyJson(request, body.toString('utf8'), done)
  })
}

/**
 * For an encapsulated context whose routes accept bodies of many megabytes (the directory's bulk
 * load): Fastify's parseAs gathers a body with one Buffer.concat at its end, and concatenating
 * 32 MiB holds the event loop ~90 ms on its own on a 2-core VM. Here the chunks are copied into one
 * buffer a slice at a time, then parsed as registerJsonBodyParser does.
 */
export function registerLargeJsonBodyParser(app: FastifyInstance, maxDepth = MAX_JSON_DEPTH): void {
  const strictParse = strictParser(app)
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', (request, payload, done) => {
    gatherInSlices(request, payload)
      .then((body) => {
        if (body.length > SLICE_BYTES) return parseInSlices(body, maxDepth, strictParse(request), arrayLimits(request))
        checkJsonDepth(body, maxDepth)
        return strictParse(request)(body.toString('utf8'))
      })
      .then((value) => done(null, value), (err: Error) => done(refusal(err)))
  })
}

/** The body's bytes, with the checks Fastify makes when it gathers them: limit and Content-Length. */
async function gatherInSlices(request: FastifyRequest, payload: NodeJS.ReadableStream): Promise<Buffer> {
  const limit = request.routeOptions.bodyLimit ?? DEFAULT_BODY_LIMIT
  const declared = Number(request.headers['content-length']) // NaN when the body is chunked
  if (declared > limit) throw new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE()
  const chunks: Buffer[] = []
  let received = 0
  await new Promise<void>((resolve, reject) => {
    const stop = () => {
      payload.removeListener('data', onData)
      payload.removeListener('end', onEnd)
      payload.removeListener('error', onEnd)
    }
    const onData = (chunk: Buffer) => {
      received += chunk.length
      if (received > limit) {
        stop()
        reject(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE())
      } else chunks.push(chunk)
    }
    const onEnd = (err?: Error & { statusCode?: number }) => {
      stop()
      if (!err) return resolve()
      if (!(typeof err.statusCode === 'number' && err.statusCode >= 400)) err.statusCode = 400
      reject(err)
    }
    payload.on('data', onData)
    payload.on('end', onEnd)
    payload.on('error', onEnd)
  })
  if (!Number.isNaN(declared) && received !== declared) throw new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH()
  // Copied, never used in place: the parser must not keep a view over a socket's read buffer.
  const body = Buffer.allocUnsafe(received)
  const budget = new LoopBudget()
  let offset = 0
  for (const chunk of chunks) {
    for (let at = 0; at < chunk.length; at += COPY_STEP_BYTES) {
      offset += chunk.copy(body, offset, at, Math.min(chunk.length, at + COPY_STEP_BYTES))
      await budget.pause()
    }
  }
  return body
}

function refusal(err: Error): Error {
  if (err instanceof JsonTooDeepError) return new AppError(400, 'json_too_deep', err.message)
  return err
}

/** `maxItems` of the route's top-level body arrays: a larger array is refused before it is parsed. */
function arrayLimits(request: FastifyRequest): (key: string) => number | undefined {
  const body = (request.routeOptions.schema as { body?: { properties?: Record<string, { maxItems?: number }> } } | undefined)?.body
  return (key) => body?.properties?.[key]?.maxItems
}

async function parseInSlices(body: Buffer, maxDepth: number, parse: StrictParse, maxItemsOf: (key: string) => number | undefined): Promise<unknown> {
  const budget = new LoopBudget()
  const scanner = new JsonScanner(body, maxDepth, true, MAX_ARRAY_ITEMS)
  for (let at = SCAN_STEP_BYTES; !scanner.done; at += SCAN_STEP_BYTES) {
    scanner.scan(at)
    await budget.pause()
  }
  if (!scanner.complete) throw new AppError(400, 'invalid_json', 'The body is not valid JSON: it ends inside a string or with brackets left open')
  if (!scanner.topLevelObject) throw tooLarge('a JSON body this large must be an object')

  // Everything but the top-level arrays is parsed at once; each array is left as a marker that no
  // client can forge (a random nonce) and filled in afterwards, only for the keys JSON.parse kept.
  const marker = `\u0000fgpat-array:${randomBytes(8).toString('hex')}:`
  let skeleton = ''
  let from = 0
  scanner.arrays.forEach((array, i) => {
    skeleton += `${body.toString('utf8', from, array.open)}${JSON.stringify(marker + i)}`
    from = array.close + 1
  })
  skeleton += body.toString('utf8', from)
  if (skeleton.length > SLICE_BYTES) throw tooLarge('in a JSON body this large, everything outside the top-level arrays must stay small')
  const value = parse(skeleton) as Record<string, unknown>

  for (const key of Object.keys(value)) {
    const member = value[key]
    if (typeof member !== 'string' || !member.startsWith(marker)) continue
    const array = scanner.arrays[Number(member.slice(marker.length))]
    value[key] = await parseArray(body, array, key, parse, maxItemsOf(key), budget)
  }
  return value
}

async function parseArray(body: Buffer, array: TopLevelArray, key: string, parse: StrictParse, maxItems: number | undefined, budget: LoopBudget): Promise<unknown[]> {
  const empty = array.commaCount === 0 && onlyWhitespace(body, array.open + 1, array.close)
  const count = empty ? 0 : array.commaCount + 1
  // An array the route's schema does not bound (or does not know) is parsed only when small: the
  // validator refuses it or it is not meant to be large.
  if (maxItems === undefined && count > SLICE_ELEMENTS) throw tooLarge(`"${key}" holds more items than this endpoint accepts`)
  if (maxItems !== undefined && count > maxItems) throw tooManyItems(key, maxItems)
  if (count > MAX_ARRAY_ITEMS) throw tooLarge(`"${key}" holds more items than this endpoint accepts`)
  // element k spans (separator k-1, separator k): the commas, with the brackets at either end
  const separators = [array.open, ...array.commas, array.close]
  const items: unknown[] = []
  for (let first = 0; first < count; ) {
    let last = first
    while (last + 1 < count && last + 1 - first < SLICE_ELEMENTS && separators[last + 2] - separators[first] <= PARSE_SLICE_BYTES) last++
    if (separators[last + 1] - separators[first] > SLICE_BYTES) throw tooLarge(`body.${key}[${first}] is larger than ${SLICE_BYTES} bytes`)
    const slice = parse(`[${body.toString('utf8', separators[first] + 1, separators[last + 1])}]`) as unknown[]
    // an element that is only whitespace (a trailing comma) parses as no element at all
    if (slice.length !== last + 1 - first) throw new AppError(400, 'invalid_json', `body.${key}: an element is missing (a stray comma)`)
    for (const item of slice) items.push(item)
    first = last + 1
    await budget.pause()
  }
  return items
}

function onlyWhitespace(body: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const byte = body[i]
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return false
  }
  return true
}

function tooLarge(detail: string) {
  return new AppError(413, 'payload_too_large', detail)
}

function tooManyItems(key: string, maxItems: number) {
  const path = `body.${key}`
  return new AppError(400, 'validation_failed', `${path} must NOT have more than ${maxItems} items`, [{ path, message: `must NOT have more than ${maxItems} items` }])
}
