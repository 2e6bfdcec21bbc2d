// Cloud accounts (a vendor's sealed access key pair) and their roles: list, create, rotate the
// key, add, enable, disable and remove roles.

import type {
  CloudAccount,
  CloudAccountPage,
  CloudAccountRole,
  CloudAccountRolePage,
} from '@strongroom/protocol'
import { del, get, inst, patch, post, seg } from './api.js'
import type { PageContext } from './context.js'
import { loadDetail, statusToggle } from './detail.js'
import { h, replace } from './dom.js'
import { type PagedList, pagedList } from './list.js'
import { href, navigate } from './router.js'
import {
  badge,
  confirmButton,
  confirmRotation,
  editForm,
  facts,
  field,
  filterForm,
  form,
  intVal,
  mono,
  noneYet,
  optional,
  pageHeader,
  rawVal,
  section,
  select,
  time,
  val,
} from './ui.js'
import { visible } from './visible-text.js'

const VENDORS = [
  ['aws', 'AWS'],
  ['alibaba_cloud', 'Alibaba Cloud'],
] as const
const vendorLabel = (v: string): string => VENDORS.find(([k]) => k === v)?.[1] ?? v

export async function cloudAccountsPage(ctx: PageContext): Promise<void> {
  const { instanceId } = ctx
  const base = inst(instanceId, 'cloudAccounts')
  let prefix = ''
  const list = pagedList<CloudAccount>({
    caption: 'Cloud accounts',
    signal: ctx.signal,
    columns: [
      {
        header: 'Name',
        cell: (a) =>
          h('a', { href: href('i', instanceId, 'cloud-accounts', a.cloudAccountId) }, visible(a.name)),
      },
      { header: 'Vendor', cell: (a) => vendorLabel(a.vendorType) },
      { header: 'Vendor account', cell: (a) => mono(a.vendorAccountId) },
      { header: 'Access key', cell: (a) => mono(a.accessKeyIdHint) },
      { header: 'Status', cell: (a) => badge(a.status) },
      { header: 'Updated', cell: (a) => time(a.updateTime) },
    ],
    fetchPage: (nextToken) => get<CloudAccountPage>(base, { nextToken, maxResults: 50, namePrefix: prefix }),
    emptyText: noneYet('cloud accounts', 'strongroom cloud-account create'),
    filterText: (a) => `${a.name} ${a.vendorAccountId} ${a.description}`,
    filterLabel: 'Filter loaded cloud accounts',
  })
  const filters = filterForm(
    'Cloud account filters',
    async (f) => {
      prefix = val(f, 'namePrefix')
      await list.reload()
    },
    field('Filter by name prefix', { name: 'namePrefix', placeholder: 'prod-' }),
  )
  const create = form(
    {
      label: 'Create cloud account',
      submitLabel: 'Create cloud account',
      onSubmit: async (f) => {
        const created = await post<CloudAccount>(base, {
          name: val(f, 'name'),
          vendorType: val(f, 'vendorType'),
          vendorAccountId: val(f, 'vendorAccountId'),
          accessKeyId: val(f, 'accessKeyId'),
          accessKeySecret: rawVal(f, 'accessKeySecret'),
          ...optional(f, 'description', 'stsEndpoint', 'region'),
        })
        navigate(href('i', instanceId, 'cloud-accounts', created.cloudAccountId))
      },
    },
    field('Name', { name: 'name', required: true, placeholder: 'prod-aws' }),
    select('Vendor', 'vendorType', VENDORS),
    field('Vendor account ID', {
      name: 'vendorAccountId',
      required: true,
      hint: 'AWS: the 12-digit account id; Alibaba Cloud: the account UID.',
    }),
    field('Access key ID', { name: 'accessKeyId', required: true }),
    field('Access key secret', {
      name: 'accessKeySecret',
      secret: true,
      required: true,
      hint: 'Sealed at rest and never shown again.',
    }),
    field('Description', { name: 'description' }),
    field('STS endpoint', {
      name: 'stsEndpoint',
      hint: "Optional: the vendor's public endpoint unless set.",
    }),
    field('Region', { name: 'region', placeholder: 'eu-west-1' }),
  )
  replace(
    ctx.main,
    pageHeader('Cloud accounts'),
    section('Create a cloud account', create),
    section('All cloud accounts', filters, list.element),
  )
}

export async function cloudAccountPage(ctx: PageContext): Promise<void> {
  const detail = await loadDetail<CloudAccount>(ctx, 'cloudAccounts', cloudAccountPage, (a) => ({
    name: a.name,
    message: 'No workload can obtain credentials for its roles until it is enabled again.',
  }))
  if (!detail) return
  const { item: account, path, actions, statusAction } = detail

  const rolesPath = `${path}/roles`
  const roles: PagedList = pagedList<CloudAccountRole>({
    caption: 'Roles',
    signal: ctx.signal,
    columns: [
      { header: 'Name', cell: (r) => r.name },
      { header: 'Role ARN', cell: (r) => mono(r.roleExternalId) },
      { header: 'Status', cell: (r) => badge(r.status) },
      { header: 'Duration', cell: (r) => `${r.defaultDurationSeconds} s (max ${r.maxDurationSeconds} s)` },
      { header: 'External ID', cell: (r) => (r.externalId ? mono(r.externalId) : '—') },
      { header: 'Session policy', cell: (r) => (r.sessionPolicy ? 'yes' : '—') },
      {
        header: 'Actions',
        className: 'actions-cell',
        cell: (r): HTMLElement => {
          const rolePath = `${rolesPath}/${seg(r.cloudAccountRoleId)}`
          const act = (fn: () => Promise<unknown>): Promise<void> => actions.act(fn, () => roles.reload())
          return h(
            'div',
            { class: 'row-actions' },
            statusToggle({
              enabled: r.status === 'enabled',
              path: rolePath,
              name: `role ${r.name}`,
              message: 'No workload can obtain credentials for it until it is enabled again.',
              act,
              inRow: true,
            }),
            confirmButton(
              'Remove',
              {
                title: `Remove role ${r.name}?`,
                message: 'No workload can obtain credentials for it any more; its grants name nothing.',
              },
              () => act(() => del(rolePath)),
              `Remove role ${r.name}`,
            ),
          )
        },
      },
    ],
    fetchPage: (nextToken) => get<CloudAccountRolePage>(rolesPath, { nextToken, maxResults: 50 }),
    emptyText: 'No roles yet. Add the ARN of a role this account may assume with the form above.',
  })

  const addRole = form(
    {
      label: 'Add role',
      submitLabel: 'Add role',
      onSubmit: async (f) => {
        const def = intVal(f, 'defaultDurationSeconds', 'Default duration')
        const max = intVal(f, 'maxDurationSeconds', 'Maximum duration')
        await post<CloudAccountRole>(rolesPath, {
          roleExternalId: val(f, 'roleExternalId'),
          ...optional(f, 'name', 'description'),
          ...(def !== undefined ? { defaultDurationSeconds: def } : {}),
          ...(max !== undefined ? { maxDurationSeconds: max } : {}),
          ...optional(f, 'sessionPolicy', 'externalId'),
        })
        await roles.reload()
        return 'Role added.'
      },
    },
    field('Role ARN', {
      name: 'roleExternalId',
      required: true,
      placeholder:
        account.vendorType === 'aws'
          ? `arn:aws:iam::${account.vendorAccountId}:role/name`
          : `acs:ram::${account.vendorAccountId}:role/name`,
    }),
    field('Name', { name: 'name', hint: 'Optional: the role name in the ARN.' }),
    field('Description', { name: 'description' }),
    field('Default duration (seconds)', {
      name: 'defaultDurationSeconds',
      type: 'number',
      min: 900,
      max: 43200,
      hint: '900–43200; default 3600.',
    }),
    field('Maximum duration (seconds)', { name: 'maxDurationSeconds', type: 'number', min: 900, max: 43200 }),
    field('Session policy', {
      name: 'sessionPolicy',
      multiline: true,
      rows: 3,
      hint: 'Optional JSON policy document.',
    }),
    account.vendorType === 'aws'
      ? field('External ID', {
          name: 'externalId',
          hint: "Optional: the ExternalId the role's trust policy requires.",
        })
      : null,
  )

  const rotate = form(
    {
      label: 'Rotate access key',
      submitLabel: 'Rotate',
      danger: true,
      onSubmit: async (f) => {
        await confirmRotation(
          `Rotate the access key of ${account.name}?`,
          'The new key pair becomes current at once; the old one is kept sealed for the record. Disable the old key in the cloud afterwards.',
        )
        await post<CloudAccount>(`${path}/keys`, {
          accessKeyId: val(f, 'accessKeyId'),
          accessKeySecret: rawVal(f, 'accessKeySecret'),
        })
        await cloudAccountPage(ctx)
      },
    },
    field('New access key ID', { name: 'accessKeyId', required: true }),
    field('New access key secret', { name: 'accessKeySecret', secret: true, required: true }),
  )

  const edit = editForm(
    'Edit cloud account',
    async (f) => {
      await patch<CloudAccount>(path, {
        description: val(f, 'description'),
        stsEndpoint: val(f, 'stsEndpoint') || null,
        region: val(f, 'region') || null,
      })
      await cloudAccountPage(ctx)
    },
    field('Description', { name: 'description', value: account.description }),
    field('STS endpoint', {
      name: 'stsEndpoint',
      value: account.stsEndpoint ?? '',
      hint: "Empty: the vendor's public endpoint.",
    }),
    field('Region', { name: 'region', value: account.region ?? '' }),
  )

  replace(
    ctx.main,
    pageHeader(account.name, statusAction),
    actions.element,
    facts([
      ['Cloud account ID', mono(account.cloudAccountId)],
      ['Vendor', vendorLabel(account.vendorType)],
      ['Vendor account', mono(account.vendorAccountId)],
      ['Access key', mono(account.accessKeyIdHint)],
      ['Key version', String(account.keyVersion)],
      ['Status', badge(account.status)],
      ['STS endpoint', account.stsEndpoint ?? 'vendor default'],
      ['Region', account.region ?? '—'],
      ['Description', account.description || '—'],
      ['Created', time(account.createTime)],
      ['Updated', time(account.updateTime)],
    ]),
    section('Roles', addRole, roles.element),
    section('Rotate the access key', rotate),
    section('Edit', edit),
  )
}
