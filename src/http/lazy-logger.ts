// Fastify gives every request a pino child logger bound to its request id. Creating one costs
// about as much as a cached /authorize decision, and on the quiet (not request-logged) hot paths
// it is almost never used. For those paths the request gets a stand-in that inherits everything
// from the parent logger and creates the real child (same bindings, same options) on its first
// log call, so a line logged there still carries the request id.
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify'

type ChildLoggerFactory = NonNullable<FastifyServerOptions['childLoggerFactory']>
type Bindings = Parameters<ChildLoggerFactory>[1]
type ChildOptions = Parameters<ChildLoggerFactory>[2]

const LOG_METHODS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent', 'child'] as const

interface LazyState {
  lazyBindings: Bindings
  lazyOptions: ChildOptions
  lazyChild?: FastifyBaseLogger
}

const prototypes = new WeakMap<FastifyBaseLogger, object>()

function lazyPrototype(parent: FastifyBaseLogger): object {
  let proto = prototypes.get(parent)
  if (proto) return proto
  proto = Object.create(parent) as object
  const real = (self: LazyState) => (self.lazyChild ??= parent.child(self.lazyBindings, self.lazyOptions))
  for (const method of LOG_METHODS) {
    Object.defineProperty(proto, method, {
      value(this: LazyState, ...args: unknown[]) {
        const child = real(this) as unknown as Record<string, (...a: unknown[]) => unknown>
        return child[method](...args)
      },
    })
  }
  prototypes.set(parent, proto)
  return proto
}

export function lazyChildLoggerFactory(isQuiet: (url: string) => boolean): ChildLoggerFactory {
  return function childLogger(logger, bindings, options, rawReq) {
    if (!isQuiet(rawReq.url ?? '')) return logger.child(bindings, options)
    const lazy = Object.create(lazyPrototype(logger)) as LazyState
    lazy.lazyBindings = bindings
    lazy.lazyOptions = options
    return lazy as unknown as FastifyBaseLogger
  }
}
