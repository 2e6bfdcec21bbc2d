import { type Command, Option } from 'commander'
import type { Context } from '../context.js'
import { parsePositiveInteger } from '../option-parsers.js'

/** Builds a command's `Context` from the command commander hands to its action. */
export type ContextFor = (command: Command) => Context

/** `--limit N`: every list pages through all results unless capped. */
export const limitOption = () =>
  new Option('--limit <n>', 'stop after N results (default: all)').argParser(parsePositiveInteger)
