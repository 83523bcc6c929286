import { readFile } from 'node:fs/promises';
import type { BrokerOptions, OptionSpec } from './options.js';
import { envName, OPTION_SPECS } from './options.js';

/** A bad flag, variable or config file: the CLI prints the message and exits with status 2. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** What the command line asked for besides options. */
export interface ParsedCommandLine {
  readonly values: Map<string, string | true>;
  readonly positionals: string[];
  readonly configFile: string | undefined;
  readonly help: boolean;
  readonly version: boolean;
}

const BY_FLAG = new Map(OPTION_SPECS.map((spec) => [spec.flag, spec]));

/** Splits `--flag value`, `--flag=value` and bare boolean flags; unknown flags are errors. */
export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  const values = new Map<string, string | true>();
  const positionals: string[] = [];
  let configFile: string | undefined;
  let help = false;
  let version = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    // `pnpm start -- --help` passes the `--` on: it separates nothing here.
    if (arg === '--') continue;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    if (flag === '--help') help = true;
    else if (flag === '--version') version = true;
    else if (flag === '--config' || flag === '--password') {
      const value = inline ?? argv[++i];
      if (value === undefined) throw new ConfigError(`${flag} needs a value`);
      if (flag === '--config') configFile = value;
      else values.set('password', value);
    } else {
      const spec = BY_FLAG.get(flag);
      if (spec === undefined) throw new ConfigError(`unknown option ${flag} (see --help)`);
      if (inline !== undefined) values.set(spec.key, inline);
      else if (
        spec.type === 'boolean' &&
        (argv[i + 1] === undefined || argv[i + 1]?.startsWith('--'))
      )
        values.set(spec.key, true);
      else {
        const value = argv[++i];
        if (value === undefined) throw new ConfigError(`${flag} needs a value`);
        values.set(spec.key, value);
      }
    }
  }
  return { values, positionals, configFile, help, version };
}

/**
 * The broker options from, in order of precedence, command-line flags, `MQTT_SESSIONS_*`
 * environment variables and a JSON config file (`--config` or `MQTT_SESSIONS_CONFIG`).
 */
export async function loadConfig(
  commandLine: ParsedCommandLine,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Partial<BrokerOptions>> {
  const file = commandLine.configFile ?? env.MQTT_SESSIONS_CONFIG;
  const fromFile = file === undefined ? {} : await readConfigFile(file);
  const raw = new Map<string, unknown>();
  for (const spec of OPTION_SPECS) {
    const flag = commandLine.values.get(spec.key);
    const variable = env[envName(spec)];
    const configured = lookup(fromFile, spec.key);
    const value = flag ?? variable ?? configured;
    if (value !== undefined) raw.set(spec.key, convert(spec, value));
  }
  return toOptions(raw);
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${path}: ${(error as Error).message}`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null) throw new Error('not an object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`config file ${path} is not a JSON object: ${(error as Error).message}`);
  }
}

function lookup(config: Record<string, unknown>, key: string): unknown {
  if (!key.startsWith('session.')) return config[key];
  const session = config.session;
  return typeof session === 'object' && session !== null
    ? (session as Record<string, unknown>)[key.slice(8)]
    : undefined;
}

function convert(spec: OptionSpec, value: unknown): unknown {
  const where = spec.flag;
  switch (spec.type) {
    case 'string':
      if (typeof value !== 'string' || value.length === 0)
        throw new ConfigError(`${where} needs a text value`);
      return value;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === true || ['true', '1', 'yes', 'on'].includes(String(value))) return true;
      if (['false', '0', 'no', 'off'].includes(String(value))) return false;
      throw new ConfigError(`${where} must be true or false, not ${String(value)}`);
    case 'port':
      if (value === false || ['off', 'false', 'no'].includes(String(value))) return false;
      return integer(where, value, 65535);
    case 'number':
      return integer(where, value, Number.MAX_SAFE_INTEGER);
    case 'choice':
      if (!spec.choices?.includes(String(value))) {
        throw new ConfigError(
          `${where} must be one of ${spec.choices?.join(', ')}, not ${String(value)}`,
        );
      }
      return String(value);
  }
}

function integer(where: string, value: unknown, max: number): number {
  const number = typeof value === 'number' ? value : Number(String(value));
  if (!Number.isInteger(number) || number < 0 || number > max) {
    throw new ConfigError(`${where} must be a whole number from 0 to ${max}, not ${String(value)}`);
  }
  return number;
}

async function toOptions(raw: Map<string, unknown>): Promise<Partial<BrokerOptions>> {
  const options: Record<string, unknown> = {};
  const session: Record<string, unknown> = {};
  for (const [key, value] of raw) {
    if (key.startsWith('session.')) session[key.slice(8)] = value;
    else if (key !== 'tlsCert' && key !== 'tlsKey' && key !== 'tlsCa') options[key] = value;
  }
  if (Object.keys(session).length > 0) options.session = session;
  const cert = raw.get('tlsCert') as string | undefined;
  const key = raw.get('tlsKey') as string | undefined;
  const ca = raw.get('tlsCa') as string | undefined;
  if ((cert === undefined) !== (key === undefined))
    throw new ConfigError('--tls-cert and --tls-key go together');
  if (cert !== undefined && key !== undefined) {
    options.tls = {
      cert: await readPem(cert),
      key: await readPem(key),
      ca: ca === undefined ? undefined : await readPem(ca),
    };
  }
  return options as Partial<BrokerOptions>;
}

async function readPem(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** The text of `--help`: every option with its environment variable and default. */
export function helpText(): string {
  const lines = [
    'Usage: mqtt-sessions [start] [options]',
    '       mqtt-sessions passwd <users-file> <username> [--password <password>]',
    '',
    'Starts an MQTT 5 and 3.1.1 broker. Options come from flags, then MQTT_SESSIONS_* environment',
    'variables, then a JSON config file (--config <file> or MQTT_SESSIONS_CONFIG); session.* keys',
    'of the config file go in a "session" object.',
    '',
    'Options:',
  ];
  const width = Math.max(...OPTION_SPECS.map((spec) => spec.flag.length)) + 2;
  for (const spec of OPTION_SPECS) {
    lines.push(`  ${spec.flag.padEnd(width)}${spec.description} (default ${spec.defaultText})`);
    lines.push(`  ${''.padEnd(width)}env ${envName(spec)}`);
  }
  lines.push(`  ${'--config'.padEnd(width)}JSON config file`);
  lines.push(`  ${'--help'.padEnd(width)}show this text`);
  lines.push(`  ${'--version'.padEnd(width)}show the version`);
  lines.push(
    '',
    'passwd adds a user to a users file or changes their password; without --password it reads',
    'the password from MQTT_SESSIONS_PASSWORD, else asks twice on a terminal without echoing, else',
    'takes the first line of standard input.',
  );
  return `${lines.join('\n')}\n`;
}
