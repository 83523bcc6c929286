import { describe, expect, it } from 'vitest';
import { createClientId, createRoutingId, ID_ALPHABET } from '../src/index.js';

const ID_PATTERN = /^[a-zA-Z0-9]{20}$/;

describe('createClientId', () => {
  it('makes 20 characters of [a-zA-Z0-9], a valid id for every server [MQTT-3.1.3-5]', () => {
    for (let i = 0; i < 1000; i++) expect(createClientId()).toMatch(ID_PATTERN);
  });

  it('never repeats itself over many ids', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) ids.add(createClientId());
    expect(ids.size).toBe(10_000);
  });

  it('uses all 62 characters, each about equally often', () => {
    const counts = new Map<string, number>();
    const ids = 20_000;
    for (let i = 0; i < ids; i++) {
      for (const char of createClientId()) counts.set(char, (counts.get(char) ?? 0) + 1);
    }
    expect([...counts.keys()].sort().join('')).toBe([...ID_ALPHABET].sort().join(''));
    // 400 000 characters over 62 symbols: about 6452 each, standard deviation about 79, so the
    // 10% bounds sit 8 standard deviations out and never flake. A plain `byte % 62` would give
    // the first 8 characters 5 byte values out of 256 instead of 4: about 21% above the mean.
    const expected = (ids * 20) / 62;
    for (const count of counts.values()) {
      expect(count).toBeGreaterThan(expected * 0.9);
      expect(count).toBeLessThan(expected * 1.1);
    }
  });
});

describe('createRoutingId', () => {
  it('is r: followed by 20 characters of [a-zA-Z0-9]', () => {
    const id = createRoutingId();
    expect(id).toHaveLength(22);
    expect(id.startsWith('r:')).toBe(true);
    expect(id.slice(2)).toMatch(ID_PATTERN);
  });

  it('never repeats itself over many ids', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) ids.add(createRoutingId());
    expect(ids.size).toBe(10_000);
  });
});
