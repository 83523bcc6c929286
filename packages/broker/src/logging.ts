import type { SessionEvent } from '@mqtt-sessions/session';
import { type Logger, pino } from 'pino';

/** How log lines look: JSON for machines, text for people, or text only on a terminal. */
export type LogFormat = 'auto' | 'json' | 'pretty';

/**
 * A pino logger on stdout at the given level: JSON lines, or readable lines (`pretty`, and
 * `auto` when stdout is a terminal).
 */
export function createLogger(
  level: string,
  format: LogFormat = 'json',
  out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout,
): Logger {
  const pretty = format === 'pretty' || (format === 'auto' && out.isTTY === true);
  const options = { level, base: { name: 'mqtt-sessions' } };
  return pretty
    ? pino(options, { write: (line: string) => out.write(prettyLine(line)) })
    : out === process.stdout
      ? pino(options) // pino's own fast stdout destination
      : pino(options, out);
}

const LEVEL_NAMES: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO ',
  40: 'WARN ',
  50: 'ERROR',
  60: 'FATAL',
};

/**
 * One JSON log line as text: `12:34:56.789 INFO  message key=value ...`. Written here rather than
 * with pino-pretty, whose worker thread and dependencies would cost every broker at start.
 */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { level, time, msg, pid: _pid, hostname: _hostname, name: _name, err, ...rest } = entry;
  const when = new Date(typeof time === 'number' ? time : Date.now()).toISOString().slice(11, 23);
  const fields = Object.entries(rest).map(([key, value]) => `${key}=${text(value)}`);
  const error = err === undefined ? '' : `\n  ${text((err as { stack?: unknown }).stack ?? err)}`;
  return `${when} ${LEVEL_NAMES[level as number] ?? String(level)} ${String(msg ?? '')}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}${error}\n`;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Turns session events into log lines: connects, disconnects with reasons, refusals, limits hit. */
export function logSessionEvent(
  logger: Logger,
  event: SessionEvent & { readonly pool: string },
): void {
  switch (event.type) {
    case 'connected':
      // Connects and disconnects are info lines: at warn (the broker's usual level) the fields
      // are not even gathered, which a connection storm would pay for per connect.
      if (!logger.isLevelEnabled('info')) return;
      logger.info(
        {
          pool: event.pool,
          clientId: event.clientId,
          protocolVersion: event.protocolVersion,
          sessionPresent: event.sessionPresent,
          peer: event.peerIp,
        },
        'client connected',
      );
      return;
    case 'disconnected':
      if (!logger.isLevelEnabled('info')) return;
      logger.info(
        {
          pool: event.pool,
          clientId: event.clientId,
          reasonCode: hex(event.reasonCode),
          reason: event.reason,
        },
        'client disconnected',
      );
      return;
    case 'refused':
      logger.warn(
        {
          pool: event.pool,
          clientId: event.clientId,
          reasonCode: hex(event.reasonCode),
          reason: event.reason,
          peer: event.peerIp,
        },
        'connection refused',
      );
      return;
    case 'dropped':
      logger.warn(
        { pool: event.pool, clientId: event.clientId, reason: event.reason, count: event.count },
        'messages dropped',
      );
      return;
    case 'session-ended':
      if (!logger.isLevelEnabled('debug')) return;
      logger.debug(
        { pool: event.pool, clientId: event.clientId, reason: event.reason },
        'session ended',
      );
  }
}

function hex(code: number | undefined): string | undefined {
  return code === undefined ? undefined : `0x${code.toString(16).padStart(2, '0')}`;
}
