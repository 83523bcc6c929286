import { createMemorySessionStore } from '@mqtt-sessions/session-store';
import { describeSessionStore } from '@mqtt-sessions/session-store/testkit';

describeSessionStore('memory', () => createMemorySessionStore());
