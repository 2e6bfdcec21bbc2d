import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import * as sdk from '../src/index.js'

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
    // @strongroom/dpop holds the proof checks the server runs too, so they exist once (issue 14); it
    // brings nothing with it (next test).
    expect(Object.keys(runtime).filter((name) => name !== 'jose' && name !== '@strongroom/dpop')).toEqual([])
  })

  it('adds no third-party package through @strongroom/dpop: it depends on nothing at runtime', async () => {
    const dpop = JSON.parse(
      await readFile(new URL('../../dpop/package.json', import.meta.url), 'utf8'),
    ) as typeof manifest
    expect({ ...dpop.dependencies, ...dpop.peerDependencies, ...dpop.optionalDependencies }).toEqual({})
  })

  it('is ESM with an explicit exports map, types first', () => {
    expect(manifest.type).toBe('module')
    const root = manifest.exports?.['.']
    expect(root).toBeDefined()
    expect(Object.keys(root!)[0]).toBe('types')
    expect(root!.default).toBe('./dist/index.js')
  })

  it('exports the accounts, bound-token and proof API by name, and none of their internals', () => {
    const exported = Object.keys(sdk)
    expect(exported).toEqual(
      expect.arrayContaining([
        'PamClient',
        'ObtainedPassword',
        'SshKey',
        'ScopedToken',
        'SessionToken',
        'boundRequestHeaders',
        'boundFetch',
        'createProofKey',
        'importProofKey',
        'ProofKey',
        'createProof',
        'verifyBoundToken',
        'MemoryReplayCache',
        'ProofError',
        'PROOF_ERROR_REASONS',
        'AccountNotFoundError',
        'PasswordNotSetError',
        'SshKeyNotSetError',
        'ReasonRequiredError',
        'AccountDisabledError',
        'SshKeyNotSupportedError',
        'SessionExpiredError',
        'SessionRevokedError',
        'SessionNotFoundError',
        'ProofRejectedError',
      ]),
    )
    for (const internal of ['privateKeyOf', 'pagesOf', 'AccountsCache', 'errorFromResponse', 'bindingKeyOf'])
      expect(exported).not.toContain(internal)
  })
})
