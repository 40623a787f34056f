/**
 * Asks the person at the controlling terminal, as git's prompts do: on /dev/tty, never
 * on stdin or stderr (which may be pipes), the answer echoed for a user name and not for
 * a password. A command without a controlling terminal gets the error opening /dev/tty
 * gave (git's "No such device or address").
 */
import { closeSync, openSync, writeSync } from 'node:fs'
import { ReadStream } from 'node:tty'
import { AuthError, InterruptedError } from '../errors.js'

/** Why there is no terminal to ask: the message of the error opening it. */
export class NoTerminal extends Error {}

function openTerminal(): number {
  try {
    return openSync('/dev/tty', 'r+')
  } catch (e) {
    const code = (e as { code?: unknown }).code
    throw new NoTerminal(code === 'ENXIO' ? 'No such device or address' : code === 'ENOENT' ? 'No such file or directory' : e instanceof Error ? e.message : String(e))
  }
}

/** Reads one line; with `echo` false the terminal is in raw mode and the line is edited here. */
function readLine(input: ReadStream, echo: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let line = ''
    const done = (err?: Error): void => {
      input.off('data', onData)
      input.off('error', done)
      input.off('end', onEnd)
      if (err !== undefined) reject(err)
      else resolve(line)
    }
    const onEnd = (): void => done()
    const onData = (chunk: Buffer): void => {
      for (const c of chunk.toString('utf8')) {
        if (c === '\r' || c === '\n') return done()
        if (!echo && c === '\x03') {
          // Raw mode made the interrupt key a byte: give it its meaning back, a SIGINT to
          // this process as the terminal would have sent (the command stops as on ^C).
          process.kill(process.pid, 'SIGINT')
          return done(new InterruptedError('interrupted at the password prompt'))
        }
        if (!echo && c === '\x04') return done()
        if (!echo && (c === '\x7f' || c === '\b')) line = [...line].slice(0, -1).join('')
        else if (!echo && c === '\x15') line = ''
        else line += c
      }
    }
    input.on('data', onData)
    input.on('error', done)
    input.on('end', onEnd)
  })
}

/** Writes `prompt` to the terminal and reads the answer. Throws NoTerminal when there is none. */
export async function terminalPrompt(prompt: string, echo: boolean): Promise<string> {
  const fd = openTerminal()
  let input: ReadStream | undefined
  try {
    input = new ReadStream(fd)
    // echo goes off before the prompt shows: nothing typed after it is ever echoed
    if (!echo) input.setRawMode(true)
    writeSync(fd, prompt)
    try {
      return await readLine(input, echo)
    } finally {
      if (!echo) {
        input.setRawMode(false)
        writeSync(fd, '\n')
      }
    }
  } catch (e) {
    if (e instanceof InterruptedError) throw e
    throw new AuthError(`could not read from the terminal: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
  } finally {
    if (input !== undefined) input.destroy()
    else closeSync(fd)
  }
}
