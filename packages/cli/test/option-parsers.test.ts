import { InvalidArgumentError } from 'commander'
import { describe, expect, it } from 'vitest'
import { parseActions, parsePositiveInteger, parseSeconds, parseTime } from '../src/option-parsers.js'

describe('parseTime', () => {
  it('takes epoch milliseconds and ISO 8601', () => {
    expect(parseTime('1700000000000')).toBe(1_700_000_000_000)
    expect(parseTime('2023-11-14T22:13:20Z')).toBe(1_700_000_000_000)
    expect(parseTime('2023-11-14T22:13:20.123+00:00')).toBe(1_700_000_000_123)
    expect(parseTime('2024-01-01')).toBe(Date.UTC(2024, 0, 1))
  })

  it('refuses anything else as a usage error', () => {
    for (const text of ['yesterday', '', '2024-13-45', '-5', '1e3']) {
      expect(() => parseTime(text)).toThrow(InvalidArgumentError)
    }
  })
})

describe('parseActions', () => {
  it('splits, trims and deduplicates', () => {
    expect(parseActions('obtain, use,obtain')).toEqual(['obtain', 'use'])
  })

  it('refuses unknown and empty lists', () => {
    expect(() => parseActions('obtain,fly')).toThrow('unknown action "fly"')
    expect(() => parseActions(',')).toThrow(InvalidArgumentError)
  })
})

describe('number options', () => {
  it('parsePositiveInteger takes whole numbers ≥ 1', () => {
    expect(parsePositiveInteger('20')).toBe(20)
    for (const text of ['0', '-1', '1.5', 'x', ''])
      expect(() => parsePositiveInteger(text)).toThrow(InvalidArgumentError)
  })

  it('parseSeconds takes whole numbers', () => {
    expect(parseSeconds('3600')).toBe(3600)
    expect(() => parseSeconds('1h')).toThrow(InvalidArgumentError)
  })
})
