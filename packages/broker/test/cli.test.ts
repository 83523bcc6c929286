import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { OPTION_SPECS, type OptionSpec, parseCommandLine } from '../src/index.js';
import { envName } from '../src/options.js';
import { connectClient, startBroker } from './helpers.js';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

/** Runs the CLI from its TypeScript source, resolving sibling packages to their sources too. */
function run(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(
    process.execPath,
    ['--conditions=@mqtt-sessions/source', '--import', 'tsx', cli, ...args],
    {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  return child;
}

async function output(
  child: ChildProcess,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const [code] = await once(child, 'exit');
  return { code, stdout, stderr };
}

/** Waits for the broker's "listening" log line and returns the ports it reports. */
function listening(child: ChildProcess): Promise<{ tcp: number; metrics?: number }> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      for (const line of buffer.split('\n')) {
        if (line.includes('broker listening')) resolve(JSON.parse(line));
      }
    });
    child.once('exit', (code) => reject(new Error(`the broker exited with ${code}`)));
  });
}

describe('the mqtt-sessions command', () => {
  it('--help lists every option with its environment variable', async () => {
    const { code, stdout } = await output(run(['--help']));
    expect(code).toBe(0);
    for (const spec of OPTION_SPECS) expect(stdout).toContain(spec.flag);
    expect(stdout).toContain('MQTT_SESSIONS_WS_PORT');
    expect(stdout).toContain('passwd');
  });

  it('names every flag explicitly, in lower-case words: --maximum-qos, not --maximum-qo-s', async () => {
    for (const spec of OPTION_SPECS)
      expect(spec.flag).toMatch(/^--[a-z][a-z0-9]+(-[a-z][a-z0-9]+)*$/);
    expect(parseCommandLine(['--maximum-qos', '1']).values.get('session.maximumQoS')).toBe('1');
    expect(envName(OPTION_SPECS.find((spec) => spec.flag === '--maximum-qos') as OptionSpec)).toBe(
      'MQTT_SESSIONS_MAXIMUM_QOS',
    );
  });

  it('ignores a bare -- (as `pnpm start -- --help` passes it on)', async () => {
    const { code, stdout } = await output(run(['--', '--help']));
    expect(code).toBe(0);
    expect(stdout).toContain('Usage: mqtt-sessions');
  });

  it('refuses an unknown option with status 2', async () => {
    const { code, stderr } = await output(run(['--no-such-thing']));
    expect(code).toBe(2);
    expect(stderr).toContain('unknown option --no-such-thing');
  });

  it('starts from flags and environment, and exits 0 on SIGTERM after DISCONNECT 0x8B', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mqtt-sessions-cli-'));
    const child = run(
      ['--host', '127.0.0.1', '--port', '0', '--ws-port', 'off', '--sys-interval', '0'],
      {
        MQTT_SESSIONS_METRICS_PORT: 'off',
        MQTT_SESSIONS_DATA_DIR: dataDir,
      },
    );
    const ports = await listening(child);
    expect(ports.metrics).toBeUndefined();
    const client = await connectClient(`mqtt://127.0.0.1:${ports.tcp}`, { protocolVersion: 5 });
    const disconnect = new Promise<number | undefined>((resolve) =>
      client.once('disconnect', (packet) => resolve(packet.reasonCode)),
    );
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    expect(await disconnect).toBe(0x8b);
    const [code] = await exited;
    expect(code).toBe(0);
    client.end(true);
  }, 20_000);

  it('is durable by default: says where the data lives, and refuses a second broker on it with status 2', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'mqtt-sessions-cli-'));
    const args = [
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--ws-port',
      'off',
      '--metrics-port',
      'off',
    ];
    const first = run([...args, '--data-dir', dataDir]);
    let log = '';
    first.stdout?.on('data', (chunk) => {
      log += chunk;
    });
    await listening(first);
    const data = JSON.parse(log.split('\n').find((line) => line.includes('broker data')) ?? '{}');
    const file = join(dataDir, 'mqtt-sessions.sqlite');
    expect(data).toMatchObject({
      sessions: `${file} (durability normal)`,
      retained: `${file} (durability normal)`,
    });

    const second = await output(run([...args, '--data-dir', dataDir]));
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`is locked by process ${first.pid}`);
    expect(second.stderr).toContain('only one broker may use a data directory at a time');
  }, 20_000);

  it('refuses a data directory it cannot create with status 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mqtt-sessions-cli-'));
    const notADirectory = join(dir, 'file');
    await writeFile(notADirectory, 'in the way');
    const { code, stderr } = await output(
      run(['--port', '0', '--ws-port', 'off', '--data-dir', join(notADirectory, 'data')]),
    );
    expect(code).toBe(2);
    expect(stderr).toContain('cannot be written');
  });

  it('refuses an unknown store with status 2', async () => {
    const { code, stderr } = await output(run(['--store', 'postgres']));
    expect(code).toBe(2);
    expect(stderr).toContain('--store must be one of memory, sqlite, redis, not postgres');
  });

  it('passwd adds a user whose password the broker then checks', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mqtt-sessions-cli-'));
    const usersFile = join(dir, 'users');
    const { code, stdout } = await output(
      run(['passwd', usersFile, 'alice', '--password', 's3cret']),
    );
    expect(code).toBe(0);
    expect(stdout).toContain('user alice saved');
    const stored = await readFile(usersFile, 'utf8');
    expect(stored).toMatch(/^alice:scrypt\$/);
    expect(stored).not.toContain('s3cret');
    const broker = await startBroker({ usersFile, wsPort: false });
    try {
      const url = `mqtt://127.0.0.1:${broker.addresses().tcp}`;
      const good = await connectClient(url, { username: 'alice', password: 's3cret' });
      good.end(true);
      await expect(
        connectClient(url, { protocolVersion: 5, username: 'alice', password: 'wrong' }),
      ).rejects.toMatchObject({ code: 0x86 });
      await expect(connectClient(url, { protocolVersion: 5 })).rejects.toMatchObject({
        code: 0x87,
      });
    } finally {
      await broker.close();
    }
  }, 20_000);

  it('passwd reads the password from standard input, a line at a time', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mqtt-sessions-cli-'));
    const usersFile = join(dir, 'users');
    const child = run(['passwd', usersFile, 'bob']);
    const done = output(child);
    // The line comes after stdin opened, as a slow pipe would give it.
    setTimeout(() => child.stdin?.end('pa ss\r\nignored second line\n'), 100);
    const { code, stdout, stderr } = await done;
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('user bob saved');
    const broker = await startBroker({ usersFile, wsPort: false });
    try {
      const url = `mqtt://127.0.0.1:${broker.addresses().tcp}`;
      const good = await connectClient(url, { username: 'bob', password: 'pa ss' });
      good.end(true);
    } finally {
      await broker.close();
    }
  }, 20_000);

  it('passwd refuses an empty standard input with status 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mqtt-sessions-cli-'));
    const child = run(['passwd', join(dir, 'users'), 'bob']);
    child.stdin?.end();
    const { code, stderr } = await output(child);
    expect(code).toBe(2);
    expect(stderr).toContain('the password must not be empty');
  });

  it('prints the URLs, binds metrics to loopback and warns when anyone may connect', async () => {
    const child = run([
      ...['--host', '0.0.0.0', '--port', '0', '--ws-port', '0', '--metrics-port', '0'],
      ...['--sys-interval', '0', '--store', 'memory'],
    ]);
    let log = '';
    child.stdout?.on('data', (chunk) => {
      log += chunk;
    });
    const ports = await listening(child);
    const lines = log.split('\n').filter((line) => line.startsWith('{'));
    const listened = JSON.parse(lines.find((line) => line.includes('broker listening')) as string);
    expect(listened.urls).toEqual([
      `mqtt://localhost:${ports.tcp}`,
      `ws://localhost:${listened.ws}/mqtt`,
      `http://127.0.0.1:${ports.metrics}/metrics`,
    ]);
    for (let i = 0; i < 40 && !log.includes('can connect from the network'); i++)
      await new Promise((resolve) => setTimeout(resolve, 25));
    const warning = log.split('\n').find((line) => line.includes('can connect from the network'));
    expect(JSON.parse(warning as string).level).toBe(40);
    const health = await fetch(`http://127.0.0.1:${ports.metrics}/healthz`);
    expect(health.status).toBe(200);
    child.kill('SIGTERM');
    await once(child, 'exit');
  });

  it('does not warn on loopback', async () => {
    const child = run([
      ...['--host', '127.0.0.1', '--port', '0', '--ws-port', 'off', '--metrics-port', 'off'],
      ...['--sys-interval', '0', '--store', 'memory'],
    ]);
    let log = '';
    child.stdout?.on('data', (chunk) => {
      log += chunk;
    });
    await listening(child);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(log).not.toContain('can connect from the network');
    child.kill('SIGTERM');
    await once(child, 'exit');
  });

  it('refuses a missing users file with status 2 and a message, not a stack trace', async () => {
    const { code, stderr } = await output(
      run(['--port', '0', '--store', 'memory', '--users-file', '/nonexistent/users.txt']),
    );
    expect(code).toBe(2);
    expect(stderr).toContain('/nonexistent/users.txt');
    expect(stderr).not.toContain('    at ');
  });
});
