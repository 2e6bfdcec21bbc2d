// Where a value could still sit in a page after the page says it is gone: the serialised DOM, the
// rendered text, the live values of form fields (which `page.content()` does not show), open shadow
// roots, the title, the URL and web storage.
import type { Page } from 'playwright-core'

/** The places in `page` that hold `needle`; empty when none does. */
export async function placesHolding(page: Page, needle: string): Promise<string[]> {
  const places: string[] = []
  if ((await page.content()).includes(needle)) places.push('page.content()')
  if (page.url().includes(needle)) places.push('URL')
  const inPage = await page.evaluate((secret) => {
    const found: string[] = []
    if (document.title.includes(secret)) found.push('document.title')
    // biome-ignore lint/performance/useDomNodeTextContent: the rendered text is what a person sees
    if (document.body?.innerText.includes(secret)) found.push('document.body.innerText')
    const roots: (Document | ShadowRoot)[] = [document]
    for (let i = 0; i < roots.length; i += 1) {
      const root = roots[i]!
      for (const el of root.querySelectorAll('*')) {
        if (el.shadowRoot) {
          roots.push(el.shadowRoot)
          if (el.shadowRoot.textContent?.includes(secret)) found.push(`shadow root of <${el.localName}>`)
        }
        if (
          (el instanceof HTMLInputElement ||
            el instanceof HTMLTextAreaElement ||
            el instanceof HTMLOutputElement) &&
          el.value.includes(secret)
        ) {
          found.push(`value of <${el.localName}${el.id ? `#${el.id}` : ''}>`)
        }
      }
    }
    for (const [name, storage] of [
      ['localStorage', localStorage],
      ['sessionStorage', sessionStorage],
    ] as const) {
      for (let i = 0; i < storage.length; i += 1) {
        const key = storage.key(i) ?? ''
        if (key.includes(secret) || (storage.getItem(key) ?? '').includes(secret)) found.push(name)
      }
    }
    if (history.state !== null && JSON.stringify(history.state).includes(secret)) found.push('history.state')
    return found
  }, needle)
  return [...places, ...inPage]
}
