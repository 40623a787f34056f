/**
 * git's coercion of config values (git-config(1), "Values"): booleans, integers
 * with unit suffixes, and paths with a leading `~`. The error texts are git's.
 */
import { ConfigError } from '../errors.js'

/** git's boolean text: implicit (null) and true/yes/on are true, false/no/off and "" false, integers by value. */
export function parseBool(value: string | null, key: string): boolean {
  if (value === null) return true
  const v = value.toLowerCase()
  if (v === 'true' || v === 'yes' || v === 'on') return true
  if (v === 'false' || v === 'no' || v === 'off' || v === '') return false
  try {
    return parseInteger(value, key) !== 0
  } catch {
    throw new ConfigError(`bad boolean config value '${value}' for '${key}'`)
  }
}

/** git's integers: C base-0 syntax (0x.., 0..), optional k/m/g suffix; bounded to safe integers. */
export function parseInteger(value: string | null, key: string): number {
  if (value === null) throw new ConfigError(`missing value for '${key}'`)
  const m = /^[ \t\n\v\f\r]*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)(.*)$/s.exec(value)
  if (m === null) throw new ConfigError(`bad numeric config value '${value}' for '${key}': invalid unit`)
  const digits = m[2] as string
  let n: bigint
  if (/^0[xX]/.test(digits)) n = BigInt(digits)
  else if (digits.length > 1 && digits.startsWith('0')) n = BigInt(`0o${digits.slice(1)}`)
  else n = BigInt(digits)
  if (m[1] === '-') n = -n
  const unit = (m[3] as string).toLowerCase()
  const factor = unit === '' ? 1n : unit === 'k' ? 1024n : unit === 'm' ? 1024n ** 2n : unit === 'g' ? 1024n ** 3n : undefined
  if (factor === undefined) throw new ConfigError(`bad numeric config value '${value}' for '${key}': invalid unit`)
  n *= factor
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new ConfigError(`bad numeric config value '${value}' for '${key}': out of range`)
  }
  return Number(n)
}

/** git's path values: a leading `~` or `~/` is the home directory. */
export function expandPath(value: string | null, key: string, home: string | undefined): string {
  if (value === null) throw new ConfigError(`missing value for '${key}'`)
  if (value === '~' || value.startsWith('~/')) {
    if (home === undefined || home === '') throw new ConfigError(`failed to expand user dir in: '${value}'`)
    return home + value.slice(1)
  }
  if (value.startsWith('~')) throw new ConfigError(`failed to expand user dir in: '${value}'`)
  return value
}
