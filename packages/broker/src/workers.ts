import cluster, { type Worker } from 'node:cluster';
import { hostname } from 'node:os';
import { checkClusterOptions } from './cluster-mode.js';
import { createLogger } from './logging.js';
import { type BrokerOptions, resolveBrokerOptions } from './options.js';

/** How soon a worker that died is started again, in ms: not in a tight loop. */
const RESTART_DELAY_MS = 1000;

/**
 * Runs `--workers N`: this process only supervises. It starts N workers with `node:cluster`,
 * which share the listening ports; each runs a broker joined to the cluster as node
 * `<nodeId>-<n>`. A worker that dies is started again with the same node id, so it reads what its
 * inbox still holds. SIGTERM and SIGINT stop every worker gracefully, then this process.
 *
 * @param argv The command line the workers get, with their own `--node-id` added.
 */
export function runWorkers(options: Partial<BrokerOptions>, argv: readonly string[]): void {
  const resolved = resolveBrokerOptions(options);
  checkClusterOptions(resolved);
  const logger = createLogger(resolved.logLevel, resolved.logFormat);
  const nodeId = options.nodeId ?? hostname();
  const workers = new Map<number, Worker>();
  let stopping = false;

  const start = (index: number) => {
    cluster.setupPrimary({ args: [...argv, '--node-id', `${nodeId}-${index}`] });
    const worker = cluster.fork();
    workers.set(index, worker);
    worker.on('exit', (code, signal) => {
      workers.delete(index);
      if (stopping) {
        if (workers.size === 0) process.exit(0);
        return;
      }
      logger.error({ worker: index, code, signal }, 'worker died: starting it again');
      setTimeout(() => start(index), RESTART_DELAY_MS);
    });
  };

  for (let index = 1; index <= resolved.workers; index++) start(index);
  logger.info({ workers: resolved.workers, nodeId }, 'mqtt-sessions workers started');

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: stopping the workers at once');
      for (const worker of workers.values()) worker.process.kill('SIGKILL');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'signal received: stopping the workers');
    if (workers.size === 0) process.exit(0);
    for (const worker of workers.values()) worker.process.kill('SIGTERM');
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

/** Whether this process is the supervisor of `--workers` (and not one of its workers). */
export function isWorkerSupervisor(options: Partial<BrokerOptions>): boolean {
  return (options.workers ?? 1) > 1 && cluster.isPrimary;
}
