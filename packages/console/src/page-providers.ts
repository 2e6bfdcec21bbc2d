// Credential providers (OAuth and JWT) and the authentication tokens they minted, with revoke
// and reinstate.

import type {
  AuthenticationToken,
  CredentialProvider,
  CredentialProviderPage,
  ProviderTokensChanged,
} from '@strongroom/protocol'
import { get, inst, patch, post } from './api.js'
import type { PageContext } from './context.js'
import { loadDetail } from './detail.js'
import { h, replace } from './dom.js'
import { pagedList } from './list.js'
import { href, navigate } from './router.js'
import {
  badge,
  button,
  checkbox,
  checked,
  confirmAction,
  editForm,
  facts,
  field,
  filterForm,
  form,
  intVal,
  listVal,
  mono,
  noneYet,
  notice,
  optional,
  pageHeader,
  rawVal,
  reportTo,
  section,
  select,
  time,
  val,
} from './ui.js'

interface TokenPage {
  entities: AuthenticationToken[]
  nextToken?: string | null
}

function oauthFields(): HTMLElement[] {
  return [
    field('Token endpoint', {
      name: 'oauth.tokenEndpoint',
      required: true,
      placeholder: 'https://login.example.com/oauth2/token',
    }),
    field('Client ID', { name: 'oauth.clientId', required: true }),
    field('Client secret', { name: 'oauth.clientSecret', secret: true, required: true }),
    select('Client authentication', 'oauth.authMethod', [
      ['client_secret_basic', 'client_secret_basic'],
      ['client_secret_post', 'client_secret_post'],
    ]),
    field('Default scope', { name: 'oauth.defaultScope', hint: 'Sent upstream when the caller names none.' }),
  ]
}

function jwtFields(): HTMLElement[] {
  return [
    select('Algorithm', 'jwt.algorithm', [
      ['EdDSA', 'EdDSA'],
      ['ES256', 'ES256'],
      ['RS256', 'RS256'],
    ]),
    field('Issuer', { name: 'jwt.issuer', hint: "Optional: the provider's own URL unless set." }),
    field('Allowed audiences', {
      name: 'jwt.allowedAudiences',
      multiline: true,
      rows: 2,
      hint: 'One per line; a trailing * matches a prefix. Empty: any audience.',
    }),
    field('Default expiration (seconds)', { name: 'jwt.defaultExpiration', type: 'number', min: 1 }),
    field('Maximum expiration (seconds)', { name: 'jwt.maxExpiration', type: 'number', min: 1 }),
    checkbox('Allow derived short tokens (sk-…)', 'jwt.allowDerivedShortToken'),
  ]
}

export async function providersPage(ctx: PageContext): Promise<void> {
  const { instanceId } = ctx
  const base = inst(instanceId, 'credential-providers')
  let typeFilter = ''
  const list = pagedList<CredentialProvider>({
    caption: 'Credential providers',
    signal: ctx.signal,
    columns: [
      {
        header: 'Identifier',
        cell: (p) =>
          h(
            'a',
            { href: href('i', instanceId, 'providers', p.credentialProviderId) },
            p.credentialProviderIdentifier,
          ),
      },
      { header: 'Name', cell: (p) => p.credentialProviderName },
      { header: 'Type', cell: (p) => p.credentialProviderType },
      { header: 'Status', cell: (p) => badge(p.status) },
      { header: 'Updated', cell: (p) => time(p.updateTime) },
    ],
    fetchPage: (nextToken) =>
      get<CredentialProviderPage>(base, { nextToken, maxResults: 50, credentialProviderType: typeFilter }),
    emptyText: noneYet('credential providers', 'strongroom provider create'),
    filterText: (p) => `${p.credentialProviderIdentifier} ${p.credentialProviderName} ${p.description}`,
    filterLabel: 'Filter loaded providers',
  })
  const filters = filterForm(
    'Provider filters',
    async (f) => {
      typeFilter = val(f, 'credentialProviderType')
      await list.reload()
    },
    select('Filter by type', 'credentialProviderType', [
      ['', 'Any type'],
      ['oauth', 'OAuth'],
      ['jwt', 'JWT'],
    ]),
  )
  const typed = h('div', { class: 'fields' }, oauthFields())
  const create = form(
    {
      label: 'Create credential provider',
      submitLabel: 'Create credential provider',
      onSubmit: async (f) => {
        const type = val(f, 'credentialProviderType')
        const body: Record<string, unknown> = {
          credentialProviderIdentifier: val(f, 'credentialProviderIdentifier'),
          credentialProviderType: type,
          ...optional(f, 'credentialProviderName', 'description'),
        }
        if (type === 'oauth') {
          body['oauth'] = {
            tokenEndpoint: val(f, 'oauth.tokenEndpoint'),
            clientId: val(f, 'oauth.clientId'),
            clientSecret: rawVal(f, 'oauth.clientSecret'),
            authMethod: val(f, 'oauth.authMethod'),
            ...(val(f, 'oauth.defaultScope') ? { defaultScope: val(f, 'oauth.defaultScope') } : {}),
          }
        } else {
          const def = intVal(f, 'jwt.defaultExpiration', 'Default expiration')
          const max = intVal(f, 'jwt.maxExpiration', 'Maximum expiration')
          body['jwt'] = {
            algorithm: val(f, 'jwt.algorithm'),
            ...(val(f, 'jwt.issuer') ? { issuer: val(f, 'jwt.issuer') } : {}),
            allowedAudiences: listVal(f, 'jwt.allowedAudiences'),
            ...(def !== undefined ? { defaultExpiration: def } : {}),
            ...(max !== undefined ? { maxExpiration: max } : {}),
            allowDerivedShortToken: checked(f, 'jwt.allowDerivedShortToken'),
          }
        }
        const created = await post<CredentialProvider>(base, body)
        navigate(href('i', instanceId, 'providers', created.credentialProviderId))
      },
    },
    field('Identifier', {
      name: 'credentialProviderIdentifier',
      required: true,
      placeholder: 'github/oauth',
    }),
    field('Name', { name: 'credentialProviderName', hint: 'Optional: defaults to the identifier.' }),
    select(
      'Type',
      'credentialProviderType',
      [
        ['oauth', 'OAuth (upstream access tokens)'],
        ['jwt', 'JWT (tokens signed by strongroom)'],
      ],
      {
        value: 'oauth',
        onchange: (e) =>
          replace(typed, (e.target as HTMLSelectElement).value === 'jwt' ? jwtFields() : oauthFields()),
      },
    ),
    field('Description', { name: 'description' }),
    typed,
  )
  replace(
    ctx.main,
    pageHeader('Credential providers'),
    section('Create a credential provider', create),
    section('All credential providers', filters, list.element),
  )
}

export async function providerPage(ctx: PageContext): Promise<void> {
  const detail = await loadDetail<CredentialProvider>(ctx, 'credential-providers', providerPage, (p) => ({
    name: p.credentialProviderIdentifier,
    message: 'It mints no token until it is enabled again; tokens it minted stay valid unless revoked.',
  }))
  if (!detail) return
  const { item: provider, path, actions, statusAction } = detail

  let consumer = ''
  let revokedFilter = ''
  const tokensStatus = h('div')
  const setRevoked = async (
    selection: Record<string, string>,
    revoke: boolean,
    what: string,
  ): Promise<void> => {
    if (revoke) {
      const ok = await confirmAction({
        title: `Revoke ${what}?`,
        message: 'Validation refuses them from now on; reinstate undoes it.',
        confirmLabel: 'Revoke',
      })
      if (!ok) return
    }
    await reportTo(tokensStatus, async () => {
      const changed = await post<ProviderTokensChanged>(
        `${path}/tokens/${revoke ? 'revoke' : 'reinstate'}`,
        selection,
      )
      replace(
        tokensStatus,
        notice(
          'success',
          `${changed.changed} token${changed.changed === 1 ? '' : 's'} ${revoke ? 'revoked' : 'reinstated'}.`,
        ),
      )
      await tokens.reload()
    })
  }
  const tokens = pagedList<AuthenticationToken>({
    caption: 'Authentication tokens',
    signal: ctx.signal,
    columns: [
      { header: 'Token ID', cell: (t) => mono(t.authenticationTokenId) },
      { header: 'Type', cell: (t) => t.authenticationTokenType },
      {
        header: 'Consumer',
        cell: (t) => [mono(t.consumerId), h('small', { class: 'muted' }, ` ${t.consumerType}`)],
      },
      {
        header: 'Status',
        cell: (t) => badge(t.revoked ? 'revoked' : t.expirationTime <= Date.now() ? 'expired' : 'valid'),
      },
      { header: 'Created', cell: (t) => time(t.createTime) },
      { header: 'Expires', cell: (t) => time(t.expirationTime) },
      {
        header: 'Actions',
        className: 'actions-cell',
        cell: (t) =>
          t.revoked
            ? button(
                'Reinstate',
                () => setRevoked({ authenticationTokenId: t.authenticationTokenId }, false, 'this token'),
                {
                  ariaLabel: `Reinstate token ${t.authenticationTokenId}`,
                },
              )
            : button(
                'Revoke',
                () =>
                  setRevoked(
                    { authenticationTokenId: t.authenticationTokenId },
                    true,
                    `token ${t.authenticationTokenId}`,
                  ),
                {
                  kind: 'danger',
                  ariaLabel: `Revoke token ${t.authenticationTokenId}`,
                },
              ),
      },
    ],
    fetchPage: (nextToken) =>
      get<TokenPage>(`${path}/tokens`, {
        nextToken,
        maxResults: 50,
        consumerId: consumer,
        revoked: revokedFilter,
      }),
    emptyText: 'No tokens match. Tokens appear here when applications ask this provider for one.',
  })
  const tokenFilters = filterForm(
    'Token filters',
    async (f) => {
      consumer = val(f, 'consumerId')
      revokedFilter = val(f, 'revoked')
      await tokens.reload()
    },
    field('Filter by consumer', { name: 'consumerId', placeholder: 'app_… or a custom consumer id' }),
    select('Filter by revocation', 'revoked', [
      ['', 'Any'],
      ['false', 'Not revoked'],
      ['true', 'Revoked'],
    ]),
  )
  const bulk = h(
    'div',
    { class: 'bulk-actions' },
    button(
      "Revoke this consumer's tokens",
      async () => {
        if (consumer === '') {
          replace(
            tokensStatus,
            notice('error', 'Consumer: filter by a consumer first, then revoke its tokens.'),
          )
          return
        }
        await setRevoked({ consumerId: consumer }, true, `every token of ${consumer}`)
      },
      { kind: 'danger' },
    ),
    button(
      'Revoke all tokens',
      () => setRevoked({}, true, `every token ${provider.credentialProviderIdentifier} minted`),
      { kind: 'danger' },
    ),
    button('Reinstate all tokens', () => setRevoked({}, false, 'every token')),
  )

  const settings: Array<readonly [string, ReturnType<typeof mono> | string]> = []
  if (provider.oauth) {
    settings.push(
      ['Token endpoint', mono(provider.oauth.tokenEndpoint)],
      ['Client ID', mono(provider.oauth.clientId)],
      ['Client authentication', provider.oauth.authMethod],
      ['Default scope', provider.oauth.defaultScope || '—'],
    )
  }
  if (provider.jwt) {
    const j = provider.jwt
    settings.push(
      ['Algorithm', j.algorithm],
      ['Key ID', mono(j.keyId)],
      ['JWKS', mono(j.jwksUri)],
      ['Issuer', mono(j.issuer)],
      ['Allowed issuers', j.allowedIssuers.join(', ') || '—'],
      ['Allowed audiences', j.allowedAudiences.join(', ') || 'any'],
      ['Default expiration', `${j.defaultExpiration} s`],
      ['Maximum expiration', `${j.maxExpiration} s`],
      ['Derived short tokens', j.allowDerivedShortToken ? 'allowed' : 'not allowed'],
    )
  }

  const edit = editForm(
    'Edit credential provider',
    async (f) => {
      const body: Record<string, unknown> = {
        credentialProviderName: val(f, 'credentialProviderName'),
        description: val(f, 'description'),
      }
      const secret = rawVal(f, 'oauth.clientSecret')
      if (provider.oauth && secret) body['oauth'] = { clientSecret: secret }
      await patch<CredentialProvider>(path, body)
      await providerPage(ctx)
    },
    field('Name', { name: 'credentialProviderName', value: provider.credentialProviderName, required: true }),
    field('Description', { name: 'description', value: provider.description }),
    provider.oauth
      ? field('New client secret', {
          name: 'oauth.clientSecret',
          secret: true,
          hint: 'Optional: replaces the upstream client secret (never shown).',
        })
      : null,
  )

  replace(
    ctx.main,
    pageHeader(provider.credentialProviderIdentifier, statusAction),
    actions.element,
    facts([
      ['Name', provider.credentialProviderName],
      ['Provider ID', mono(provider.credentialProviderId)],
      ['Type', provider.credentialProviderType],
      ['Status', badge(provider.status)],
      ['Description', provider.description || '—'],
      ['Created', time(provider.createTime)],
      ['Updated', time(provider.updateTime)],
      ...settings,
    ]),
    section('Tokens it minted', tokenFilters, bulk, tokensStatus, tokens.element),
    section('Edit', edit),
  )
}
