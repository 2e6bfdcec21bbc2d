// The program cluster/primary.ts forks for each worker of `serve --workers N`.
import { runWorker } from './worker.js'

void runWorker()
