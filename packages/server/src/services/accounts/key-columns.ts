import type { AccountTable } from '../../store/schema.js'
import type { CheckedSshKey } from './ssh-key-check.js'

/**
 * The row's columns about its current key, from a checked key (or none): what lists show, so that
 * no list ever decrypts a version.
 */
export function keyColumns(
  key: CheckedSshKey | undefined,
): Pick<AccountTable, 'has_key' | 'key_supported' | 'key_facts'> {
  if (key === undefined) return { has_key: 0, key_supported: 0, key_facts: null }
  return { has_key: 1, key_supported: key.supported ? 1 : 0, key_facts: JSON.stringify(key.facts) }
}
