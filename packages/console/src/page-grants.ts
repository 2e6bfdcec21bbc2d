// Grants: which application may do what to which resource, as a table of application ×
// resource × actions, with create and delete.

import type {
  Application,
  ApplicationPage,
  Grant,
  GrantAction,
  GrantPage,
  GrantResourceType,
} from '@strongroom/protocol'
import { ApiError, del, get, inst, post, seg } from './api.js'
import type { PageContext } from './context.js'
import { h, replace, uid } from './dom.js'
import { pagedList } from './list.js'
import { href } from './router.js'
import {
  confirmButton,
  field,
  filterForm,
  form,
  mono,
  pageHeader,
  reportTo,
  section,
  select,
  time,
  val,
} from './ui.js'
import { visible, visibleString } from './visible-text.js'

const RESOURCE_TYPES: ReadonlyArray<readonly [GrantResourceType, string]> = [
  ['credential', 'Credential'],
  ['account', 'Account'],
  ['credential_provider', 'Credential provider'],
  ['cloud_account_role', 'Cloud account role'],
]
const ACTIONS: readonly GrantAction[] = ['obtain', 'use', 'read', 'manage']
const typeLabel = (t: string): string => RESOURCE_TYPES.find(([v]) => v === t)?.[1] ?? t

async function allApplications(instanceId: string): Promise<Application[]> {
  const apps: Application[] = []
  let nextToken: string | null = null
  do {
    const page: ApplicationPage = await get<ApplicationPage>(inst(instanceId, 'applications'), {
      nextToken,
      maxResults: 100,
    })
    apps.push(...page.entities)
    nextToken = page.nextToken
  } while (nextToken !== null && apps.length < 2000)
  return apps
}

export async function grantsPage(ctx: PageContext): Promise<void> {
  const { instanceId } = ctx
  const base = inst(instanceId, 'grants')
  const apps = await allApplications(instanceId)
  if (ctx.signal.aborted) return
  const appName = new Map(apps.map((a) => [a.applicationId, a.name]))
  const params = new URLSearchParams(location.search)
  let filterApp = params.get('applicationId') ?? ''
  let filterType = ''

  const appOptions = apps.map((a) => [a.applicationId, visibleString(`${a.name} (${a.clientId})`)] as const)
  const list = pagedList<Grant>({
    caption: 'Grants',
    signal: ctx.signal,
    columns: [
      {
        header: 'Application',
        cell: (g) =>
          h(
            'a',
            { href: href('i', instanceId, 'applications', g.applicationId) },
            visible(appName.get(g.applicationId) ?? g.applicationId),
          ),
      },
      { header: 'Resource type', cell: (g) => typeLabel(g.resourceType) },
      {
        header: 'Resource',
        cell: (g) => [
          mono(g.resource),
          g.resourceMatch === 'prefix' ? h('small', { class: 'muted' }, ' (prefix)') : null,
        ],
      },
      { header: 'Actions', cell: (g) => h('span', { class: 'actions-list' }, g.actions.join(', ')) },
      { header: 'Created', cell: (g) => time(g.createTime) },
      {
        header: 'Delete',
        className: 'actions-cell',
        cell: (g) =>
          confirmButton(
            'Delete',
            {
              title: 'Delete this grant?',
              message: `${appName.get(g.applicationId) ?? g.applicationId} loses ${g.actions.join(', ')} on ${g.resource}${g.resourceMatch === 'prefix' ? '…' : ''}.`,
            },
            () =>
              reportTo(errors, async () => {
                await del(`${base}/${seg(g.grantId)}`)
                await list.reload()
              }),
            `Delete grant ${g.grantId}`,
          ),
      },
    ],
    fetchPage: (nextToken) =>
      get<GrantPage>(base, {
        nextToken,
        maxResults: 100,
        applicationId: filterApp,
        resourceType: filterType,
      }),
    emptyText: [
      'No grants match. Applications can obtain nothing until granted: create a grant with the form above or ',
      mono('strongroom grant create'),
      '.',
    ],
    filterText: (g) =>
      `${appName.get(g.applicationId) ?? ''} ${g.applicationId} ${g.resource} ${g.actions.join(' ')} ${g.resourceType}`,
    filterLabel: 'Filter loaded grants',
  })
  const errors = h('div')

  const filters = filterForm(
    'Grant filters',
    async (f) => {
      filterApp = val(f, 'applicationId')
      filterType = val(f, 'resourceType')
      await list.reload()
    },
    select('Filter by application', 'applicationId', [['', 'Any application'], ...appOptions], {
      value: filterApp,
    }),
    select('Filter by resource type', 'resourceType', [['', 'Any type'], ...RESOURCE_TYPES]),
  )

  const legendId = uid('actions')
  const create =
    apps.length === 0
      ? h(
          'p',
          { class: 'empty' },
          'Create an application first: a grant gives an application access. ',
          h('a', { href: href('i', instanceId, 'applications') }, 'Create an application'),
          '.',
        )
      : form(
          {
            label: 'Create grant',
            submitLabel: 'Create grant',
            onSubmit: async (f) => {
              const actions = ACTIONS.filter(
                (a) => (f.elements.namedItem(`action-${a}`) as HTMLInputElement).checked,
              )
              if (actions.length === 0)
                throw new ApiError(400, 'InvalidParameter', 'Actions: choose at least one', 'actions')
              const resource = val(f, 'resource')
              if (resource === '')
                throw new ApiError(
                  400,
                  'InvalidParameter',
                  'Resource is required: an id, an identifier, or a prefix',
                  'resource',
                )
              await post<Grant>(base, {
                applicationId: val(f, 'applicationId'),
                resourceType: val(f, 'resourceType'),
                resourceMatch: val(f, 'resourceMatch'),
                resource,
                actions,
              })
              await list.reload()
              return 'Grant created.'
            },
          },
          select('Application', 'applicationId', appOptions, { value: filterApp || appOptions[0]?.[0] }),
          select('Resource type', 'resourceType', RESOURCE_TYPES, { value: 'credential' }),
          select('Match', 'resourceMatch', [
            ['exact', 'Exactly this resource'],
            ['prefix', 'Every identifier starting with it'],
          ]),
          field('Resource', {
            name: 'resource',
            required: true,
            placeholder: 'team/db/password or cred_…',
            hint: 'An id or identifier; with "starting with", a prefix such as team/.',
          }),
          h(
            'fieldset',
            {
              id: `${legendId}-set`,
              class: 'field checks',
              'aria-describedby': `${legendId}-set-error`,
              'data-field': 'actions',
              tabindex: '-1',
            },
            h('legend', { id: legendId }, 'Actions'),
            ACTIONS.map((a) => {
              const id = uid(`action-${a}`)
              return h(
                'span',
                { class: 'check' },
                h('input', { id, type: 'checkbox', name: `action-${a}`, checked: a === 'obtain' }),
                h('label', { for: id }, a),
              )
            }),
            h('small', { id: `${legendId}-set-error`, class: 'field-error', 'aria-live': 'polite' }),
          ),
        )

  replace(
    ctx.main,
    pageHeader('Grants'),
    section('Create a grant', create),
    section('Application × resource × actions', errors, filters, list.element),
  )
}
