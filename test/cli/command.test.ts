import t from 'tap'
import { Command } from 'commander'
import { operandsBeforeDashDash } from '../../lib/cli/command.js'
import { checkoutCommand } from '../../lib/cli/commands/checkout.js'

const cmd = new Command('checkout')
checkoutCommand.configure(cmd)
cmd.option('--with <value>', 'a long option that takes a value').option('-o, --optional [value]', 'an optional value')

t.test('where `--` was, in operands before it, walked as commander walks the words', async (t) => {
  const cases: [string[], number | undefined][] = [
    [[], undefined],
    [['main'], undefined],
    [['--'], 0],
    [['--', 'f'], 0],
    [['main', '--'], 1],
    [['main', '--', 'f', '--'], 1],
    [['a', 'b', '--', 'f'], 2],
    [['-q', '--', 'f'], 0],
    [['-b', '--', 'start'], undefined],
    [['-b', '--', '--', 'f'], 0],
    [['-qb', '--', 'x', '--'], 1],
    [['-bq', '--', 'f'], 0],
    [['--with', '--', 'x'], undefined],
    [['--with=v', '--', 'x'], 0],
    [['-o', '--', 'x'], 0],
    [['-o', 'v', '--'], 0],
    [['-', '--'], 1],
  ]
  for (const [words, want] of cases) t.equal(operandsBeforeDashDash(cmd, words), want, words.join(' ') || '(none)')
})
