import { describe, expect, it } from 'vitest'
import { CloudRolesContributor } from '../../src/credential-endpoints/cloud-role-contributor.js'
import type { ContributorHooks } from '../../src/run/environment.js'
import { RETIRE_GRACE_MS } from '../../src/run/masking-stream.js'
import { ALIBABA_ROLE, AWS_ROLE, fakeSource, HOUR, request, stsUnavailable } from './fake-source.js'

function hooks() {
  const concealed: string[] = []
  const until = new Map<string, number | undefined>()
  const lines: string[] = []
  const h: ContributorHooks = {
    conceal: (value, options) => {
      concealed.push(value)
      until.set(value, options?.until)
      return true
    },
    retire: () => {},
    changed: () => {},
    report: (line) => lines.push(line),
    verbose: () => {},
    signal: new AbortController().signal,
  }
  return { hooks: h, concealed, until, lines }
}

describe('CloudRolesContributor (run --cloud-role)', () => {
  it("adds the endpoints' variables, removes the ones that would win over them, and conceals the secrets", async () => {
    const source = fakeSource(Date.now())
    let closed = 0
    const contributor = new CloudRolesContributor([{ arn: ALIBABA_ROLE }, { arn: AWS_ROLE }], async () => ({
      getCloudCredentials: source.getCloudCredentials,
      close: async () => {
        closed++
      },
    }))
    const h = hooks()
    await contributor.setup(h.hooks)
    const base = {
      PATH: '/bin',
      AWS_ACCESS_KEY_ID: 'AKIAOLD',
      AWS_PROFILE: 'dev',
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI',
    }
    const env = contributor.environment(base)
    expect(env).toMatchObject({
      AWS_ACCESS_KEY_ID: undefined,
      AWS_PROFILE: undefined,
      ALIBABA_CLOUD_ACCESS_KEY_ID: undefined,
      ALIBABA_CLOUD_ECS_METADATA_DISABLED: 'true',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: expect.stringMatching(
        /^http:\/\/127\.0\.0\.1:\d+\/aws\/credentials$/,
      ),
    })
    expect(Object.keys(env)).not.toContain('PATH')
    expect(Object.keys(env)).not.toContain('AWS_SESSION_TOKEN') // not in base: nothing to remove
    contributor.environment(base) // before a restart: said once only
    expect(h.lines).toEqual([
      '--cloud-role: not passing ALIBABA_CLOUD_ACCESS_KEY_ID, AWS_ACCESS_KEY_ID, AWS_PROFILE to the command: they would take precedence over the credentials endpoint',
    ])
    const token = env['AWS_CONTAINER_AUTHORIZATION_TOKEN']!
    const uri = env['ALIBABA_CLOUD_CREDENTIALS_URI']!
    expect(h.concealed).toEqual(expect.arrayContaining([token, uri]))
    // The credentials served are concealed too (the command might print them), until an hour after
    // they expire (a long run refreshes them: the masking set must not keep every one); the
    // capability for as long as the run lasts.
    expect(h.concealed).toEqual(expect.arrayContaining([expect.stringMatching(/^canary-aws-secret-/)]))
    const secret = h.concealed.find((value) => value.startsWith('canary-aws-secret-'))!
    expect(h.until.get(secret)).toBe(Math.floor((source.now + HOUR) / 1000) * 1000 + RETIRE_GRACE_MS)
    expect(h.until.get(token)).toBeUndefined()

    const answer = await request(env['AWS_CONTAINER_CREDENTIALS_FULL_URI']!, {
      headers: { authorization: token },
    })
    expect(answer.status).toBe(200)

    await contributor.teardown()
    expect(closed).toBe(1)
    await expect(request(uri)).rejects.toThrow()
    source.close()
  })

  it('closes the client it opened when the endpoints cannot start', async () => {
    const source = fakeSource()
    source.failWith = stsUnavailable
    let closed = 0
    const contributor = new CloudRolesContributor([{ arn: AWS_ROLE }], async () => ({
      getCloudCredentials: source.getCloudCredentials,
      close: async () => {
        closed++
      },
    }))
    await expect(contributor.setup(hooks().hooks)).rejects.toMatchObject({ serverCode: 'StsUnavailable' })
    expect(closed).toBe(1)
    expect(contributor.environment({})).toEqual({})
    source.close()
  })
})
