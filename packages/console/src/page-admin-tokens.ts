// Admin tokens: list, create (the token is shown once), revoke.

import type { AdminToken, AdminTokenPage, CreatedAdminToken } from '@strongroom/protocol'
import { get, post, seg } from './api.js'
import type { PageContext } from './context.js'
import { h, replace } from './dom.js'
import { pagedList } from './list.js'
import {
  badge,
  confirmButton,
  field,
  form,
  intVal,
  mono,
  oneTimeSecret,
  pageHeader,
  reportTo,
  section,
  select,
  time,
  val,
} from './ui.js'

const BASE = '/admin/v1/admin-tokens'

function statusOf(t: AdminToken): string {
  if (t.revoked) return 'revoked'
  if (t.expirationTime !== null && t.expirationTime <= Date.now()) return 'expired'
  return 'active'
}

export async function adminTokensPage(ctx: PageContext): Promise<void> {
  const operator = ctx.session.instanceScope === null
  const created = h('div', { class: 'created-slot' })
  ctx.onLeave(() => replace(created))
  const scopeName = (id: string | null): string =>
    id === null ? 'all instances' : (ctx.instances.find((i) => i.instanceId === id)?.name ?? id)

  const list = pagedList<AdminToken>({
    caption: 'Admin tokens',
    signal: ctx.signal,
    columns: [
      {
        header: 'Name',
        cell: (t) => [
          t.name,
          t.adminTokenId === ctx.session.adminTokenId
            ? h('small', { class: 'muted' }, ' (this session)')
            : null,
        ],
      },
      { header: 'Token', cell: (t) => h('span', { title: t.adminTokenId }, mono(t.hint)) },
      { header: 'Scope', cell: (t) => scopeName(t.instanceId) },
      { header: 'Status', cell: (t) => badge(statusOf(t)) },
      { header: 'Created', cell: (t) => time(t.createTime) },
      { header: 'Expires', cell: (t) => time(t.expirationTime) },
      { header: 'Last used', cell: (t) => time(t.lastUsedTime) },
      {
        header: 'Actions',
        className: 'actions-cell',
        cell: (t) =>
          t.revoked
            ? ''
            : confirmButton(
                'Revoke',
                {
                  title: `Revoke admin token ${t.name}?`,
                  message:
                    t.adminTokenId === ctx.session.adminTokenId
                      ? 'This is the token of your own session: revoking it signs you out.'
                      : 'Anything using it is refused from now on, and consoles signed in with it are signed out.',
                },
                () =>
                  reportTo(created, async () => {
                    await post(`${BASE}/${seg(t.adminTokenId)}/revoke`)
                    await list.reload()
                  }),
                `Revoke admin token ${t.name}`,
              ),
      },
    ],
    fetchPage: (nextToken) => get<AdminTokenPage>(BASE, { nextToken, maxResults: 50 }),
    emptyText: 'No admin tokens.',
    filterText: (t) => `${t.name} ${t.adminTokenId} ${t.hint} ${statusOf(t)}`,
    filterLabel: 'Filter admin tokens',
  })

  const scopes: Array<readonly [string, string]> = [
    ...(operator ? [['', 'All instances (operator)'] as const] : []),
    ...ctx.instances.map((i) => [i.instanceId, `${i.name} (${i.instanceId})`] as const),
  ]
  const create = form(
    {
      label: 'Create admin token',
      submitLabel: 'Create admin token',
      onSubmit: async (f) => {
        const expires = intVal(f, 'expiresInSeconds', 'Expires in')
        const instanceId = val(f, 'instanceId')
        const token = await post<CreatedAdminToken>(BASE, {
          name: val(f, 'name'),
          ...(instanceId ? { instanceId } : {}),
          ...(expires !== undefined ? { expiresInSeconds: expires } : {}),
        })
        replace(created, oneTimeSecret(`New admin token ${token.name}`, token.token))
        await list.reload()
      },
    },
    field('Name', { name: 'name', required: true }),
    select('Scope', 'instanceId', scopes, { value: operator ? '' : (ctx.session.instanceScope ?? '') }),
    field('Expires in (seconds)', {
      name: 'expiresInSeconds',
      type: 'number',
      min: 60,
      hint: 'Optional: empty for no expiry.',
    }),
  )
  replace(
    ctx.main,
    pageHeader('Admin tokens'),
    section('Create an admin token', create, created),
    section('All admin tokens', list.element),
  )
}
