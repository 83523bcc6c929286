import { expect, it } from 'vitest';
import { createPool } from '../src/index.js';
import { ManualTimers, recordError, TestClient } from './helpers.js';

it('connects, subscribes, publishes and receives', () => {
  const timers = new ManualTimers();
  const pool = createPool({ timers, onError: recordError });
  const a = new TestClient(pool);
  const connack = a.connect({ clientId: 'a' });
  expect(connack).toMatchObject({ reasonCode: 0, sessionPresent: false });
  a.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 't/+', qos: 1 }] });
  expect(a.next('suback')).toMatchObject({ messageId: 1, granted: [1] });
  const b = new TestClient(pool);
  b.connect({ clientId: 'b' });
  b.send({
    cmd: 'publish',
    topic: 't/1',
    payload: Buffer.from('hi'),
    qos: 1,
    messageId: 7,
    retain: false,
    dup: false,
  });
  expect(b.next('puback')).toMatchObject({ messageId: 7, reasonCode: 0 });
  const got = a.next('publish');
  expect(got).toMatchObject({ topic: 't/1', qos: 1 });
  expect(got.payload.toString()).toBe('hi');
});
