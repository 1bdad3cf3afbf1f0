// Where mail goes: SMTP_URL when set (pooled connections), otherwise .eml files under
// DATA_DIR/mail/ that a newcomer can open in any mail client or read as text.
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createTransport } from 'nodemailer'
import type { Config } from '../config.js'

export interface OutgoingMail {
  to: string
  subject: string
  text: string
  html: string
  /** Derived from the event: a resend after a crash carries the same Message-ID. */
  messageId: string
  headers: Record<string, string>
  /** File name (without .eml) for the file transport: same notification, same file. */
  fileStem: string
}

export interface MailTransport {
  /** For logs and the start banner: "smtp://host:port" or the .eml directory. */
  readonly description: string
  send(mail: OutgoingMail): Promise<{ response: string }>
  close(): void
}

/** SMTP replies 5xx are permanent: retrying the same message cannot succeed. */
export function isPermanentMailError(err: unknown): boolean {
  const code = (err as { responseCode?: unknown }).responseCode
  return typeof code === 'number' && code >= 500 && code < 600
}

function smtpTransport(config: Readonly<Config>): MailTransport {
  const url = new URL(config.smtpUrl)
  const transporter = createTransport({
    url: config.smtpUrl,
    pool: true,
    maxConnections: 5,
    // A stuck server must fail the attempt (and be retried later), never hang a worker slot.
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  })
  return {
    description: `${url.protocol}//${url.host}`,
    async send(mail) {
      const { fileStem: _file, ...message } = mail
      const info = await transporter.sendMail({ from: config.mailFrom, ...message })
      return { response: String(info.response ?? '') }
    },
    close: () => transporter.close(),
  }
}

function fileTransport(config: Readonly<Config>): MailTransport {
  const dir = resolve(config.dataDir, 'mail')
  const composer = createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
  return {
    description: dir,
    async send(mail) {
      const { fileStem, ...message } = mail
      const info = await composer.sendMail({ from: config.mailFrom, ...message })
      await mkdir(dir, { recursive: true })
      const file = join(dir, `${fileStem}.eml`)
      // Write then rename: a crash never leaves half a message, and a resend replaces the file.
      const tmp = `${file}.${process.pid}.tmp`
      await writeFile(tmp, info.message as Buffer)
      await rename(tmp, file)
      return { response: `written to ${file}` }
    },
    close: () => composer.close(),
  }
}

export function createMailTransport(config: Readonly<Config>): MailTransport {
  return config.smtpUrl ? smtpTransport(config) : fileTransport(config)
}
