import { type Static, type TSchema, Type } from '@sinclair/typebox'

/** The latest time a JavaScript `Date` holds (year 275760): later epoch milliseconds name no time. */
export const MAX_EPOCH_MILLIS = 8_640_000_000_000_000

/** Epoch milliseconds, as every timestamp on the wire (docs/wire-contract.md). */
export const EpochMillis = Type.Integer({
  minimum: 0,
  maximum: MAX_EPOCH_MILLIS,
  description: 'epoch milliseconds',
})

/** A resource id: a lowercase prefix, an underscore, and 26 Crockford base32 characters. */
export const resourceId = (prefix: string) =>
  Type.String({
    pattern: `^${prefix}_[0-9a-z]{26}$`,
    maxLength: prefix.length + 27,
    description: `${prefix}_…`,
  })

/**
 * What names a thing to a person (an application, an admin token, a credential's display name):
 * 1 to 128 characters, none of them a control character, a bidirectional override or isolate, or
 * an invisible formatting character. Such a character would let one administrator make a name
 * read as another to the next (`ci\u202Erotarepo` shows as "cioperator").
 */
export const Name = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2069\\ufeff]*$',
  'x-rule': 'must not contain control, bidirectional or invisible formatting characters',
})

/**
 * Free text shown to people (a description, a retrieval's reason) may hold any character but the
 * C0 and C1 controls (U+0000–U+001F, U+007F–U+009F: a newline or tab included) and the
 * bidirectional formatting characters (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
 * These would let one person make the text read as something else to the next, in the console or
 * a terminal: `4711 tnedicni` behind U+202E reads as "incident 1174". Invisible joiners stay
 * allowed (emoji sequences need U+200D).
 */
const FREE_TEXT = {
  pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$',
  'x-rule': 'must not contain control or bidirectional formatting characters',
} as const

/** What a resource is for, in a sentence or two: at most 1024 characters of free text. */
export const Description = Type.String({ maxLength: 1024, ...FREE_TEXT })

/** Whether a resource (application, credential, account, provider, cloud account) may be used. */
export const Status = Type.Union([Type.Literal('enabled'), Type.Literal('disabled')])
export type Status = Static<typeof Status>

/** How long a minted secret lives, in seconds: at most ten years. */
export const ExpiresIn = Type.Integer({ minimum: 60, maximum: 315_360_000, description: 'seconds' })
/** A retrieval reason: what the operator or workload says it needs the secret for. */
export const Reason = Type.String({ minLength: 1, maxLength: 512, ...FREE_TEXT })

/** Keyset pagination: an opaque `nextToken` and a page size. Never OFFSET. */
export const PageQuery = {
  nextToken: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  maxResults: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
}

export const page = <T extends TSchema>(item: T) =>
  Type.Object({
    entities: Type.Array(item),
    nextToken: Type.Union([Type.String(), Type.Null()]),
    maxResults: Type.Integer(),
  })

/** A list that takes nothing but its page. */
export const ListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false })
export type ListQuery = Static<typeof ListQuery>

export const Empty = Type.Object({}, { additionalProperties: false })

/** `GET /healthz`. */
export const Health = Type.Object({ status: Type.String() })
export type Health = Static<typeof Health>
