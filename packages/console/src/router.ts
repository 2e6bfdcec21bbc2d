// Routes under /console with the History API. The server answers index.html for any path under
// /console/, so every route is a real, bookmarkable URL holding ids only, never a secret.

export const BASE = '/console'

export interface Match {
  /** The route's name (`credential`), for the navigation's current link. */
  name: string
  params: Record<string, string>
}

interface Route {
  name: string
  pattern: RegExp
  keys: string[]
}

const routes: Route[] = []

/** Declare a route: `route('credential', '/i/:instanceId/credentials/:id')`. */
export function route(name: string, path: string): void {
  const keys: string[] = []
  const source = path.replace(/:([A-Za-z]+)/g, (_, key: string) => {
    keys.push(key)
    return '([^/]+)'
  })
  routes.push({ name, pattern: new RegExp(`^${BASE}${source}/?$`), keys })
}

/** The route a path names, or null. */
export function match(pathname: string): Match | null {
  for (const r of routes) {
    const m = r.pattern.exec(pathname)
    if (!m) continue
    const params: Record<string, string> = {}
    r.keys.forEach((key, i) => {
      params[key] = decodeURIComponent(m[i + 1] ?? '')
    })
    return { name: r.name, params }
  }
  return null
}

/** A console URL from segments, each encoded: `href('i', id, 'credentials')`. */
export function href(...segments: string[]): string {
  return `${BASE}/${segments.map((s) => encodeURIComponent(s)).join('/')}`
}

let listener: (() => void) | null = null

/** Go to `path` (pushState) and render it; `replace` keeps the history entry. */
export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path)
  else history.pushState(null, '', path)
  listener?.()
}

/** Render on back/forward and on clicks on same-origin console links (not with modifiers). */
export function startRouter(render: () => void): void {
  listener = render
  window.addEventListener('popstate', render)
  document.addEventListener('click', (event) => {
    if (event.defaultPrevented || event.button !== 0) return
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    const target = event.target instanceof Element ? event.target.closest('a') : null
    if (!target || target.target || target.hasAttribute('download')) return
    const url = new URL(target.href, location.href)
    if (url.hash && url.pathname === location.pathname) return
    if (url.origin !== location.origin || !url.pathname.startsWith(`${BASE}/`)) return
    event.preventDefault()
    navigate(url.pathname + url.search)
  })
}
