// @ts-check
/**
 * One load-generator process (forked by `runLoadInProcesses` in `load.mjs`): says it is ready,
 * runs the scenario it is sent against the server, sends the result back and exits.
 */
import { runLoad } from './load.mjs'
import { scenarioById } from './scenarios.mjs'

if (!process.send) throw new Error('load-worker.mjs runs as a forked child of run.mjs')
const send = process.send.bind(process)

process.once('message', async (/** @type {any} */ message) => {
  try {
    const scenario = scenarioById(message.scenarioId)
    const { index, processes, state } = message
    const result = await runLoad({
      baseUrl: message.baseUrl,
      baseUrls: message.baseUrls,
      firstLoop: message.firstLoop,
      connections: message.connections,
      warmupMs: message.warmupMs,
      durationMs: message.durationMs,
      startAt: BigInt(message.startAt),
      transport: message.transport,
      expectStatus: scenario.expectStatus,
      // Interleaved so `seq` is unique across the processes of one run.
      request: (seq) => scenario.request(state, seq * processes + index),
    })
    send({ type: 'result', result }, () => process.exit(0))
  } catch (error) {
    send({ type: 'error', message: error instanceof Error ? error.stack : String(error) }, () =>
      process.exit(1),
    )
  }
})
// The orchestrator went away (interrupted): nothing to report to.
process.on('disconnect', () => process.exit(1))
send({ type: 'ready' }, (error) => {
  if (error) process.exit(1)
})
