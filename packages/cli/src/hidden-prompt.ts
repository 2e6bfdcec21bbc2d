import { CliError } from './errors.js'
import type { InputStream, OutputStream } from './io.js'

const ENTER = new Set(['\r', '\n', '\u0004'])
const CTRL_C = '\u0003'
const CTRL_U = '\u0015'
const BACKSPACE = new Set(['\u007f', '\b'])
const ESC = '\u001b'

/**
 * Asks for a line on `output` and reads it from the terminal `input` without echo: the terminal
 * is put in raw mode and nothing typed is written back. Enter or Ctrl-D ends the line, Backspace
 * and Ctrl-U edit it, Ctrl-C rejects with an `Interrupted` error (raw mode turns off SIGINT).
 */
export function promptHidden(prompt: string, input: InputStream, output: OutputStream): Promise<string> {
  const setRawMode = input.setRawMode
  if (setRawMode === undefined) {
    return Promise.reject(
      new CliError('InputUnreadable', 'cannot read hidden input: stdin is not a terminal'),
    )
  }
  output.write(prompt)
  setRawMode.call(input, true)
  input.setEncoding('utf8')
  input.resume()

  return new Promise((resolve, reject) => {
    let value = ''
    // Inside an escape sequence (arrow keys and the like), skipped until its final byte.
    let inEscape: 'none' | 'start' | 'csi' = 'none'

    const finish = (error?: CliError) => {
      input.off('data', onData)
      input.off('end', onEnd)
      setRawMode.call(input, false)
      input.pause()
      output.write('\n')
      if (error) reject(error)
      else resolve(value)
    }
    const onEnd = () => finish()
    const onData = (chunk: string | Buffer) => {
      for (const char of String(chunk)) {
        if (inEscape === 'start') {
          inEscape = char === '[' ? 'csi' : 'none'
          continue
        }
        if (inEscape === 'csi') {
          if (char >= '@' && char <= '~') inEscape = 'none'
          continue
        }
        if (ENTER.has(char)) return finish()
        if (char === CTRL_C) return finish(new CliError('Interrupted', 'interrupted', { exitCode: 130 }))
        if (char === CTRL_U) value = ''
        else if (BACKSPACE.has(char)) value = Array.from(value).slice(0, -1).join('')
        else if (char === ESC) inEscape = 'start'
        else if (char >= ' ') value += char
      }
    }
    input.on('data', onData)
    input.on('end', onEnd)
  })
}
