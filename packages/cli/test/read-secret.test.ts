import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { promptHidden } from '../src/hidden-prompt.js'
import { readSecretInput, stripOneTrailingNewline } from '../src/read-secret.js'
import { Collector, fakeTerminal, pipedStdin } from './fake-io.js'

const base = { prompt: 'API key: ', what: 'API key' }

function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'strongroom-secret-')), 'value')
  writeFileSync(path, text)
  return path
}

describe('stripOneTrailingNewline', () => {
  it('removes exactly one \\n or \\r\\n', () => {
    expect(stripOneTrailingNewline('a\n')).toBe('a')
    expect(stripOneTrailingNewline('a\r\n')).toBe('a')
    expect(stripOneTrailingNewline('a\n\n')).toBe('a\n')
    expect(stripOneTrailingNewline('a')).toBe('a')
  })
})

describe('readSecretInput', () => {
  it('reads --value-file, minus one trailing newline', async () => {
    const stdin = fakeTerminal()
    expect(await readSecretInput({ ...base, file: file('sk_1\n\n'), stdin, stderr: new Collector() })).toBe(
      'sk_1\n',
    )
  })

  it('reads piped stdin when no file is given', async () => {
    expect(await readSecretInput({ ...base, stdin: pipedStdin('sk_2\n'), stderr: new Collector() })).toBe(
      'sk_2',
    )
  })

  it('reads stdin for --value-file -, even from a terminal', async () => {
    const stdin = fakeTerminal()
    stdin.end('sk_3\n')
    expect(await readSecretInput({ ...base, file: '-', stdin, stderr: new Collector() })).toBe('sk_3')
    expect(stdin.rawModes).toEqual([])
  })

  it('keeps an SSH private key exactly', async () => {
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n'
    const read = await readSecretInput({
      ...base,
      file: file(key),
      exact: true,
      stdin: pipedStdin(''),
      stderr: new Collector(),
    })
    expect(read).toBe(key)
  })

  it('does not prompt for an SSH private key on a terminal', async () => {
    const input = {
      ...base,
      what: 'SSH private key',
      exact: true,
      stdin: fakeTerminal(),
      stderr: new Collector(),
    }
    await expect(readSecretInput(input)).rejects.toThrow(
      'give the SSH private key with --value-file PATH or on stdin',
    )
  })

  it('refuses an empty value', async () => {
    await expect(
      readSecretInput({ ...base, stdin: pipedStdin('\n'), stderr: new Collector() }),
    ).rejects.toThrow('the API key is empty')
    await expect(
      readSecretInput({ ...base, file: file(''), stdin: pipedStdin(''), stderr: new Collector() }),
    ).rejects.toThrow('the API key is empty')
  })

  it('names the file but not its content when it cannot be read', async () => {
    await expect(
      readSecretInput({
        ...base,
        file: '/nonexistent/value',
        stdin: pipedStdin(''),
        stderr: new Collector(),
      }),
    ).rejects.toThrow('cannot read --value-file /nonexistent/value: ENOENT')
  })

  it('prompts with hidden input on a terminal', async () => {
    const stdin = fakeTerminal()
    const stderr = new Collector()
    const read = readSecretInput({ ...base, stdin, stderr })
    stdin.write('s3cr3t\r')
    expect(await read).toBe('s3cr3t')
    expect(stderr.text).toBe('API key: \n')
  })
})

describe('promptHidden', () => {
  it('echoes nothing typed and restores the terminal', async () => {
    const stdin = fakeTerminal()
    const stderr = new Collector()
    const answer = promptHidden('Password: ', stdin, stderr)
    stdin.write('hunter')
    stdin.write('2\n')
    expect(await answer).toBe('hunter2')
    expect(stderr.text).not.toContain('hunter')
    expect(stdin.rawModes).toEqual([true, false])
  })

  it('handles Backspace, Ctrl-U and arrow keys', async () => {
    const stdin = fakeTerminal()
    const answer = promptHidden('> ', stdin, new Collector())
    stdin.write('wrong\u0015ab\u007fc\u001b[Dd\r')
    expect(await answer).toBe('acd')
  })

  it('rejects on Ctrl-C (raw mode turns off SIGINT)', async () => {
    const stdin = fakeTerminal()
    const answer = promptHidden('> ', stdin, new Collector())
    stdin.write('abc\u0003')
    await expect(answer).rejects.toMatchObject({ code: 'Interrupted', exitCode: 130 })
    expect(stdin.rawModes).toEqual([true, false])
  })

  it('ends at end of input', async () => {
    const stdin = fakeTerminal()
    const answer = promptHidden('> ', stdin, new Collector())
    stdin.end('partial')
    expect(await answer).toBe('partial')
  })
})
