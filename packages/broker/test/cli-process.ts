import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

/** A process of the `mqtt-sessions` command, run from source, that has said it listens. */
export interface CliProcess {
  readonly child: ChildProcess;
  /** The MQTT port of the first listener that said so. */
  readonly port: number;
  /** Everything it wrote to stdout (its JSON log lines). */
  log(): string;
  /** Sends `signal` (once) and resolves with the exit code when the process has ended. */
  exit(signal: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `mqtt-sessions` from source with `args` on loopback (the WebSocket and metrics listeners
 * off, no `$SYS` timer), and resolves once `listening` brokers have logged that they listen: one,
 * or each worker of `--workers`. Rejects with its stderr when it exits first.
 */
export async function spawnCli(args: readonly string[], listening = 1): Promise<CliProcess> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=@mqtt-sessions/source',
      '--import',
      'tsx',
      cli,
      ...['--host', '127.0.0.1', '--ws-port', 'off', '--metrics-port', 'off'],
      ...['--sys-interval', '0', ...args],
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const lines = stdout.split('\n').filter((line) => line.includes('broker listening'));
      if (lines.length >= listening) resolve(JSON.parse(lines[0] as string).tcp);
    });
    child.once('exit', (code) => reject(new Error(`mqtt-sessions exited with ${code}: ${stderr}`)));
  });
  return {
    child,
    port,
    log: () => stdout,
    exit: async (signal) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      const exited = once(child, 'exit');
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}
