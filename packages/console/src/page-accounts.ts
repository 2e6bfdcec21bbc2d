// Privileged accounts (TARGET/account): list, create, and an account's page (rotate, versions,
// enable/disable, who can read it). Their secrets are never shown to administrators.

import type { Account, AccountPage, AccountVersion } from '@strongroom/protocol'
import { ApiError, get, inst, patch, post } from './api.js'
import type { PageContext } from './context.js'
import { loadDetail, versionsList } from './detail.js'
import { h, replace } from './dom.js'
import { pagedList } from './list.js'
import { readersSection } from './readers.js'
import { href, navigate } from './router.js'
import {
  badge,
  checkbox,
  checked,
  confirmRotation,
  editForm,
  facts,
  field,
  filterForm,
  form,
  mono,
  noneYet,
  optional,
  pageHeader,
  rawVal,
  section,
  time,
  val,
} from './ui.js'

/** What an account (or one of its versions) holds: "password, SSH key", or "nothing". */
const holds = (a: { hasPassword: boolean; hasKey: boolean }): string =>
  [a.hasPassword ? 'password' : '', a.hasKey ? 'SSH key' : ''].filter(Boolean).join(', ') || 'nothing'

function sshKeyOf(f: HTMLFormElement): { key: string; passphrase?: string; fileName?: string } | undefined {
  const key = rawVal(f, 'sshKey.key')
  if (key.trim() === '') {
    if (rawVal(f, 'sshKey.passphrase') !== '')
      throw new ApiError(
        400,
        'InvalidParameter',
        'SSH private key is required with a passphrase',
        'sshKey.key',
      )
    return undefined
  }
  const passphrase = rawVal(f, 'sshKey.passphrase')
  const fileName = val(f, 'sshKey.fileName')
  return { key, ...(passphrase ? { passphrase } : {}), ...(fileName ? { fileName } : {}) }
}

const secretFields = (): HTMLElement[] => [
  field('Password', { name: 'password', secret: true }),
  field('SSH private key', {
    name: 'sshKey.key',
    multiline: true,
    rows: 4,
    secret: true,
    hint: 'OpenSSH or PEM (PKCS#8, PKCS#1, SEC1).',
  }),
  field('Key passphrase', { name: 'sshKey.passphrase', secret: true, hint: 'Only if the key is encrypted.' }),
  field('Key file name', { name: 'sshKey.fileName', placeholder: 'id_ed25519' }),
]

export async function accountsPage(ctx: PageContext): Promise<void> {
  const { instanceId } = ctx
  const base = inst(instanceId, 'accounts')
  let prefix = ''
  const list = pagedList<Account>({
    caption: 'Accounts',
    signal: ctx.signal,
    columns: [
      {
        header: 'Account',
        cell: (a) => h('a', { href: href('i', instanceId, 'accounts', a.accountId) }, a.accountName),
      },
      { header: 'Display name', cell: (a) => a.displayName },
      { header: 'Status', cell: (a) => badge(a.status) },
      { header: 'Holds', cell: holds },
      { header: 'Reason required', cell: (a) => (a.requiresReason ? 'yes' : 'no') },
      { header: 'Version', cell: (a) => String(a.currentVersion), className: 'num' },
      { header: 'Updated', cell: (a) => time(a.updateTime) },
    ],
    fetchPage: (nextToken) => get<AccountPage>(base, { nextToken, maxResults: 50, namePrefix: prefix }),
    emptyText: noneYet('accounts', 'strongroom account create'),
    filterText: (a) => `${a.accountName} ${a.displayName} ${a.description}`,
    filterLabel: 'Filter loaded accounts',
  })
  const filters = filterForm(
    'Account filters',
    async (f) => {
      prefix = val(f, 'namePrefix')
      await list.reload()
    },
    field('Filter by name prefix', { name: 'namePrefix', placeholder: 'DB-SERVER/' }),
  )
  const create = form(
    {
      label: 'Create account',
      submitLabel: 'Create account',
      onSubmit: async (f) => {
        const password = rawVal(f, 'password')
        const sshKey = sshKeyOf(f)
        const created = await post<Account>(base, {
          accountName: val(f, 'accountName'),
          ...optional(f, 'displayName', 'description'),
          requiresReason: checked(f, 'requiresReason'),
          ...(password ? { password } : {}),
          ...(sshKey ? { sshKey } : {}),
        })
        navigate(href('i', instanceId, 'accounts', created.accountId))
      },
    },
    field('Account name', {
      name: 'accountName',
      required: true,
      placeholder: 'DB-SERVER/admin',
      hint: 'TARGET/account: the system, a slash, the account on it.',
    }),
    field('Display name', { name: 'displayName' }),
    field('Description', { name: 'description' }),
    checkbox('Require a reason for every retrieval', 'requiresReason'),
    secretFields(),
  )
  replace(
    ctx.main,
    pageHeader('Accounts'),
    section('Create an account', create),
    section('All accounts', filters, list.element),
  )
}

export async function accountPage(ctx: PageContext): Promise<void> {
  const detail = await loadDetail<Account>(ctx, 'accounts', accountPage, (a) => ({
    name: a.accountName,
    message: 'Workloads can no longer retrieve its password or key until it is enabled again.',
  }))
  if (!detail) return
  const { item: account, path, actions, statusAction } = detail
  const versions = versionsList<AccountVersion>(ctx, path, [{ header: 'Holds', cell: holds }])

  const rotate = form(
    {
      label: 'Rotate account',
      submitLabel: 'Rotate',
      danger: true,
      onSubmit: async (f) => {
        const body: Record<string, unknown> = {}
        const password = rawVal(f, 'password')
        const sshKey = sshKeyOf(f)
        if (checked(f, 'removePassword')) body['password'] = null
        else if (password) body['password'] = password
        if (checked(f, 'removeKey')) body['sshKey'] = null
        else if (sshKey) body['sshKey'] = sshKey
        if (Object.keys(body).length === 0)
          throw new ApiError(
            400,
            'InvalidParameter',
            'Give a new password or SSH key, or choose one to remove',
            'password',
          )
        await confirmRotation(
          `Rotate ${account.accountName}?`,
          `Version ${account.currentVersion + 1} becomes current; a field left empty keeps its current value.`,
        )
        await post<Account>(`${path}/versions`, body)
        await accountPage(ctx)
      },
    },
    secretFields(),
    checkbox('Remove the password', 'removePassword'),
    checkbox('Remove the SSH key', 'removeKey'),
  )

  const edit = editForm(
    'Edit account',
    async (f) => {
      await patch<Account>(path, {
        displayName: val(f, 'displayName'),
        description: val(f, 'description'),
        requiresReason: checked(f, 'requiresReason'),
      })
      await accountPage(ctx)
    },
    field('Display name', { name: 'displayName', value: account.displayName, required: true }),
    field('Description', { name: 'description', value: account.description }),
    checkbox('Require a reason for every retrieval', 'requiresReason', account.requiresReason),
  )

  const key = account.sshKey
  replace(
    ctx.main,
    pageHeader(account.accountName, statusAction),
    actions.element,
    facts([
      ['Display name', account.displayName],
      ['Account ID', mono(account.accountId)],
      ['Target', account.target],
      ['Account', account.account],
      ['Status', badge(account.status)],
      ['Reason required', account.requiresReason ? 'yes' : 'no'],
      ['Password', account.hasPassword ? 'set' : 'not set'],
      [
        'SSH key',
        key
          ? [
              key.keyType,
              ' ',
              mono(key.fingerprint),
              key.encrypted ? ' (encrypted)' : '',
              key.fileName ? ` · ${key.fileName}` : '',
            ]
          : 'not set',
      ],
      ['Current version', String(account.currentVersion)],
      ['Description', account.description || '—'],
      ['Created', time(account.createTime)],
      ['Updated', time(account.updateTime)],
    ]),
    key ? section('SSH public key', h('pre', { class: 'wrap' }, key.publicKey)) : null,
    readersSection(ctx, path, 'account'),
    section('Rotate', rotate),
    section('Versions', versions.element),
    section('Edit', edit),
  )
}
