import { describe, expect, it } from 'vitest'
import { ServerError } from '../../src/errors.js'
import { clientWith, rejectionOf, tokenRecord } from './support.js'

const params = { consumerId: 'app_demo', credentialProviderIdentifier: 'demo-jwt', maxResults: 2 }

describe('listing every page', () => {
  it('follows nextToken until null, with the same filters on every page', async () => {
    const pages: Record<string, { ids: string[]; next: string | null }> = {
      first: { ids: ['at_1', 'at_2'], next: 'n2' },
      n2: { ids: ['at_3', 'at_4'], next: 'n3' },
      n3: { ids: ['at_5'], next: null },
    }
    const { client, fake } = clientWith((request) => {
      const page = pages[request.url.searchParams.get('nextToken') ?? 'first']!
      return Response.json({
        entities: page.ids.map((id) => tokenRecord({ authenticationTokenId: id })),
        totalCount: 5,
        nextToken: page.next,
        maxResults: 2,
      })
    })
    const ids: string[] = []
    for await (const token of client.listAllAuthenticationTokens({ ...params, revoked: false })) {
      ids.push(token.authenticationTokenId)
    }
    expect(ids).toEqual(['at_1', 'at_2', 'at_3', 'at_4', 'at_5'])
    expect(fake.requests.map((r) => r.url.search)).toEqual([
      '?consumerId=app_demo&credentialProviderIdentifier=demo-jwt&maxResults=2&revoked=false',
      '?consumerId=app_demo&credentialProviderIdentifier=demo-jwt&nextToken=n2&maxResults=2&revoked=false',
      '?consumerId=app_demo&credentialProviderIdentifier=demo-jwt&nextToken=n3&maxResults=2&revoked=false',
    ])

    const counts: number[] = []
    for await (const page of client.listAuthenticationTokenPages({ ...params, nextToken: 'n2' })) {
      counts.push(page.entities.length)
    }
    expect(counts).toEqual([2, 1])
    await client.close()
  })

  it('stops with a ServerError when the server repeats a nextToken instead of looping forever', async () => {
    const { client, fake } = clientWith(() =>
      Response.json({ entities: [tokenRecord()], totalCount: 9, nextToken: 'same', maxResults: 1 }),
    )
    const seen: number[] = []
    const error = await rejectionOf(
      (async () => {
        for await (const page of client.listAuthenticationTokenPages(params)) seen.push(page.entities.length)
      })(),
    )
    expect(error).toBeInstanceOf(ServerError)
    expect(fake.requests).toHaveLength(2)
    await client.close()
  })

  it('stops requesting when the loop breaks early', async () => {
    const { client, fake } = clientWith(() =>
      Response.json({
        entities: [tokenRecord()],
        totalCount: 9,
        nextToken: `n${Math.random()}`,
        maxResults: 1,
      }),
    )
    for await (const _token of client.listAllAuthenticationTokens(params)) break
    expect(fake.requests).toHaveLength(1)
    await client.close()
  })
})
