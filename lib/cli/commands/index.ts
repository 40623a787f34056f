import type { CommandModule } from '../command.js'
import { cloneCommand } from './clone.js'
import { cloneResumeCommand } from './clone-resume.js'
import { backfillCommand } from './backfill.js'
import { configCommand } from './config.js'
import { remoteCommand } from './remote.js'
import { checkoutCommand } from './checkout.js'
import { revListCommand } from './rev-list.js'
import { catFileCommand } from './cat-file.js'
import { fsckCommand } from './fsck.js'
import { fetchCommand } from './fetch.js'
import { sparseCheckoutCommand } from './sparse-checkout.js'
import { initCommand } from './init.js'
import { revParseCommand } from './rev-parse.js'
import { logCommand } from './log.js'
import { showRefCommand } from './show-ref.js'
import { lsRemoteCommand } from './ls-remote.js'

/** Every command tsgit has; the CLI and the docs test walk this list. */
export const commands: CommandModule[] = [cloneCommand, cloneResumeCommand, fetchCommand, backfillCommand, configCommand, remoteCommand, revListCommand, catFileCommand, fsckCommand, checkoutCommand]
commands.push(sparseCheckoutCommand, initCommand, revParseCommand, logCommand, showRefCommand, lsRemoteCommand)
