/**
 * `git show-ref`: the refs (their ids and names), filtered by --heads/--tags and by
 * patterns that match whole trailing components of the name, or with --verify the
 * exact refs named. Prints as git 2.39 prints.
 */
import { TsgitError } from '../errors.js'
import type { Oid } from '../oid.js'
import { abbreviate, defaultAbbrevLength } from '../rev/abbrev.js'
import type { RepoContext } from './repo-context.js'

export interface ShowRefOptions {
  patterns: readonly string[]
  heads?: boolean
  tags?: boolean
  verify?: boolean
  /** -s/--hash: ids only. */
  hashOnly?: boolean
  /** --hash=<n> / --abbrev[=<n>]: abbreviated ids (0: the default length). */
  abbrev?: number
  /** -d: each annotated tag is followed by `<name>^{}` and the object it peels to. */
  dereference?: boolean
  /** --head: HEAD as well, first. */
  head?: boolean
  quiet?: boolean
  write(text: string): void | Promise<void>
}

/** git's pattern rule: the pattern equals the name's last components (`main` matches refs/heads/main and refs/remotes/origin/main). */
export function matchesPattern(name: string, pattern: string): boolean {
  if (name === pattern) return true
  return name.endsWith(pattern) && name.length > pattern.length && name[name.length - pattern.length - 1] === '/'
}

/** Resolves to the exit code: 0 when something was shown, 1 when nothing matched (or --verify -q found nothing). */
export async function showRef(rc: RepoContext, options: ShowRefOptions): Promise<number> {
  const { repo, store } = rc
  const refs = repo.refs
  const min = options.abbrev === undefined ? 40 : options.abbrev === 0 ? await defaultAbbrevLength(repo.config, store) : Math.max(4, Math.min(40, options.abbrev))
  const id = async (oid: Oid): Promise<string> => (min >= 40 ? oid : abbreviate(store, oid, min))
  let out = ''
  const show = async (name: string, oid: Oid): Promise<void> => {
    if (options.quiet === true) return
    out += options.hashOnly === true ? `${await id(oid)}\n` : `${await id(oid)} ${name}\n`
    if (options.dereference === true) {
      const obj = await store.tryRead(oid)
      if (obj?.type === 'tag') {
        let target = oid
        for (let t = await store.tryRead(target); t?.type === 'tag'; t = await store.tryRead(target)) {
          const m = /^object ([0-9a-f]{40})/.exec(t.data.toString('latin1'))
          if (m === null) break
          target = m[1] as Oid
        }
        // the peeled line keeps its name even with --hash, as in git
        out += `${await id(target)} ${name}^{}\n`
      }
    }
  }
  let shown = 0
  try {
    if (options.verify === true) {
      for (const name of options.patterns) {
        const oid = name === 'HEAD' || name.startsWith('refs/') ? await refs.resolve(name).catch(() => undefined) : undefined
        if (oid === undefined) {
          if (options.quiet === true) return 1
          throw new TsgitError('E_REF', `'${name}' - not a valid ref`)
        }
        await show(name, oid)
        shown++
      }
      return 0
    }
    if (options.head === true) {
      const head = await refs.resolve('HEAD').catch(() => undefined)
      if (head !== undefined) {
        await show('HEAD', head)
        shown++
      }
    }
    for (const r of await refs.list('refs/')) {
      const filtered = options.heads === true || options.tags === true
      if (filtered && !((options.heads === true && r.name.startsWith('refs/heads/')) || (options.tags === true && r.name.startsWith('refs/tags/')))) continue
      if (options.patterns.length > 0 && !options.patterns.some((p) => matchesPattern(r.name, p))) continue
      await show(r.name, r.oid)
      shown++
    }
    return shown > 0 ? 0 : 1
  } finally {
    if (out !== '') await options.write(out)
  }
}
