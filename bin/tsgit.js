#!/usr/bin/env node
import { main } from '../dist/tsgit.mjs'
main(process.argv.slice(2))
