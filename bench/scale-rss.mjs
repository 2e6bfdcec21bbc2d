// @ts-check
/**
 * Preloaded (`node --import`) into a command bench/scale.mjs measures: on exit, writes the
 * process's peak resident set size (kB, getrusage's ru_maxrss) to the file named by
 * STRONGROOM_SCALE_RSS_FILE. Nothing else: the command runs as it always does.
 */
import { writeFileSync } from 'node:fs'

const file = process.env.STRONGROOM_SCALE_RSS_FILE
if (file) {
  process.once('exit', () => {
    writeFileSync(file, JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS }))
  })
}
