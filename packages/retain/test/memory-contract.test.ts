import { describeRetainStore } from '@mqtt-sessions/retain/testkit';
import { createMemoryRetainStore } from '../src/index.js';

describeRetainStore('MemoryRetainStore', ({ clock }) => createMemoryRetainStore({ clock }));

describeRetainStore('MemoryRetainStore with a cap it never reaches', ({ clock }) =>
  createMemoryRetainStore({ clock, maxBytes: 1024 ** 3, maxMessages: 1_000_000 }),
);
