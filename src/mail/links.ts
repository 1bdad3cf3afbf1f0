// Every link a mail carries, built from PUBLIC_URL in one place: when the reference console lands,
// only these change.

export interface TokenLinks {
  token: string
  rotate: string
  docs: string
}

export function tokenLinks(publicUrl: string, tokenId: string | number | null): TokenLinks {
  const base = publicUrl.replace(/\/+$/, '')
  const token = `${base}/api/v4/personal_access_tokens/${tokenId ?? ''}`
  return { token, rotate: `${token}/rotate`, docs: `${base}/docs` }
}
