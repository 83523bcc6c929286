import { readFile } from 'node:fs/promises';
import type { BrokerOptions, OptionSpec, TlsFiles, TlsMaterial } from './options.js';
import { envName, OPTION_GROUPS, OPTION_SPECS } from './options.js';
import { didYouMean } from './suggest.js';

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
      if (spec === undefined) {
        const hint = didYouMean(flag, [...BY_FLAG.keys(), '--config', '--help', '--version']);
        throw new ConfigError(`unknown option ${flag}${hint || ' (see --help)'}`);
      }
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
  checkConfigKeys(fromFile, file ?? '');
  checkEnvironment(env);
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

/** Names a config file may use: option keys, with `session.*` ones inside a `session` object. */
const TOP_LEVEL_KEYS = new Set(
  OPTION_SPECS.filter((spec) => !spec.key.startsWith('session.')).map((spec) => spec.key),
);
const SESSION_KEYS = new Set(
  OPTION_SPECS.filter((spec) => spec.key.startsWith('session.')).map((spec) => spec.key.slice(8)),
);
const CONFIG_NAMES = [...TOP_LEVEL_KEYS, ...[...SESSION_KEYS].map((key) => `session.${key}`)];

/** A key a config file does not know is a typo, not a setting to ignore. */
function checkConfigKeys(config: Record<string, unknown>, file: string): void {
  for (const key of Object.keys(config)) {
    if (TOP_LEVEL_KEYS.has(key)) continue;
    if (key === 'session') {
      const session = config.session;
      if (typeof session !== 'object' || session === null || Array.isArray(session))
        throw new ConfigError(`config file ${file}: "session" must be an object`);
      for (const inner of Object.keys(session)) {
        if (!SESSION_KEYS.has(inner))
          throw new ConfigError(
            `config file ${file}: unknown key "session.${inner}"${didYouMean(inner, CONFIG_NAMES)}`,
          );
      }
      continue;
    }
    throw new ConfigError(
      `config file ${file}: unknown key "${key}"${didYouMean(key, CONFIG_NAMES)}`,
    );
  }
}

/** The variables the broker reads besides the options'. */
const OTHER_VARIABLES = ['MQTT_SESSIONS_CONFIG', 'MQTT_SESSIONS_PASSWORD'];
const VARIABLES = new Set([...OPTION_SPECS.map(envName), ...OTHER_VARIABLES]);

/** An `MQTT_SESSIONS_*` variable that names no option is a typo too. */
function checkEnvironment(env: NodeJS.ProcessEnv): void {
  for (const name of Object.keys(env)) {
    if (name.startsWith('MQTT_SESSIONS_') && !VARIABLES.has(name))
      throw new ConfigError(`unknown environment variable ${name}${didYouMean(name, VARIABLES)}`);
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
    case 'bytes':
      return integer(where, withUnit(value, BYTE_UNITS), Number.MAX_SAFE_INTEGER, value);
    case 'seconds':
      return integer(where, withUnit(value, SECOND_UNITS), Number.MAX_SAFE_INTEGER, value);
    case 'milliseconds':
      return integer(where, withUnit(value, MILLISECOND_UNITS), Number.MAX_SAFE_INTEGER, value);
    case 'choice':
      if (!spec.choices?.includes(String(value))) {
        throw new ConfigError(
          `${where} must be one of ${spec.choices?.join(', ')}, not ${String(value)}`,
        );
      }
      return String(value);
  }
}

function integer(where: string, value: unknown, max: number, given: unknown = value): number {
  const number = typeof value === 'number' ? value : Number(String(value));
  if (!Number.isInteger(number) || number < 0 || number > max) {
    throw new ConfigError(`${where} must be a whole number from 0 to ${max}, not ${String(given)}`);
  }
  return number;
}

const KIB = 1024;
/** Size suffixes, case-insensitive; KB and KiB alike are 1024 bytes, as operators mean them. */
const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: KIB,
  kib: KIB,
  mb: KIB ** 2,
  mib: KIB ** 2,
  gb: KIB ** 3,
  gib: KIB ** 3,
};
const SECOND_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
const MILLISECOND_UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/**
 * A number with an optional unit (`64KB`, `1.5s`) in the option's base unit; a plain number is
 * already in it. Anything else comes back as it is, for {@link integer} to refuse.
 */
function withUnit(value: unknown, units: Record<string, number>): unknown {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(String(value));
  if (match === null) return value;
  const [, amount, unit = ''] = match;
  if (unit === '') return Number(amount);
  const factor = units[unit.toLowerCase()];
  return factor === undefined ? value : Math.round(Number(amount) * factor * 1e6) / 1e6;
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
    options.tlsFiles = { cert, key, ca };
    options.tls = await readTlsFiles(options.tlsFiles as TlsFiles);
  } else if (ca !== undefined) throw new ConfigError('--tls-ca needs --tls-cert and --tls-key');
  return options as Partial<BrokerOptions>;
}

/** Reads a listener's certificate, key and CA; a file that cannot be read is a ConfigError. */
export async function readTlsFiles(files: TlsFiles): Promise<TlsMaterial> {
  return {
    cert: await readPem(files.cert),
    key: await readPem(files.key),
    ca: files.ca === undefined ? undefined : await readPem(files.ca),
  };
}

async function readPem(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
}

/** How an option is written, with a placeholder for its value: `--max-queued-bytes <size>`. */
function usage(spec: OptionSpec): string {
  switch (spec.type) {
    case 'boolean':
      return `${spec.flag} [true|false]`;
    case 'choice':
      return `${spec.flag} <${spec.choices?.join('|')}>`;
    case 'port':
      return `${spec.flag} <port|off>`;
    case 'bytes':
      return `${spec.flag} <size>`;
    case 'seconds':
    case 'milliseconds':
      return `${spec.flag} <duration>`;
    case 'number':
      return `${spec.flag} <n>`;
    case 'string':
      return `${spec.flag} <${/(File|Cert|Key|Ca)$/.test(spec.key) ? 'file' : /Dir$/.test(spec.key) ? 'dir' : /Url$/.test(spec.key) ? 'url' : 'text'}>`;
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
    'Sizes take a unit (64KB, 500MB, 1GB; powers of 1024) and durations one (500ms, 20s, 5m, 1h);',
    'a plain number is in the unit the option names.',
    '',
  ];
  for (const [group, title] of Object.entries(OPTION_GROUPS)) {
    lines.push(`${title}:`);
    for (const spec of OPTION_SPECS.filter((option) => option.group === group)) {
      lines.push(`  ${usage(spec)}`);
      lines.push(`      ${spec.description} (default ${spec.defaultText}; env ${envName(spec)})`);
    }
    lines.push('');
  }
  lines.push('Other:');
  lines.push('  --config <file>', '      JSON config file (env MQTT_SESSIONS_CONFIG)');
  lines.push('  --help', '      show this text');
  lines.push('  --version', '      show the version');
  lines.push(
    '',
    'passwd adds a user to a users file or changes their password; without --password it reads',
    'the password from MQTT_SESSIONS_PASSWORD, else asks twice on a terminal without echoing, else',
    'takes the first line of standard input.',
  );
  return `${lines.join('\n')}\n`;
}
