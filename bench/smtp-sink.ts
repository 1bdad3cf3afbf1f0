// A mail server that accepts and counts, in its own process so the sweep benchmark's memory
// figures are the worker's alone. Sends {port} when listening and {count} when asked.
import { SMTPServer } from 'smtp-server'

let count = 0
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  onData(stream, _session, callback) {
    stream.on('data', () => undefined)
    stream.on('end', () => {
      count++
      callback()
    })
  },
})
server.listen(0, '127.0.0.1', () => {
  const addr = server.server.address()
  process.send?.({ port: typeof addr === 'object' && addr ? addr.port : 0 })
})
process.on('message', () => process.send?.({ count }))
