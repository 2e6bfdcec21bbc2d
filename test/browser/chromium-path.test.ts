// Finding Chromium for the browser tests: the variable, Debian's launcher, PATH, and a message that
// says what to install when none is there.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { chromiumPath } from './support/browser.js'

describe('chromiumPath()', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sr-chromium-path-'))
  const fake = join(dir, 'chromium')
  writeFileSync(fake, '#!/bin/sh\nexit 0\n')
  chmodSync(fake, 0o755)
  const notExecutable = join(dir, 'not-executable')
  writeFileSync(notExecutable, '')

  it('takes STRONGROOM_CHROMIUM first, and refuses one that is not an executable file', () => {
    expect(chromiumPath({ STRONGROOM_CHROMIUM: fake, PATH: '' }, null)).toBe(fake)
    expect(() => chromiumPath({ STRONGROOM_CHROMIUM: notExecutable }, fake)).toThrow(
      `STRONGROOM_CHROMIUM=${notExecutable} is not an executable file`,
    )
  })

  it("prefers Debian's launcher, then chromium on PATH", () => {
    expect(chromiumPath({ PATH: '/nowhere' }, fake)).toBe(fake)
    expect(chromiumPath({ PATH: `/nowhere:${dir}` }, join(dir, 'missing'))).toBe(fake)
  })

  it('says to install Debian’s chromium (and that .ci/run does it) when there is none', () => {
    expect(() => chromiumPath({ PATH: '/nowhere' }, join(dir, 'missing'))).toThrow(
      /Chromium was not found .*install Debian's chromium: \.ci\/run does it/,
    )
  })
})
