import type { MessageProperties } from '@mqtt-sessions/protocol';
import { expect, it } from 'vitest';
import { type KitContext, retained } from './harness.js';

/** Payload bytes and the stored PUBLISH properties come back unaltered. */
export function describePayloads(context: KitContext): void {
  it('a payload holding all 256 byte values comes back unchanged', async () => {
    const { store } = context;
    const payload = Buffer.alloc(512);
    for (let i = 0; i < payload.length; i++) payload[i] = i % 256;
    await store.set(retained('bin/all', payload));
    const message = await store.get('bin/all');
    expect(Buffer.isBuffer(message?.payload)).toBe(true);
    expect(message?.payload.equals(payload)).toBe(true);
    const page = await store.match('bin/+');
    expect(page.messages[0]?.payload.equals(payload)).toBe(true);
  });

  it('[MQTT-3.3.1-7] a one-byte payload 0x00 is stored while an empty one is not', async () => {
    const { store } = context;
    await store.set(retained('bin/zero', Buffer.from([0])));
    await store.set(retained('bin/empty', Buffer.alloc(0)));
    expect((await store.get('bin/zero'))?.payload).toEqual(Buffer.from([0]));
    expect(await store.get('bin/empty')).toBeUndefined();
    expect(await store.count()).toBe(1);
  });

  it('a 1 MiB payload comes back unchanged', async () => {
    const { store } = context;
    const payload = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
    await store.set(retained('bin/large', payload));
    expect((await store.get('bin/large'))?.payload.equals(payload)).toBe(true);
  });

  it('a stored message does not change when the caller reuses its buffers', async () => {
    const { store } = context;
    const payload = Buffer.from('original');
    const correlationData = Buffer.from([1, 2, 3]);
    await store.set(retained('bin/reuse', payload, 0, { correlationData }));
    payload.fill(0x21);
    correlationData.fill(0);
    const message = await store.get('bin/reuse');
    expect(message?.payload.toString()).toBe('original');
    expect(message?.properties.correlationData).toEqual(Buffer.from([1, 2, 3]));
  });

  it('[MQTT-3.3.2-4] the payload format indicator comes back unaltered', async () => {
    const { store } = context;
    await store.set(retained('p/text', 'hello', 0, { payloadFormatIndicator: true }));
    await store.set(retained('p/bytes', 'hello', 0, { payloadFormatIndicator: false }));
    expect((await store.get('p/text'))?.properties).toEqual({ payloadFormatIndicator: true });
    expect((await store.get('p/bytes'))?.properties).toEqual({ payloadFormatIndicator: false });
  });

  it('[MQTT-3.3.2-20] the content type comes back unaltered, an empty one too', async () => {
    const { store } = context;
    await store.set(retained('p/ct', '{}', 0, { contentType: 'application/json; charset=utf-8' }));
    await store.set(retained('p/empty', 'x', 0, { contentType: '' }));
    expect((await store.get('p/ct'))?.properties.contentType).toBe(
      'application/json; charset=utf-8',
    );
    expect((await store.get('p/empty'))?.properties).toEqual({ contentType: '' });
  });

  it('[MQTT-3.3.2-15] the response topic comes back unaltered', async () => {
    const { store } = context;
    await store.set(retained('p/rt', 'x', 0, { responseTopic: 'replies/client-7/häuser' }));
    expect((await store.get('p/rt'))?.properties.responseTopic).toBe('replies/client-7/häuser');
  });

  it('[MQTT-3.3.2-16] binary correlation data comes back unaltered', async () => {
    const { store } = context;
    const correlationData = Buffer.from([0, 255, 128, 10, 13, 0x22, 0x5c]);
    await store.set(retained('p/cd', 'x', 0, { correlationData }));
    const properties = (await store.get('p/cd'))?.properties;
    expect(Buffer.isBuffer(properties?.correlationData)).toBe(true);
    expect(properties?.correlationData).toEqual(correlationData);
  });

  it('[MQTT-3.3.2-17] [MQTT-3.3.2-18] user properties come back unaltered and in order', async () => {
    const { store } = context;
    const userProperties = { zeta: 'last-first', alpha: ['1', '2', '1'], 'mixed Case': 'ünï' };
    await store.set(retained('p/up', 'x', 0, { userProperties }));
    const stored = (await store.get('p/up'))?.properties.userProperties;
    expect(stored).toEqual(userProperties);
    expect(Object.keys(stored ?? {})).toEqual(['zeta', 'alpha', 'mixed Case']);
  });

  it('all six retained properties come back together', async () => {
    const { store, clock } = context;
    const properties: MessageProperties = {
      payloadFormatIndicator: true,
      contentType: 'text/plain',
      responseTopic: 'r/1',
      correlationData: Buffer.from('id-1'),
      userProperties: { k: 'v' },
      messageExpiryInterval: 60,
    };
    await store.set(retained('p/all', 'x', 2, properties));
    clock.advance(10_000);
    expect((await store.get('p/all'))?.properties).toEqual({
      ...properties,
      messageExpiryInterval: 50,
    });
  });

  it('only the six retained properties are stored, never topicAlias or subscriptionIdentifier', async () => {
    const { store } = context;
    const publishProperties = {
      contentType: 'text/plain',
      topicAlias: 3,
      subscriptionIdentifier: 12,
    } as MessageProperties;
    await store.set(retained('p/only', 'x', 0, publishProperties));
    expect((await store.get('p/only'))?.properties).toEqual({ contentType: 'text/plain' });
  });

  it('a message without properties comes back with an empty properties object', async () => {
    const { store } = context;
    await store.set(retained('p/none', 'x'));
    expect((await store.get('p/none'))?.properties).toEqual({});
  });

  it('[MQTT-3.3.2-18] keeps the encoded properties as given, byte for byte, and in a copy', async () => {
    const { store } = context;
    // User Properties a=1, b=2, a=3 and "2"=x, as a publisher encoded them: an order no object keeps.
    const pair = (name: string, value: string) =>
      Buffer.concat([
        Buffer.from([0x26, 0, name.length]),
        Buffer.from(name),
        Buffer.from([0, value.length]),
        Buffer.from(value),
      ]);
    const encoded = Buffer.concat([pair('a', '1'), pair('b', '2'), pair('a', '3'), pair('2', 'x')]);
    const given = Buffer.from(encoded);
    await store.set({
      topic: 'p/bytes',
      payload: Buffer.from('x'),
      qos: 1,
      properties: { userProperties: { a: ['1', '3'], b: '2', '2': 'x' } },
      propertyBytes: given,
    });
    given.fill(0); // the caller may reuse its buffer
    const stored = await store.get('p/bytes');
    expect(stored?.propertyBytes?.equals(encoded)).toBe(true);
    await store.set(retained('p/plain', 'x'));
    expect((await store.get('p/plain'))?.propertyBytes).toBeUndefined();
  });
}
