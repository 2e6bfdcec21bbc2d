// The Content-Security-Policy every /console answer must carry, and a parser to compare directive by
// directive (so a reordered but equal header passes and a missing or loosened directive is named).

export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; " +
  "require-trusted-types-for 'script'; trusted-types 'none'"

/** `"a x; b y z"` → `{ a: 'x', b: 'y z' }` (directive names lower-cased, sources kept in order). */
export function cspDirectives(header: string): Record<string, string> {
  const directives: Record<string, string> = {}
  for (const part of header.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/)
    if (!name) continue
    directives[name.toLowerCase()] = sources.join(' ')
  }
  return directives
}
