/**
 * Every command has a man page listed in package.json and in tsgit(1), appears in the
 * README, answers --help, and rejects an unknown option with git's usage exit code.
 */
import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { commands } from '../../lib/cli/commands/index.js'
import { tsgit } from '../fixtures/tsgit.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { man: string[] }
const mainPage = readFileSync(`${root}man/tsgit.1`, 'utf8')
const readme = readFileSync(`${root}README.md`, 'utf8')

t.test('the top-level page is installed', async (t) => {
  t.ok(pkg.man.includes('man/tsgit.1'))
})

for (const cmd of commands) {
  t.test(cmd.name, async (t) => {
    const page = `man/tsgit-${cmd.name}.1`
    t.ok(existsSync(`${root}${page}`), `${page} exists`)
    t.ok(pkg.man.includes(page), `package.json installs ${page}`)
    t.match(readFileSync(`${root}${page}`, 'utf8'), new RegExp(`^\\.TH TSGIT\\\\?-${cmd.name.toUpperCase().replace('-', '\\\\?-')} 1`, 'm'), 'the page is titled for the command')
    t.match(mainPage, new RegExp(`tsgit\\\\-${cmd.name.replace('-', '\\\\-')} \\(1\\)`), 'tsgit(1) lists it')
    t.match(readme, new RegExp(`\`tsgit ${cmd.name}\\b`), 'the README lists it')
    t.ok(cmd.summary.length > 10, 'it has a summary')
    const help = await tsgit([cmd.name, '--help'])
    t.equal(help.status, 0, '--help exits 0')
    t.match(help.stdout, new RegExp(`Usage: tsgit ${cmd.name}`), '--help prints its usage on stdout')
    const bad = await tsgit([cmd.name, '--no-such-option-anywhere'])
    t.equal(bad.status, 129, 'an unknown option is a usage error (129)')
  })
}

t.test('no command, and an unknown command', async (t) => {
  const none = await tsgit([])
  t.not(none.status, 0)
  const unknown = await tsgit(['frobnicate'])
  t.equal(unknown.status, 129)
})
