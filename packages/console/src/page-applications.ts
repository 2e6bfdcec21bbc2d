// Applications: list, create, and an application's page (client secrets shown once, keys,
// federated credentials, allowed scopes, enable/disable).

import type {
  AddApplicationKeysBody,
  Application,
  ApplicationKey,
  ApplicationKeyList,
  ApplicationPage,
  ClientSecret,
  ClientSecretPage,
  CreatedClientSecret,
  FederatedCredential,
  FederatedCredentialList,
} from '@strongroom/protocol'
import { ApiError, del, get, inst, patch, post, seg } from './api.js'
import type { PageContext } from './context.js'
import { loadDetail } from './detail.js'
import { h, replace } from './dom.js'
import { type Loaded, loaded, pagedList } from './list.js'
import { href, navigate } from './router.js'
import {
  badge,
  checkbox,
  checked,
  confirmButton,
  editForm,
  facts,
  field,
  form,
  intVal,
  listVal,
  mono,
  noneYet,
  oneTimeSecret,
  optional,
  pageHeader,
  reportTo,
  section,
  tableOrEmpty,
  time,
  val,
} from './ui.js'
import { visible } from './visible-text.js'

const SCOPES_HINT =
  'One per line, audience|value (urn:cloud:idaas:pam|credential:obtain). Empty: the application may ask for nothing.'

export async function applicationsPage(ctx: PageContext): Promise<void> {
  const { instanceId } = ctx
  const base = inst(instanceId, 'applications')
  const list = pagedList<Application>({
    caption: 'Applications',
    signal: ctx.signal,
    columns: [
      {
        header: 'Name',
        cell: (a) =>
          h('a', { href: href('i', instanceId, 'applications', a.applicationId) }, visible(a.name)),
      },
      { header: 'Client ID', cell: (a) => mono(a.clientId) },
      { header: 'Status', cell: (a) => badge(a.status) },
      { header: 'Allowed scopes', cell: (a) => (a.allowedScopes.length ? a.allowedScopes.join(' ') : '—') },
      { header: 'Created', cell: (a) => time(a.createTime) },
    ],
    fetchPage: (nextToken) => get<ApplicationPage>(base, { nextToken, maxResults: 50 }),
    emptyText: noneYet('applications', 'strongroom app create'),
    filterText: (a) => `${a.name} ${a.clientId} ${a.applicationId} ${a.description}`,
    filterLabel: 'Filter applications',
  })
  const create = form(
    {
      label: 'Create application',
      submitLabel: 'Create application',
      onSubmit: async (f) => {
        const lifetime = intVal(f, 'accessTokenLifetime', 'Access token lifetime')
        const created = await post<Application>(base, {
          name: val(f, 'name'),
          ...optional(f, 'description'),
          allowedScopes: listVal(f, 'allowedScopes'),
          ...(lifetime !== undefined ? { accessTokenLifetime: lifetime } : {}),
        })
        navigate(href('i', instanceId, 'applications', created.applicationId))
      },
    },
    field('Name', { name: 'name', required: true }),
    field('Description', { name: 'description' }),
    field('Allowed scopes', { name: 'allowedScopes', multiline: true, rows: 2, hint: SCOPES_HINT }),
    field('Access token lifetime (seconds)', {
      name: 'accessTokenLifetime',
      type: 'number',
      min: 60,
      max: 86400,
      hint: '60–86400; default 3600.',
    }),
  )
  replace(
    ctx.main,
    pageHeader('Applications'),
    section('Create an application', create),
    section('All applications', list.element),
  )
}

export async function applicationPage(ctx: PageContext): Promise<void> {
  const detail = await loadDetail<Application>(ctx, 'applications', applicationPage, (a) => ({
    name: a.name,
    message: 'It can no longer get access tokens or obtain anything until it is enabled again.',
  }))
  if (!detail) return
  const { item: app, path, actions, statusAction } = detail

  const edit = editForm(
    'Edit application',
    async (f) => {
      await patch<Application>(path, {
        name: val(f, 'name'),
        description: val(f, 'description'),
        allowedScopes: listVal(f, 'allowedScopes'),
        accessTokenLifetime:
          intVal(f, 'accessTokenLifetime', 'Access token lifetime') ?? app.accessTokenLifetime,
      })
      await applicationPage(ctx)
    },
    field('Name', { name: 'name', value: app.name, required: true }),
    field('Description', { name: 'description', value: app.description }),
    field('Allowed scopes', {
      name: 'allowedScopes',
      multiline: true,
      rows: 3,
      value: app.allowedScopes.join('\n'),
      hint: SCOPES_HINT,
    }),
    field('Access token lifetime (seconds)', {
      name: 'accessTokenLifetime',
      type: 'number',
      min: 60,
      max: 86400,
      value: String(app.accessTokenLifetime),
    }),
  )

  replace(
    ctx.main,
    pageHeader(app.name, statusAction),
    actions.element,
    facts([
      ['Application ID', mono(app.applicationId)],
      ['Client ID', mono(app.clientId)],
      ['Status', badge(app.status)],
      [
        'Allowed scopes',
        app.allowedScopes.length
          ? h(
              'ul',
              { class: 'plain' },
              app.allowedScopes.map((s) => h('li', null, mono(s))),
            )
          : 'none (deny by default)',
      ],
      ['Access token lifetime', `${app.accessTokenLifetime} s`],
      ['Description', app.description || '—'],
      ['Created', time(app.createTime)],
    ]),
    clientSecretsSection(ctx, path),
    keysSection(ctx, path),
    federatedSection(ctx, path),
    section('Edit', edit),
    section(
      'Grants',
      h(
        'p',
        null,
        h(
          'a',
          {
            href: `${href('i', ctx.instanceId, 'grants')}?applicationId=${encodeURIComponent(app.applicationId)}`,
          },
          'See and change what it may obtain',
        ),
        '.',
      ),
    ),
  )
}

function clientSecretsSection(ctx: PageContext, appPath: string): HTMLElement {
  const path = `${appPath}/client-secrets`
  const created = h('div', { class: 'created-slot' })
  ctx.onLeave(() => replace(created))
  const list = pagedList<ClientSecret>({
    caption: 'Client secrets',
    signal: ctx.signal,
    columns: [
      {
        header: 'Secret',
        cell: (s) => [mono(s.hint), h('br'), h('small', { class: 'muted' }, s.clientSecretId)],
      },
      {
        header: 'Status',
        cell: (s) =>
          badge(
            s.revoked
              ? 'revoked'
              : s.expirationTime !== null && s.expirationTime < Date.now()
                ? 'expired'
                : 'active',
          ),
      },
      { header: 'Created', cell: (s) => time(s.createTime) },
      { header: 'Expires', cell: (s) => time(s.expirationTime) },
      { header: 'Last used', cell: (s) => time(s.lastUsedTime) },
      {
        header: 'Actions',
        className: 'actions-cell',
        cell: (s) =>
          s.revoked
            ? ''
            : confirmButton(
                'Revoke',
                {
                  title: `Revoke the client secret ${s.hint}?`,
                  message: 'The application can no longer authenticate with it.',
                  extra: checkbox('Also revoke the access tokens issued with it', 'revokeTokens', true),
                },
                (dialog) =>
                  reportTo(created, async () => {
                    const revokeTokens = checked(dialog, 'revokeTokens')
                    await post(`${path}/${seg(s.clientSecretId)}/revoke`, { revokeTokens })
                    await list.reload()
                  }),
                `Revoke client secret ${s.hint}`,
              ),
      },
    ],
    fetchPage: (nextToken) => get<ClientSecretPage>(path, { nextToken, maxResults: 50 }),
    emptyText:
      'No client secrets. Create one to let the application authenticate with client_secret_basic or client_secret_post.',
  })
  const create = form(
    {
      label: 'Create client secret',
      submitLabel: 'Create client secret',
      className: 'inline',
      onSubmit: async (f) => {
        const expires = intVal(f, 'expiresInSeconds', 'Expires in')
        const secret = await post<CreatedClientSecret>(
          path,
          expires !== undefined ? { expiresInSeconds: expires } : {},
        )
        replace(created, oneTimeSecret('New client secret', secret.clientSecret))
        await list.reload()
      },
    },
    field('Expires in (seconds)', {
      name: 'expiresInSeconds',
      type: 'number',
      min: 60,
      hint: 'Optional: empty for no expiry.',
    }),
  )
  return section('Client secrets', create, created, list.element)
}

/** Which body a pasted key is: a JWKS (`{"keys": …}`), a JWK (`{…}`), or PEM text. */
function keyBody(text: string): AddApplicationKeysBody {
  if (text.startsWith('{')) {
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch {
      throw new ApiError(
        400,
        'InvalidParameter',
        'Public key is not valid JSON: paste a JWK, a JWKS or a PEM public key',
        'key',
      )
    }
    if (parsed && typeof parsed === 'object' && 'keys' in parsed)
      return { jwks: parsed as AddApplicationKeysBody['jwks'] & object }
    return { jwk: parsed as AddApplicationKeysBody['jwk'] & object }
  }
  return { pem: text }
}

function keysSection(ctx: PageContext, appPath: string): HTMLElement {
  const path = `${appPath}/keys`
  const keys: Loaded = loaded({
    signal: ctx.signal,
    fetch: () => get<ApplicationKeyList>(path),
    render: ({ entities }) =>
      tableOrEmpty<ApplicationKey>(
        'Application keys',
        [
          { header: 'Key ID', cell: (k) => mono(k.kid) },
          { header: 'Type', cell: (k) => [k.kty, k.crv, k.alg].filter(Boolean).join(' · ') },
          { header: 'OCI fingerprint', cell: (k) => (k.ociFingerprint ? mono(k.ociFingerprint) : '—') },
          { header: 'Added', cell: (k) => time(k.createTime) },
          {
            header: 'Actions',
            className: 'actions-cell',
            cell: (k) =>
              confirmButton(
                'Remove',
                {
                  title: `Remove key ${k.kid}?`,
                  message: 'Assertions signed with it are refused from now on.',
                },
                () =>
                  reportTo(keys.element, async () => {
                    await del(`${path}/${seg(k.applicationKeyId)}`)
                    await keys.reload()
                  }),
                `Remove key ${k.kid}`,
              ),
          },
        ],
        entities,
        'No keys. Add a public key to let the application authenticate with private_key_jwt.',
      ),
  })
  const add = form(
    {
      label: 'Add key',
      submitLabel: 'Add key',
      onSubmit: async (f) => {
        const text = val(f, 'key')
        if (text === '') throw new ApiError(400, 'InvalidParameter', 'Public key is required', 'key')
        await post(path, keyBody(text))
        await keys.reload()
      },
    },
    field('Public key', {
      name: 'key',
      multiline: true,
      rows: 4,
      hint: 'A JWK, a JWKS ({"keys": […]}) or a PEM public key or certificate. Public keys only.',
    }),
  )
  return section('Keys', add, keys.element)
}

function federatedSection(ctx: PageContext, appPath: string): HTMLElement {
  const path = `${appPath}/federated-credentials`
  const credentials: Loaded = loaded({
    signal: ctx.signal,
    fetch: () => get<FederatedCredentialList>(path),
    render: ({ entities }) =>
      tableOrEmpty<FederatedCredential>(
        'Federated credentials',
        [
          { header: 'Name', cell: (c) => c.name },
          { header: 'Issuer', cell: (c) => mono(c.issuer) },
          { header: 'Subject', cell: (c) => mono(c.subject) },
          { header: 'Audiences', cell: (c) => c.audiences.join(', ') },
          { header: 'Keys', cell: (c) => (c.staticJwks ? 'static JWKS' : (c.jwksUri ?? 'discovered')) },
          { header: 'Created', cell: (c) => time(c.createTime) },
          {
            header: 'Actions',
            className: 'actions-cell',
            cell: (c) =>
              confirmButton(
                'Delete',
                {
                  title: `Delete federated credential ${c.name}?`,
                  message: 'Tokens from this issuer and subject are refused from now on.',
                },
                () =>
                  reportTo(credentials.element, async () => {
                    await del(`${path}/${seg(c.federatedCredentialId)}`)
                    await credentials.reload()
                  }),
                `Delete federated credential ${c.name}`,
              ),
          },
        ],
        entities,
        'No federated credentials. Add one to let a workload sign in with a token from its own OIDC issuer (Kubernetes, GitHub Actions…).',
      ),
  })
  const add = form(
    {
      label: 'Add federated credential',
      submitLabel: 'Add federated credential',
      onSubmit: async (f) => {
        const jwksUri = val(f, 'jwksUri')
        await post(path, {
          name: val(f, 'name'),
          issuer: val(f, 'issuer'),
          subject: val(f, 'subject'),
          audiences: listVal(f, 'audiences'),
          ...(jwksUri ? { jwksUri } : {}),
        })
        await credentials.reload()
      },
    },
    field('Name', {
      name: 'name',
      required: true,
      hint: 'What the workload sends as application_federated_credential_name.',
    }),
    field('Issuer', { name: 'issuer', required: true, placeholder: 'https://kubernetes.default.svc' }),
    field('Subject', {
      name: 'subject',
      required: true,
      placeholder: 'system:serviceaccount:payments:worker',
    }),
    field('Audiences', {
      name: 'audiences',
      required: true,
      hint: 'Comma-separated; the token’s aud must contain one.',
    }),
    field('JWKS URI', { name: 'jwksUri', hint: 'Optional: where the issuer publishes its keys.' }),
  )
  return section('Federated credentials', add, credentials.element)
}
