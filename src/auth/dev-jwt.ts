// Development JWTs signed with AUTH_JWT_SECRET (HS256): printed by `npm start`, minted by tests.
import { SignJWT } from 'jose'

export async function signDevJwt(opts: {
  secret: string
  sub: string
  scopes?: string[]
  issuer?: string
  audience?: string
  expiresIn?: string
}): Promise<string> {
  let jwt = new SignJWT({ scope: (opts.scopes ?? []).join(' ') })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(opts.sub)
    .setIssuedAt()
    .setExpirationTime(opts.expiresIn ?? '30d')
  if (opts.issuer) jwt = jwt.setIssuer(opts.issuer)
  if (opts.audience) jwt = jwt.setAudience(opts.audience)
  return jwt.sign(new TextEncoder().encode(opts.secret))
}
