import type { SessionChange, SessionKey } from '@mqtt-sessions/session-store';
import { storedMessage, storedSession } from '@mqtt-sessions/session-store/testkit';

/** Every byte value, and byte sequences that are not UTF-8. */
export const BINARY = Buffer.concat([
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
  Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x28, 0x8c, 0xbc, 0xff, 0xfe]),
]);

/** A session with a Will and `messages` queued messages in `pool`. */
export function sessionWithMessages(
  pool: string,
  clientId: string,
  messages: number,
  payload = Buffer.from('payload'),
): SessionChange[] {
  const key: SessionKey = { pool, clientId };
  return [
    { type: 'session', session: storedSession(clientId, { pool }) },
    ...Array.from({ length: messages }, (_, i) => ({
      type: 'message' as const,
      key,
      message: storedMessage(i + 1, { payload }),
    })),
  ];
}
