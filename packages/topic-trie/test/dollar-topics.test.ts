import { describe, expect, it } from 'vitest';
import { isDollarTopic, isSysTopic } from '../src/index.js';

describe('isDollarTopic', () => {
  it('is true when the first character is $ [MQTT-4.7.2-1]', () => {
    for (const topic of ['$SYS', '$SYS/broker', '$share/g/a', '$', '$x/y']) {
      expect(isDollarTopic(topic), topic).toBe(true);
    }
    for (const topic of ['', 'a/$SYS', ' $SYS', 'SYS', '+/x', '#']) {
      expect(isDollarTopic(topic), topic).toBe(false);
    }
  });
});

describe('isSysTopic', () => {
  it('is true for $SYS and everything below it, names and filters alike', () => {
    for (const topic of ['$SYS', '$SYS/', '$SYS/broker/uptime', '$SYS/#', '$SYS/+/clients']) {
      expect(isSysTopic(topic), topic).toBe(true);
    }
  });

  it('is false for other $ topics, look-alikes and $SYS below the first level', () => {
    for (const topic of ['$SYSTEM', '$SYS2/x', '$sys/x', '$share/g/$SYS/x', 'a/$SYS', '', '#']) {
      expect(isSysTopic(topic), topic).toBe(false);
    }
  });
});
