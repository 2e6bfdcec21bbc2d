import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'

const manifest = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
  type?: string
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  exports?: Record<string, Record<string, string>>
}

describe('the @strongroom/sdk package', () => {
  it('depends at runtime on jose at most: anything more must be argued for in review, and this test changed', () => {
    const runtime = {
      ...manifest.dependencies,
      ...manifest.peerDependencies,
      ...manifest.optionalDependencies,
    }
    expect(Object.keys(runtime).filter((name) => name !== 'jose')).toEqual([])
  })

  it('is ESM with an explicit exports map, types first', () => {
    expect(manifest.type).toBe('module')
    const root = manifest.exports?.['.']
    expect(root).toBeDefined()
    expect(Object.keys(root!)[0]).toBe('types')
    expect(root!.default).toBe('./dist/index.js')
  })
})
