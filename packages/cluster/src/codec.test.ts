import { describe, expect, it } from 'vitest';
import {
  decodeForwarded,
  decodeWill,
  encodeForwarded,
  encodeWill,
  packBatch,
  unpackBatch,
} from './codec.js';

describe('the forwarded-message codec', () => {
  it('carries every field, bytes as bytes, and user properties that look like its own encoding', () => {
    const properties = {
      contentType: 'text/plain',
      correlationData: Buffer.from([0, 255, 1]),
      // Names a generic bytes-as-JSON scheme would take for its own.
      userProperties: { $b: 'aGk=', type: 'Buffer', data: ['1', '2'] },
    };
    const bytes = encodeForwarded(
      'pool-1',
      {
        topic: 'a/b',
        payload: Buffer.from([1, 2, 3]),
        qos: 2,
        retain: true,
        properties,
        propertyBytes: Buffer.from([9, 8]),
        expiresAt: 1234,
        sender: {},
        senderContext: undefined,
        wireCache: undefined,
      },
      { group: 'g', filter: 'a/+' },
      'node-a',
    );
    const { pool, message, shared } = decodeForwarded(bytes);
    expect(pool).toBe('pool-1');
    expect(shared).toEqual({ group: 'g', filter: 'a/+' });
    expect(message).toMatchObject({
      topic: 'a/b',
      payload: Buffer.from([1, 2, 3]),
      qos: 2,
      retain: true,
      propertyBytes: Buffer.from([9, 8]),
      expiresAt: 1234,
      origin: 'node-a',
      sender: undefined,
    });
    expect(message.properties).toEqual(properties);
  });

  it('keeps a Will with its bytes', () => {
    const will = {
      topic: 'wills/x',
      payload: Buffer.from('gone'),
      qos: 1 as const,
      retain: false,
      properties: { correlationData: Buffer.from([7]), userProperties: { $b: 'x' } },
      propertyBytes: undefined,
      delayInterval: 5,
    };
    expect(decodeWill(encodeWill(will))).toEqual(will);
  });
});

describe('batches of forwarded messages', () => {
  it('packs messages into one entry and unpacks them in order', () => {
    const messages = [Buffer.from('one'), Buffer.alloc(0), Buffer.from([0, 1, 2, 255])];
    expect(unpackBatch(packBatch(messages))).toEqual(messages);
  });

  it('refuses a batch that is cut short', () => {
    const packed = packBatch([Buffer.from('a whole message')]);
    expect(() => unpackBatch(packed.subarray(0, packed.length - 1))).toThrow(/cut short/);
  });
});
