import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import {
  FORWARDED_SIGNALS,
  type ForwardedSignal,
  listenForSignals,
  parseProcStat,
  readGroupFacts,
  type SignalSource,
  terminalDelivered,
} from '../../src/run/signals.js'

describe('terminalDelivered', () => {
  const foreground = { ours: 100, foreground: 100, child: 100 }

  it('says the terminal delivered Ctrl-C and Ctrl-\\ to a command in the foreground group', () => {
    expect(terminalDelivered('SIGINT', foreground)).toBe(true)
    expect(terminalDelivered('SIGQUIT', foreground)).toBe(true)
  })

  it('never for the signals a keyboard does not send', () => {
    for (const signal of ['SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) {
      expect(terminalDelivered(signal, foreground), signal).toBe(false)
    }
  })

  it('not without a terminal, in the background, when the command left the group, or in doubt', () => {
    expect(terminalDelivered('SIGINT', { ours: 100, foreground: -1, child: 100 })).toBe(false)
    expect(terminalDelivered('SIGINT', { ours: 100, foreground: 0, child: 100 })).toBe(false)
    expect(terminalDelivered('SIGINT', { ours: 100, foreground: 200, child: 100 })).toBe(false)
    expect(terminalDelivered('SIGINT', { ours: 100, foreground: 100, child: 300 })).toBe(false)
    expect(terminalDelivered('SIGINT', { ours: undefined, foreground: 100, child: 100 })).toBe(false)
    expect(terminalDelivered('SIGINT', { ours: 100, foreground: undefined, child: 100 })).toBe(false)
    expect(terminalDelivered('SIGINT', { ours: 100, foreground: 100, child: undefined })).toBe(false)
  })
})

describe('parseProcStat', () => {
  it('reads pgrp and tpgid after a command name holding spaces and parentheses', () => {
    const stat = '4242 (node (my) app) S 4200 4201 4100 34816 4201 4194560 1 0 0 0'
    expect(parseProcStat(stat)).toEqual({ pgrp: 4201, tpgid: 4201 })
    expect(parseProcStat('1 (init) S 0 1 1 0 -1 4194560')).toEqual({ pgrp: 1, tpgid: -1 })
    expect(parseProcStat('garbage')).toBeUndefined()
  })

  it('reads this process from the operating system', () => {
    const facts = readGroupFacts(process.pid)
    expect(facts.ours).toBeTypeOf('number')
    expect(facts.child).toBe(facts.ours)
  })
})

describe('listenForSignals', () => {
  it('hands each forwarded signal to its handler, and stops listening when told', () => {
    const source = new EventEmitter()
    const seen: ForwardedSignal[] = []
    const stop = listenForSignals((s) => seen.push(s), source as unknown as SignalSource)
    for (const signal of FORWARDED_SIGNALS) source.emit(signal)
    expect(seen).toEqual([...FORWARDED_SIGNALS])
    stop()
    for (const signal of FORWARDED_SIGNALS) expect(source.listenerCount(signal)).toBe(0)
  })
})
