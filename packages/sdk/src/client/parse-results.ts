import type {
  AuthenticationToken,
  AuthenticationTokenPage,
  CredentialContent,
  JwtAuthenticationToken,
  OAuthAuthenticationToken,
  OAuthAuthorizationSession,
  ObtainedCredential,
} from './pam-results.js'
import { ResponseReader } from './response-reader.js'
import {
  ApiKeyContent,
  JwtContent,
  OAuthAccessTokenContent,
  OAuthClientContent,
  PasswordContent,
  SshKeyContent,
} from './secret-contents.js'

// Only the contract's fields are copied: an unknown field a server adds (possibly a secret) never
// rides along into an object that prints in full.

function token(r: ResponseReader): AuthenticationToken {
  return {
    authenticationTokenId: r.string('authenticationTokenId'),
    authenticationTokenType: r.string('authenticationTokenType'),
    consumerId: r.string('consumerId'),
    consumerType: r.string('consumerType'),
    creatorId: r.string('creatorId'),
    creatorType: r.string('creatorType'),
    credentialProviderId: r.string('credentialProviderId'),
    instanceId: r.string('instanceId'),
    revoked: r.boolean('revoked'),
    createTime: r.number('createTime'),
    updateTime: r.number('updateTime'),
    expirationTime: r.number('expirationTime'),
  }
}

export function parseAuthenticationToken(action: string, body: unknown): AuthenticationToken {
  return Object.freeze(token(new ResponseReader(action, body)))
}

export function parseJwtAuthenticationToken(action: string, body: unknown): JwtAuthenticationToken {
  const r = new ResponseReader(action, body)
  const jwt = r.object('jwtContent')
  return Object.freeze({
    ...token(r),
    jwtContent: new JwtContent(jwt.string('jwtValue'), jwt.optionalString('derivedShortToken')),
  })
}

export function parseOAuthAuthenticationToken(action: string, body: unknown): OAuthAuthenticationToken {
  const r = new ResponseReader(action, body)
  const content = r.optionalObject('oauthAccessTokenContent')
  const session = r.optionalObject('oauthAuthorizationSession')
  return Object.freeze({
    ...token(r),
    oauthAccessTokenContent:
      content &&
      new OAuthAccessTokenContent(
        content.string('accessTokenValue'),
        content.optionalString('scope') ?? '',
        content.optionalString('tokenType') ?? 'Bearer',
      ),
    oauthAuthorizationSession:
      session &&
      Object.freeze<OAuthAuthorizationSession>({
        authorizationUrl: session.optionalString('authorizationUrl'),
        sessionId: session.optionalString('sessionId'),
        sessionStatus: session.optionalString('sessionStatus'),
        sessionUri: session.optionalString('sessionUri'),
      }),
  })
}

export function parseAuthenticationTokenPage(action: string, body: unknown): AuthenticationTokenPage {
  const r = new ResponseReader(action, body)
  const nextToken = r.optionalString('nextToken')
  return Object.freeze({
    entities: Object.freeze(r.objects('entities').map((entity) => Object.freeze(token(entity)))),
    totalCount: r.number('totalCount'),
    nextToken: nextToken === undefined || nextToken === '' ? null : nextToken,
    maxResults: r.number('maxResults'),
  })
}

export function parseValidateResult(action: string, body: unknown): boolean {
  return new ResponseReader(action, body).boolean('active')
}

function credentialContent(r: ResponseReader | undefined): CredentialContent {
  const apiKey = r?.optionalObject('apiKeyContent')
  const oauthClient = r?.optionalObject('oauthClientContent')
  const password = r?.optionalObject('passwordContent')
  const sshKey = r?.optionalObject('sshKeyContent')
  return Object.freeze({
    apiKeyContent: apiKey && new ApiKeyContent(apiKey.string('apiKey')),
    oauthClientContent:
      oauthClient &&
      new OAuthClientContent(oauthClient.string('clientId'), oauthClient.string('clientSecret')),
    passwordContent:
      password && new PasswordContent(password.string('password'), password.optionalString('username')),
    sshKeyContent:
      sshKey &&
      new SshKeyContent(
        sshKey.string('privateKey'),
        sshKey.optionalString('passphrase'),
        sshKey.optionalString('publicKey'),
      ),
  })
}

export function parseObtainedCredential(action: string, body: unknown): ObtainedCredential {
  const r = new ResponseReader(action, body)
  return Object.freeze({
    credentialId: r.string('credentialId'),
    credentialIdentifier: r.string('credentialIdentifier'),
    credentialName: r.string('credentialName'),
    credentialType: r.string('credentialType'),
    status: r.string('status'),
    description: r.optionalString('description'),
    instanceId: r.string('instanceId'),
    createTime: r.number('createTime'),
    updateTime: r.number('updateTime'),
    credentialContent: credentialContent(r.optionalObject('credentialContent')),
    credentialCreationType: r.optionalString('credentialCreationType'),
    credentialExternalId: r.optionalString('credentialExternalId'),
    credentialScenarioLabel: r.optionalString('credentialScenarioLabel'),
    credentialSharingScope: r.optionalString('credentialSharingScope'),
    credentialSubjectId: r.optionalString('credentialSubjectId'),
    credentialSubjectType: r.optionalString('credentialSubjectType'),
    exclusiveUserId: r.optionalString('exclusiveUserId'),
  })
}
