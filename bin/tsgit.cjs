#!/usr/bin/env node
'use strict'
// tsgit's Node entry: runs the bundle dist/tsgit.cjs through dist/start.cjs
// (lib/cli/start.ts), which compiles it with V8's code cache when it has one.
const { join } = require('node:path')
require('../dist/start.cjs').start({ bundle: join(__dirname, '..', 'dist', 'tsgit.cjs'), argv: process.argv.slice(2), env: process.env })
