// A real SMTP server in the test process (smtp-server + mailparser): the worker sends to it over
// TCP exactly as it would to a mail relay. Tests can make it refuse messages (4xx/5xx), answer
// slowly, or hold its answers to freeze a worker mid-send. A message counts as delivered only once
// the server has answered 250: until then the sender still owns it (RFC 5321 §6.1).
import { type AddressObject, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'

export interface ReceivedMail {
  to: string[]
  from: string
  subject: string
  text: string
  html: string
  messageId: string
  /** X-Fgpat-Event-Id / X-Fgpat-Event headers: which audit event the mail is about. */
  eventId: number
  event: string
  raw: string
}

/** Decide the answer to a complete message: undefined accepts it. */
export type Reply = (mail: ReceivedMail, attempt: number) => { code: number; message: string } | undefined

interface Tap {
  teardown: (fn: () => unknown) => void
}

const addresses = (a: AddressObject | AddressObject[] | undefined): string[] =>
  (Array.isArray(a) ? a : a ? [a] : []).flatMap((o) => o.value.map((v) => v.address ?? ''))

export class TestSmtp {
  readonly mails: ReceivedMail[] = []
  /** Every complete message received, accepted or refused. */
  readonly attempts: { at: number; mail: ReceivedMail; code: number }[] = []
  reply: Reply = () => undefined
  /** Wait this long after a message's data before answering (a slow server, a job in flight). */
  delayMs = 0
  /** Messages whose data arrived, answered or not yet. */
  received = 0
  private holding = false
  private held: ((deliver: boolean) => void)[] = []
  private waiters: (() => void)[] = []

  constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`
  }

  /** From now on, messages are received but not answered: their senders wait, mid-send. */
  hold(): void {
    this.holding = true
  }

  get heldSessions(): number {
    return this.held.length
  }

  /** Answer the held messages now (a slow server catching up). */
  release(): void {
    this.holding = false
    for (const answer of this.held.splice(0)) answer(true)
  }

  /** The senders are gone (killed): the held messages were never accepted. */
  drop(): void {
    this.holding = false
    for (const answer of this.held.splice(0)) answer(false)
  }

  answerLater(answer: (deliver: boolean) => void): boolean {
    if (!this.holding) return false
    this.held.push(answer)
    return true
  }

  record(mail: ReceivedMail, code: number): void {
    this.attempts.push({ at: Date.now(), mail, code })
    if (code === 250) this.mails.push(mail)
    for (const w of this.waiters.splice(0)) w()
  }

  /** Resolves once `count` messages were accepted (or attempted, with `attempts: true`). */
  async waitFor(count: number, opts: { timeoutMs?: number; attempts?: boolean } = {}): Promise<ReceivedMail[]> {
    const deadline = Date.now() + (opts.timeoutMs ?? 20_000)
    const seen = () => (opts.attempts ? this.attempts.length : this.mails.length)
    while (seen() < count) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`expected ${count} mails, got ${seen()}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 250))
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
    return opts.attempts ? this.attempts.map((a) => a.mail) : this.mails
  }

  close(): Promise<void> {
    this.drop()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

export async function startSmtp(t: Tap): Promise<TestSmtp> {
  let smtp: TestSmtp | undefined
  const attemptsByMessage = new Map<string, number>()
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (c: Buffer) => chunks.push(c))
      const raw = new Promise<Buffer>((resolve, reject) => {
        stream.once('end', () => resolve(Buffer.concat(chunks)))
        stream.once('error', reject)
      })
      raw.then(async (buffer) => ({ buffer, parsed: await simpleParser(buffer) })).then(
        ({ buffer, parsed }) => {
          const mail: ReceivedMail = {
            to: addresses(parsed.to),
            from: addresses(parsed.from)[0] ?? '',
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
            html: typeof parsed.html === 'string' ? parsed.html : '',
            messageId: parsed.messageId ?? '',
            eventId: Number(parsed.headers.get('x-fgpat-event-id')),
            event: String(parsed.headers.get('x-fgpat-event') ?? ''),
            raw: buffer.toString('utf8'),
          }
          smtp!.received++
          const attempt = (attemptsByMessage.get(mail.messageId) ?? 0) + 1
          attemptsByMessage.set(mail.messageId, attempt)
          const answer = () => {
            if (smtp!.answerLater((deliver) => (deliver ? answer() : callback(new Error('never answered'))))) return
            const refusal = smtp!.reply(mail, attempt)
            smtp!.record(mail, refusal?.code ?? 250)
            if (!refusal) return callback()
            const err = new Error(refusal.message) as Error & { responseCode: number }
            err.responseCode = refusal.code
            callback(err)
          }
          if (smtp!.delayMs > 0) setTimeout(answer, smtp!.delayMs)
          else answer()
        },
        (err: Error) => callback(err),
      )
    },
  })
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const addr = server.server.address()
      resolve(typeof addr === 'object' && addr ? addr.port : 0)
    })
  })
  // From now on a connection's error (ECONNRESET: a sender killed mid-session, as the crash tests
  // do) is the sender's problem, not the test's. Unheard, the second such error would throw out of
  // the test, tap would end it and run its teardowns (removing its data folder) while it goes on.
  server.on('error', () => undefined)
  smtp = new TestSmtp(server, port)
  const s = smtp
  t.teardown(() => s.close())
  return smtp
}
