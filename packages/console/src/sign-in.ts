import { ApiError, type ConsoleSession, request } from './api.js'
import { h } from './dom.js'
import { field, form, notice } from './ui.js'

/**
 * The sign-in page: one admin token, exchanged for a session cookie. The token is sent once and
 * the field is cleared; the page keeps only the session's CSRF token (in memory).
 */
export function signInPage(
  main: HTMLElement,
  message: string | null,
  onSignedIn: (session: ConsoleSession) => void,
): void {
  const tokenField = field('Admin token', {
    name: 'token',
    secret: true,
    required: true,
    hint: 'An operator or instance admin token (strongroom admin-token create). It is exchanged for a session and not kept by the page.',
  })
  const signIn = form(
    {
      label: 'Sign in',
      submitLabel: 'Sign in',
      onSubmit: async (f) => {
        const input = f.elements.namedItem('token') as HTMLInputElement
        const token = input.value.trim()
        if (token === '') {
          input.value = ''
          throw new ApiError(
            400,
            'InvalidParameter',
            'Admin token is required: paste the token you were given.',
            'token',
          )
        }
        try {
          const session = await request<ConsoleSession>('POST', '/console/session', { token })
          f.reset()
          onSignedIn(session)
        } catch (error) {
          if (error instanceof ApiError && error.status === 401)
            throw new ApiError(
              401,
              error.code,
              'Admin token: not accepted. It is unknown, expired or revoked.',
              'token',
            )
          throw error
        } finally {
          input.value = ''
        }
      },
    },
    tokenField,
  )
  main.replaceChildren(
    h(
      'div',
      { class: 'sign-in card' },
      h('h1', { id: 'page-title' }, 'Sign in to strongroom'),
      message ? notice('info', message) : null,
      signIn,
    ),
  )
  ;(signIn.querySelector('input') as HTMLInputElement).focus()
}
