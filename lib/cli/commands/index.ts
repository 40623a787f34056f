import type { CommandModule } from '../command.js'

export const commands: CommandModule[] = []
