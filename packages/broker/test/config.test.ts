import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helpText, loadConfig, parseCommandLine } from '../src/config.js';
import { OPTION_GROUPS, OPTION_SPECS } from '../src/options.js';
import { closestName } from '../src/suggest.js';

async function configFile(content: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mqtt-sessions-config-'));
  const file = join(dir, 'broker.json');
  await writeFile(file, JSON.stringify(content));
  return file;
}

async function load(argv: string[], env: NodeJS.ProcessEnv = {}) {
  return loadConfig(parseCommandLine(argv), env);
}

describe('config hygiene', () => {
  it.each([
    [{ maxQueud: 10 }, 'unknown key "maxQueud" (did you mean session.maxQueued?)'],
    [{ maximumQos: 1 }, 'unknown key "maximumQos" (did you mean session.maximumQoS?)'],
    [{ 'ws-port': 8080 }, 'unknown key "ws-port" (did you mean wsPort?)'],
    [
      { session: { maxQueud: 10 } },
      'unknown key "session.maxQueud" (did you mean session.maxQueued?)',
    ],
    [{ session: 5 }, '"session" must be an object'],
    [{ frobnicate: true }, 'unknown key "frobnicate"'],
  ])('refuses the config file %j', async (content, message) => {
    const file = await configFile(content);
    await expect(load(['--config', file])).rejects.toThrow(message);
  });

  it('takes known keys from a config file, session keys inside "session"', async () => {
    const file = await configFile({ wsPort: false, session: { maximumQoS: 1 } });
    const options = await load(['--config', file]);
    expect(options.wsPort).toBe(false);
    expect(options.session?.maximumQoS).toBe(1);
  });

  it('refuses an unknown MQTT_SESSIONS_ variable with a hint, and ignores other variables', async () => {
    await expect(load([], { MQTT_SESSIONS_MAX_QUEUD: '5' })).rejects.toThrow(
      'unknown environment variable MQTT_SESSIONS_MAX_QUEUD (did you mean MQTT_SESSIONS_MAX_QUEUED?)',
    );
    const options = await load([], {
      MQTT_SESSIONS_MAX_QUEUED: '5',
      MQTT_OTHER: 'x',
      PATH: '/bin',
    });
    expect(options.session?.maxQueued).toBe(5);
  });

  it('suggests the closest flag for an unknown one', () => {
    expect(() => parseCommandLine(['--max-queud', '5'])).toThrow(
      'unknown option --max-queud (did you mean --max-queued?)',
    );
    expect(() => parseCommandLine(['--zzzzzz'])).toThrow('unknown option --zzzzzz (see --help)');
  });

  it.each([
    ['--max-queued-bytes', '64KB', 65_536],
    ['--max-queued-bytes', '500mb', 500 * 1024 * 1024],
    ['--queue-budget', '1GiB', 1024 ** 3],
    ['--queue-budget', '1.5KB', 1536],
    ['--max-queued-bytes', '4096', 4096],
    ['--shutdown-timeout-ms', '20s', 20_000],
    ['--shutdown-timeout-ms', '5m', 300_000],
    ['--shutdown-timeout-ms', '250ms', 250],
    ['--shutdown-timeout-ms', '250', 250],
    ['--sys-interval', '1m', 60],
    ['--sys-interval', '30', 30],
    ['--max-session-expiry', '1d', 86_400],
  ])('reads %s %s as %d', async (flag, value, expected) => {
    const options = await load([flag, value]);
    const spec = OPTION_SPECS.find((option) => option.flag === flag);
    const key = spec?.key as string;
    const actual = key.startsWith('session.')
      ? (options.session as Record<string, unknown>)[key.slice(8)]
      : (options as Record<string, unknown>)[key];
    expect(actual).toBe(expected);
  });

  it.each([
    ['--max-queued-bytes', '64XB'],
    ['--max-queued-bytes', '-1KB'],
    ['--sys-interval', '1500ms'],
    ['--sys-interval', '5 minutes'],
    ['--max-queued', '5KB'],
  ])('refuses %s %s', async (flag, value) => {
    await expect(load([flag, value])).rejects.toThrow(`${flag} must be a whole number`);
  });

  it('groups --help by subject and shows each value type', () => {
    const help = helpText();
    const titles = Object.values(OPTION_GROUPS).map((title) => help.indexOf(`\n${title}:\n`));
    expect(titles.every((at) => at > 0)).toBe(true);
    expect(titles).toEqual([...titles].sort((a, b) => a - b));
    expect(help).toContain('--max-queued-bytes <size>');
    expect(help).toContain('--shutdown-timeout-ms <duration>');
    expect(help).toContain('--store <memory|sqlite|redis>');
    expect(help).toContain('--tls-cert <file>');
    for (const spec of OPTION_SPECS) expect(OPTION_GROUPS[spec.group]).toBeDefined();
  });

  it('does not suggest a name that is far off', () => {
    expect(closestName('wsport', ['wsPort', 'port'])).toBe('wsPort');
    expect(closestName('retention', ['wsPort', 'port'])).toBeUndefined();
  });
});
