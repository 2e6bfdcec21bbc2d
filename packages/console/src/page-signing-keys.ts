// Signing keys of an instance's authorization server, with rotation and revocation.

import type { SigningKey } from '@strongroom/protocol'
import { get, inst, post, seg } from './api.js'
import type { PageContext } from './context.js'
import { h, replace } from './dom.js'
import { loaded } from './list.js'
import {
  badge,
  confirmButton,
  confirmRotation,
  field,
  form,
  intVal,
  mono,
  pageHeader,
  reportTo,
  section,
  select,
  tableOrEmpty,
  time,
  val,
} from './ui.js'

export async function signingKeysPage(ctx: PageContext): Promise<void> {
  const base = inst(ctx.instanceId, 'signing-keys')
  const revokeResult = h('div', { class: 'created-slot' })
  ctx.onLeave(() => replace(revokeResult))
  const keys = loaded({
    signal: ctx.signal,
    live: true,
    fetch: () => get<{ entities: SigningKey[] }>(base),
    render: ({ entities }) =>
      tableOrEmpty<SigningKey>(
        'Signing keys',
        [
          { header: 'Key ID', cell: (k) => mono(k.kid) },
          { header: 'Algorithm', cell: (k) => k.alg },
          // A revoked key was unpublished when it was revoked: the Unpublished column says when.
          { header: 'Status', cell: (k) => badge(k.status) },
          { header: 'Created', cell: (k) => time(k.createTime) },
          { header: 'Signs from', cell: (k) => time(k.activateTime) },
          { header: 'Retired', cell: (k) => time(k.retireTime) },
          { header: 'Unpublished', cell: (k) => time(k.unpublishTime) },
          {
            header: 'Actions',
            className: 'actions-cell',
            // The active key is refused (409): another key must sign first.
            cell: (k) =>
              k.status === 'revoked' || k.status === 'active'
                ? ''
                : confirmButton(
                    'Revoke',
                    {
                      title: `Revoke signing key ${k.kid}?`,
                      message:
                        'Only after the key leaked: it leaves the JWKS at once, and every token it signed is refused from now on, on every node.',
                      extra: field('Reason', { name: 'reason', required: true, maxlength: 512 }),
                    },
                    (dialog) =>
                      reportTo(revokeResult, async () => {
                        await post(`${base}/${seg(k.kid)}/revoke`, { reason: val(dialog, 'reason') })
                        await keys.reload()
                      }),
                    `Revoke signing key ${k.kid}`,
                  ),
          },
        ],
        entities,
        'No signing keys yet: the first one is made when the instance first signs a token, or rotate now.',
      ),
  })
  const rotate = form(
    {
      label: 'Rotate signing key',
      submitLabel: 'Rotate',
      danger: true,
      reset: false,
      onSubmit: async (f) => {
        const activateAfterSeconds = intVal(f, 'activateAfterSeconds', 'Activate after')
        await confirmRotation(
          'Rotate the signing key?',
          activateAfterSeconds === 0
            ? 'The new key signs at once: relying parties that cached the old JWKS refuse new tokens until they refresh it. Use only after a compromise.'
            : 'A new key is published now and starts signing after the delay; the current key retires then.',
        )
        await post(`${base}/rotate`, {
          alg: val(f, 'alg'),
          ...(activateAfterSeconds !== undefined ? { activateAfterSeconds } : {}),
        })
        await keys.reload()
        return 'Rotated.'
      },
    },
    select('Algorithm', 'alg', [
      ['EdDSA', 'EdDSA (Ed25519)'],
      ['ES256', 'ES256 (P-256)'],
    ]),
    field('Activate after (seconds)', {
      name: 'activateAfterSeconds',
      type: 'number',
      min: 0,
      max: 86400,
      value: '600',
      hint: 'Published this long before it signs, so relying parties learn it first; 0 for an emergency rotation.',
    }),
  )
  replace(
    ctx.main,
    pageHeader('Signing keys'),
    section('Keys', revokeResult, keys.element),
    section('Rotate', rotate),
  )
  await keys.loading
}
