#!/usr/bin/env node
import cluster from 'node:cluster';
import { addUser } from './auth/index.js';
import { createBroker } from './broker.js';
import { ConfigError, helpText, loadConfig, parseCommandLine } from './config.js';
import { commandLineListeners } from './options.js';
import { readPassword } from './password-input.js';
import { VERSION } from './stats.js';
import { isWorkerSupervisor, runWorkers } from './workers.js';

/** Runs the `mqtt-sessions` command; resolves to the exit status (the broker keeps running). */
export async function main(argv: readonly string[]): Promise<number | undefined> {
  const commandLine = parseCommandLine(argv);
  if (commandLine.help) {
    process.stdout.write(helpText());
    return 0;
  }
  if (commandLine.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const [command = 'start', ...rest] = commandLine.positionals;
  if (command === 'passwd') {
    const [file, username] = rest;
    if (file === undefined || username === undefined)
      throw new ConfigError('usage: mqtt-sessions passwd <users-file> <username>');
    const given = commandLine.values.get('password');
    const password =
      typeof given === 'string'
        ? given
        : (process.env.MQTT_SESSIONS_PASSWORD ??
          (await readPassword().catch((error: Error) => {
            throw new ConfigError(error.message);
          })));
    if (password.length === 0) throw new ConfigError('the password must not be empty');
    await addUser(file, username, password);
    process.stdout.write(`user ${username} saved in ${file}\n`);
    return 0;
  }
  if (command !== 'start') throw new ConfigError(`unknown command ${command} (see --help)`);
  const options = await loadConfig(commandLine);
  if (isWorkerSupervisor(options)) {
    runWorkers(options, argv);
    return undefined;
  }
  const broker = await createBroker({ ...options, ...commandLineListeners(options) });
  await broker.start();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      // A second signal: the operator wants out now.
      broker.logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    stopping = true;
    broker.logger.info({ signal }, 'signal received: shutting down');
    const limit = broker.options.shutdownTimeoutMs;
    // Whatever holds the shutdown up (a client that never reads, a store that does not answer),
    // the process ends within the limit.
    setTimeout(() => {
      broker.logger.error({ limitMs: limit }, 'shutdown took too long: exiting');
      process.exit(1);
    }, limit).unref();
    broker.close(Math.min(2000, limit / 2)).then(
      () => process.exit(0),
      (error: unknown) => {
        broker.logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  // SIGHUP reloads the TLS certificate (renewed certificates need no restart).
  process.on('SIGHUP', () => {
    if (broker.options.tlsFiles === undefined) {
      broker.logger.info('SIGHUP: no TLS certificate to reload');
      return;
    }
    broker.reloadTls().catch((error: unknown) => {
      broker.logger.error({ err: error }, 'TLS certificate reload failed: keeping the old one');
    });
  });
  // A worker of --workers is stopped by its supervisor (SIGTERM): the terminal's Ctrl-C reaches
  // the whole process group, and must not count as a first signal here.
  if (cluster.isWorker) process.on('SIGINT', () => {});
  else process.on('SIGINT', () => stop('SIGINT'));
  return undefined;
}

main(process.argv.slice(2)).then(
  (status) => {
    if (status !== undefined) process.exitCode = status;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`mqtt-sessions: ${error.message}\n`);
      // Exit now: a store client that is still trying to connect must not keep the process up.
      process.exit(2);
    }
    process.stderr.write(`mqtt-sessions: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
