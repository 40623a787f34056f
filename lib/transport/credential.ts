/**
 * Credentials for one http(s) remote, as gitcredentials(7) gets them: the URL's own user
 * name and password; else, on a 401, each `credential.helper` asked in turn (`get`), then
 * GIT_ASKPASS / core.askPass / SSH_ASKPASS for what is still missing, else the terminal
 * (terminal-prompt.ts) unless GIT_TERMINAL_PROMPT is false. Credentials that worked are
 * handed to the helpers (`store`), ones refused are taken back (`erase`).
 *
 * What one command obtained is kept in a CredentialJar the command shares between its
 * transports (a clone's tries, a lazy fetch's sessions and batches), so helpers are asked
 * once per command, not once per request.
 */
import { spawn } from 'node:child_process'
import { isAbsolute } from 'node:path'
import { AuthError } from '../errors.js'
import { silentSink, type ProgressSink } from '../events.js'
import { describeCredential, encodeCredential, parseHelperAnswer, type Credential } from './credential-protocol.js'
import { NoTerminal, terminalPrompt } from './terminal-prompt.js'

export interface BasicCredential {
  username: string
  password: string
}

export interface CredentialSettings {
  /** What is asked about: protocol, host[:port], path (with useHttpPath), user name (from the URL or credential.username). */
  asked: Credential
  /** The URL without password, for messages. */
  shown: string
  /** credential.helper values that apply, in order (an empty value already cleared those before it). */
  helpers: string[]
  /** GIT_ASKPASS, else core.askPass, else SSH_ASKPASS. */
  askPass?: string
  /** GIT_TERMINAL_PROMPT is false. */
  terminalPromptDisabled: boolean
  env: NodeJS.ProcessEnv
  sink?: ProgressSink
}

/** What one command obtained, by credential (protocol, host, path, user name asked). */
export class CredentialJar {
  private readonly kept = new Map<string, BasicCredential>()
  private readonly stored = new Set<string>()
  private readonly erased = new Set<string>()
  private readonly pending = new Map<string, Promise<BasicCredential>>()
  /** True the first time `value` is said to have worked: the helpers store it once per command. */
  firstSuccess(value: BasicCredential): boolean {
    return once(this.stored, value)
  }
  /** True the first time `value` is said to be refused (requests in flight together get the same 401): erased once. */
  firstRefusal(value: BasicCredential): boolean {
    return once(this.erased, value)
  }
  get(c: Credential): BasicCredential | undefined {
    return this.kept.get(jarKey(c))
  }
  delete(c: Credential): void {
    this.kept.delete(jarKey(c))
  }
  /** What `ask` obtains for `c`, kept; while it runs, every caller waits for the same answer. */
  asking(c: Credential, ask: () => Promise<BasicCredential>): Promise<BasicCredential> {
    const key = jarKey(c)
    let pending = this.pending.get(key)
    if (pending === undefined) {
      pending = ask().then(
        (value) => {
          this.kept.set(key, value)
          return value
        },
      ).finally(() => this.pending.delete(key))
      this.pending.set(key, pending)
    }
    return pending
  }
}

function once(seen: Set<string>, value: BasicCredential): boolean {
  const key = JSON.stringify([value.username, value.password])
  if (seen.has(key)) return false
  seen.add(key)
  return true
}

function jarKey(c: Credential): string {
  return JSON.stringify([c.protocol, c.host, c.path ?? null, c.username ?? null])
}

/** The command a helper value stands for, with the action appended (git runs it through the shell). */
export function helperCommand(helper: string, action: 'get' | 'store' | 'erase'): string {
  if (helper.startsWith('!')) return `${helper.slice(1)} ${action}`
  if (isAbsolute(helper)) return `${helper} ${action}`
  return `git credential-${helper} ${action}`
}

function run(file: string, args: string[], input: string | undefined, env: NodeJS.ProcessEnv, shell: boolean): Promise<{ status: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = shell ? spawn('/bin/sh', ['-c', file], { env, stdio: ['pipe', 'pipe', 'inherit'] }) : spawn(file, args, { env, stdio: ['pipe', 'pipe', 'inherit'] })
    const out: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stdin.on('error', () => undefined)
    child.stdin.end(input ?? '')
    child.on('error', () => resolve({ status: -1, stdout: '' }))
    child.on('close', (code) => resolve({ status: code ?? -1, stdout: Buffer.concat(out).toString('utf8') }))
  })
}

/** The credentials of one remote, for the http transport. */
export class CredentialSource {
  private readonly settings: CredentialSettings
  private readonly jar: CredentialJar
  private readonly sink: ProgressSink
  private readonly fromUrl: BasicCredential | undefined

  constructor(settings: CredentialSettings, jar: CredentialJar, urlPassword?: string) {
    this.settings = settings
    this.jar = jar
    this.sink = settings.sink ?? silentSink
    const user = settings.asked.username
    if (user !== undefined && urlPassword !== undefined) this.fromUrl = { username: user, password: urlPassword }
  }

  /** What to send before any 401: the URL's credentials, or what this command obtained already. */
  current(): BasicCredential | undefined {
    return this.fromUrl ?? this.jar.get(this.settings.asked)
  }

  /**
   * A helper or an askpass program is set up to answer a 401: the server is likely to
   * want credentials (a CI job's credential.helper), so a request sent before any were
   * obtained would likely be refused.
   */
  expectsToAsk(): boolean {
    return this.settings.helpers.length > 0 || this.settings.askPass !== undefined
  }

  /** After a 401 to a request sent without credentials: asks once, however many requests (and transports of the command) wait. */
  fill(): Promise<BasicCredential> {
    const have = this.current()
    if (have !== undefined) return Promise.resolve(have)
    return this.jar.asking(this.settings.asked, () => this.ask())
  }

  /** A request with `c` succeeded: the helpers store it (once per command). */
  async approve(c: BasicCredential): Promise<void> {
    if (this.jar.firstSuccess(c)) await this.tell('store', c)
  }

  /** `c` got a 401: the helpers erase it, and this command forgets it. */
  async reject(c: BasicCredential): Promise<void> {
    if (this.jar.get(this.settings.asked) === c) this.jar.delete(this.settings.asked)
    if (this.jar.firstRefusal(c)) await this.tell('erase', c)
  }

  /** The request for a helper; a newline in a field is refused with git's warning and words. */
  private encode(c: Credential): string {
    for (const key of ['username', 'password', 'host', 'path'] as const) {
      if (c[key]?.includes('\n') === true) this.sink.warn(`url contains a newline in its ${key} component: ${this.settings.shown}`)
    }
    return encodeCredential(c, this.settings.shown)
  }

  private async tell(action: 'store' | 'erase', c: BasicCredential): Promise<void> {
    if (this.settings.helpers.length === 0) return
    const input = this.encode({ ...this.settings.asked, ...c })
    for (const h of this.settings.helpers) await run(helperCommand(h, action), [], input, this.settings.env, true)
  }

  private async ask(): Promise<BasicCredential> {
    const asked = this.settings.asked
    let username = asked.username
    let password: string | undefined
    const input = this.encode(asked)
    let quit = false
    for (const h of this.settings.helpers) {
      const r = await run(helperCommand(h, 'get'), [], input, this.settings.env, true)
      if (r.status !== 0) continue
      const answer = parseHelperAnswer(r.stdout, asked)
      if (answer === undefined) {
        this.sink.warn(`ignoring a credential helper's answer about another protocol, host or path than ${describeCredential(asked, false)}`)
        continue
      }
      if (answer.username !== undefined) username = answer.username
      if (answer.password !== undefined) password = answer.password
      if (answer.quit) {
        quit = true
        break
      }
      if (username !== undefined && password !== undefined) break
    }
    if (quit) throw new AuthError('credential helper told us to quit')
    if (username === undefined) username = await this.prompt(`Username for '${describeCredential(asked, false)}': `, 'Username')
    if (password === undefined) password = await this.prompt(`Password for '${describeCredential({ ...asked, username }, true)}': `, 'Password')
    return { username, password }
  }

  /** Asks the askpass program, else the terminal; without either fails as git does. */
  private async prompt(prompt: string, what: 'Username' | 'Password'): Promise<string> {
    const askPass = this.settings.askPass
    if (askPass !== undefined && askPass !== '') {
      const r = await run(askPass, [prompt], undefined, this.settings.env, false)
      if (r.status === 0) return r.stdout.replace(/\r?\n[\s\S]*$/, '')
      const message = `unable to read askpass response from '${askPass}'`
      if (this.sink.error !== undefined) this.sink.error(message)
      else this.sink.warn(message)
    }
    const where = prompt.slice(prompt.indexOf("'"), prompt.lastIndexOf("'") + 1)
    if (this.settings.terminalPromptDisabled) throw new AuthError(`could not read ${what} for ${where}: terminal prompts disabled`)
    try {
      return await terminalPrompt(prompt, what === 'Username')
    } catch (e) {
      if (e instanceof NoTerminal) throw new AuthError(`could not read ${what} for ${where}: ${e.message}`)
      throw e
    }
  }
}
