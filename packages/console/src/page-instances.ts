// Instances: list and create (operator tokens; an instance admin sees its own).

import type { Instance, InstancePage } from '@strongroom/protocol'
import { get, post } from './api.js'
import type { PageContext } from './context.js'
import { h, replace } from './dom.js'
import { pagedList } from './list.js'
import { href } from './router.js'
import { field, form, mono, noneYet, notice, optional, pageHeader, section, time, val } from './ui.js'
import { visible } from './visible-text.js'

export async function instancesPage(ctx: PageContext): Promise<void> {
  const operator = ctx.session.instanceScope === null
  const list = pagedList<Instance>({
    caption: 'Instances',
    signal: ctx.signal,
    columns: [
      {
        header: 'Name',
        cell: (i) => h('a', { href: href('i', i.instanceId, 'credentials') }, visible(i.name)),
      },
      { header: 'Instance ID', cell: (i) => mono(i.instanceId) },
      { header: 'Description', cell: (i) => i.description || '—' },
      { header: 'Created', cell: (i) => time(i.createTime) },
    ],
    fetchPage: async (nextToken) => {
      if (!operator) return { entities: [...ctx.instances], nextToken: null }
      return get<InstancePage>('/admin/v1/instances', { nextToken, maxResults: 50 })
    },
    emptyText: noneYet('instances', 'strongroom instance create'),
    filterText: (i) => `${i.name} ${i.instanceId} ${i.description}`,
    filterLabel: 'Filter instances',
  })
  const create = operator
    ? form(
        {
          label: 'Create instance',
          submitLabel: 'Create instance',
          onSubmit: async (f) => {
            const created = await post<Instance>('/admin/v1/instances', {
              name: val(f, 'name'),
              ...optional(f, 'description'),
            })
            await list.reload()
            await ctx.reloadInstances()
            return `Instance ${created.name} created (${created.instanceId}).`
          },
        },
        field('Name', { name: 'name', required: true }),
        field('Description', { name: 'description' }),
      )
    : notice('info', 'Only an operator token can create instances; this token administers one instance.')
  replace(
    ctx.main,
    pageHeader('Instances'),
    section('Create an instance', create),
    section('All instances', list.element),
    operator
      ? section(
          'Server events',
          h(
            'p',
            null,
            'Instance creation, admin tokens and other server-wide events are recorded in the system chain: ',
            h('a', { href: href('i', 'system', 'audit') }, 'System audit log'),
            '.',
          ),
        )
      : null,
  )
}
