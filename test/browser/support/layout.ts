// What a person sees of a page's layout: whether it moved while loading (cumulative layout shift,
// as Chromium's Layout Instability API measures it) and whether it is wider than the screen.
import type { Page } from 'playwright-core'

/**
 * The cumulative layout shift of the page so far, counting shifts not caused by recent input
 * (0 when nothing moved; web.dev calls under 0.1 good).
 */
export async function cumulativeLayoutShift(page: Page): Promise<number> {
  return page.evaluate(
    () =>
      new Promise<number>((resolve) => {
        let total = 0
        const observer = new PerformanceObserver((list) => {
          for (const entry of list.getEntries() as (PerformanceEntry & {
            value: number
            hadRecentInput: boolean
          })[]) {
            if (!entry.hadRecentInput) total += entry.value
          }
        })
        // `buffered` delivers the shifts that happened before this observer existed.
        observer.observe({ type: 'layout-shift', buffered: true })
        setTimeout(() => {
          observer.disconnect()
          resolve(total)
        }, 100)
      }),
  )
}

/** How many CSS pixels the page is wider than its viewport (0 when it fits). */
export async function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => Math.max(0, document.documentElement.scrollWidth - window.innerWidth))
}
