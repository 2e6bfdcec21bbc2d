import { escapeLabelValue } from '../metrics/exposition.js'

/**
 * One exposition (Prometheus text format 0.0.4) of every worker's metrics: each sample gains a
 * `worker` label (the worker's slot), and each family appears once, its HELP and TYPE first, with
 * every worker's samples after them, as the format requires. `expositions` are in slot order; a
 * worker that did not answer is left out, and its absence shows as missing series.
 */
export function mergeExpositions(expositions: ReadonlyMap<number, string>): string {
  const families = new Map<string, { meta: string[]; samples: string[] }>()
  for (const [slot, text] of expositions) {
    const label = `worker="${escapeLabelValue(String(slot))}"`
    let family: { meta: string[]; samples: string[] } | undefined
    for (const line of text.split('\n')) {
      if (line === '') continue
      const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line)
      if (meta) {
        const name = meta[2]!
        family = families.get(name)
        if (!family) {
          family = { meta: [], samples: [] }
          families.set(name, family)
        }
        // The same HELP and TYPE come from every worker: kept once.
        if (!family.meta.includes(line)) family.meta.push(line)
        continue
      }
      if (line.startsWith('#')) continue
      if (!family) {
        // A sample before any HELP or TYPE: a family of its own, untyped.
        family = { meta: [], samples: [] }
        families.set(`\0${families.size}`, family)
      }
      family.samples.push(withLabel(line, label))
    }
  }
  const out: string[] = []
  for (const { meta, samples } of families.values()) out.push(...meta, ...samples)
  return out.length === 0 ? '' : `${out.join('\n')}\n`
}

/** `name{a="b"} 1` → `name{worker="0",a="b"} 1`; `name 1` → `name{worker="0"} 1`. */
function withLabel(sample: string, label: string): string {
  const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(sample)?.[0] ?? ''
  const rest = sample.slice(name.length)
  if (rest.startsWith('{}')) return `${name}{${label}}${rest.slice(2)}`
  if (rest.startsWith('{')) return `${name}{${label},${rest.slice(1)}`
  return `${name}{${label}}${rest}`
}
