import type pc from 'picocolors'

/** picocolors' formatters, enabled or not (`createColors(false)` returns the identity). */
export type Colors = ReturnType<typeof pc.createColors>
