/**
 * The identity git records in reflogs: GIT_COMMITTER_* from the environment, else
 * user.name / user.email, else the login name at the host name, like git.
 */
import { hostname, userInfo } from 'node:os'
import type { RefIdent } from '../repo/refs.js'
import type { ConfigReader } from '../repo/config.js'

function parseGitDate(s: string): { timestamp: number; tz: string } | undefined {
  const m = /^@?(\d+)(?: ([+-]\d{4}))?$/.exec(s.trim())
  if (!m) return undefined
  return { timestamp: Number(m[1]), tz: m[2] ?? '+0000' }
}

function localTz(now: Date): string {
  const off = -now.getTimezoneOffset()
  const sign = off >= 0 ? '+' : '-'
  const a = Math.abs(off)
  return `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}${String(a % 60).padStart(2, '0')}`
}

export function committerIdent(config: ConfigReader, env: NodeJS.ProcessEnv, now: Date = new Date()): RefIdent {
  let login = 'unknown'
  try {
    login = userInfo().username
  } catch {
    // no passwd entry (containers): keep the fallback
  }
  const name = env.GIT_COMMITTER_NAME ?? config.getString('user.name') ?? login
  const email = env.GIT_COMMITTER_EMAIL ?? config.getString('user.email') ?? env.EMAIL ?? `${login}@${hostname()}`
  const date = env.GIT_COMMITTER_DATE !== undefined ? parseGitDate(env.GIT_COMMITTER_DATE) : undefined
  return {
    name,
    email,
    timestamp: date?.timestamp ?? Math.floor(now.getTime() / 1000),
    tz: date?.tz ?? localTz(now),
  }
}
