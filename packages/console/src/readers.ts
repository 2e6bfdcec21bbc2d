// "Who can read this?": the applications whose grants let them obtain a credential or an account.

import type { Readers } from '@strongroom/protocol'
import { get } from './api.js'
import type { PageContext } from './context.js'
import { h } from './dom.js'
import { loaded } from './list.js'
import { href } from './router.js'
import { badge, empty, mono, notice, section, table } from './ui.js'
import { visible } from './visible-text.js'

/** The section, filled once the server answers. `path` is the resource's admin API path. */
export function readersSection(ctx: PageContext, path: string, kind: 'credential' | 'account'): HTMLElement {
  const readers = loaded({
    signal: ctx.signal,
    live: true,
    fetch: () => get<Readers>(`${path}/readers`),
    render: (answer) =>
      answer.readers.length === 0
        ? empty(
            `No application can obtain this ${kind}. `,
            h('a', { href: href('i', ctx.instanceId, 'grants') }, 'Grant access'),
            ' to one with the obtain action.',
          )
        : [
            table(
              'Applications that can read it',
              [
                {
                  header: 'Application',
                  cell: (r) =>
                    h(
                      'a',
                      { href: href('i', ctx.instanceId, 'applications', r.applicationId) },
                      visible(r.applicationName),
                    ),
                },
                { header: 'Client ID', cell: (r) => mono(r.clientId) },
                { header: 'Status', cell: (r) => badge(r.applicationStatus) },
                {
                  header: 'Through grants',
                  cell: (r) =>
                    h(
                      'ul',
                      { class: 'plain' },
                      r.grants.map((g) =>
                        h(
                          'li',
                          null,
                          g.resourceMatch === 'prefix' ? `prefix ${g.resource}` : g.resource,
                          ': ',
                          g.actions.join(', '),
                        ),
                      ),
                    ),
                },
              ],
              answer.readers,
            ),
            answer.truncated
              ? notice('info', 'Only the first matching grants were considered: there may be more readers.')
              : null,
          ],
  })
  return section(`Who can read this ${kind}?`, readers.element)
}
