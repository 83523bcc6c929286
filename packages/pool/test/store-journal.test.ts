import { createMemorySessionStore, type SessionChange } from '@mqtt-sessions/session-store';
import { storedMessage, storedSession } from '@mqtt-sessions/session-store/testkit';
import { describe, expect, it } from 'vitest';
import { withoutSuperseded } from '../src/store-journal.js';

const key = { pool: 'p', clientId: 'c' };
const other = { pool: 'p', clientId: 'd' };

describe('withoutSuperseded', () => {
  it('keeps the last write of a message, and drops one acknowledged in the same batch', () => {
    const queued = { type: 'message', key, message: storedMessage(1) } as const;
    const sent = {
      type: 'message',
      key,
      message: storedMessage(1, { stage: 'await-puback' }),
    } as const;
    const done = { type: 'message-done', key, seq: 2 } as const;
    const changes: SessionChange[] = [
      queued,
      { type: 'message', key, message: storedMessage(2) },
      { type: 'message', key: other, message: storedMessage(1) },
      sent,
      done,
    ];
    expect(withoutSuperseded(changes)).toEqual([changes[2], sent, done]);
    const untouched: SessionChange[] = [queued, { type: 'message-done', key, seq: 9 }];
    expect(withoutSuperseded(untouched)).toBe(untouched);
  });

  it('leaves a store in the same state as the whole batch would, over random batches', async () => {
    let state = 7;
    const next = (n: number) => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % n;
    };
    for (let round = 0; round < 200; round++) {
      const keys = [key, other];
      const changes: SessionChange[] = [
        { type: 'session', session: storedSession('c', { pool: 'p' }) },
        { type: 'session', session: storedSession('d', { pool: 'p' }) },
      ];
      for (let i = 0; i < 30; i++) {
        const which = keys[next(2)] as typeof key;
        const seq = 1 + next(4);
        const roll = next(10);
        if (roll < 5)
          changes.push({
            type: 'message',
            key: which,
            message: storedMessage(seq, { stage: roll < 3 ? 'queued' : 'await-puback' }),
          });
        else if (roll < 8) changes.push({ type: 'message-done', key: which, seq });
        else if (roll < 9) changes.push({ type: 'delete', key: which });
        else
          changes.push({
            type: 'session',
            session: storedSession(which.clientId, { pool: 'p' }),
          });
      }
      // Half the rounds start from messages stored by an earlier batch.
      const before: SessionChange[] =
        round % 2 === 0
          ? []
          : [
              changes[0] as SessionChange,
              { type: 'message', key, message: storedMessage(1) },
              { type: 'message', key, message: storedMessage(3) },
            ];
      const whole = createMemorySessionStore();
      const filtered = createMemorySessionStore();
      await whole.apply(before);
      await filtered.apply(before);
      await whole.apply(changes);
      await filtered.apply(withoutSuperseded(changes));
      for (const k of keys) expect(await filtered.load(k)).toEqual(await whole.load(k));
    }
  });
});
