/** Collects every `jti` given to it, with its expiry, and answers like a fresh replay store. */
export function jtiRecorder() {
  const seen = new Map<string, number>()
  const firstUse = async (jti: string, expiresAt: number) => {
    if (seen.has(jti)) return false
    seen.set(jti, expiresAt)
    return true
  }
  return { seen, firstUse }
}
