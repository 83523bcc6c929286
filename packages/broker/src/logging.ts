import type { SessionEvent } from '@mqtt-sessions/session';
import { type Logger, pino } from 'pino';

/** A pino logger writing JSON lines to stdout at the given level. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { name: 'mqtt-sessions' } });
}

/** Turns session events into log lines: connects, disconnects with reasons, refusals, limits hit. */
export function logSessionEvent(
  logger: Logger,
  event: SessionEvent & { readonly pool: string },
): void {
  switch (event.type) {
    case 'connected':
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
      logger.debug(
        { pool: event.pool, clientId: event.clientId, reason: event.reason },
        'session ended',
      );
  }
}

function hex(code: number | undefined): string | undefined {
  return code === undefined ? undefined : `0x${code.toString(16).padStart(2, '0')}`;
}
