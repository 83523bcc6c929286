import type { SessionStore } from '@mqtt-sessions/session-store';
import { describeSessionStore } from '@mqtt-sessions/session-store/testkit';
import { openSqliteStore, type SqliteDurability } from '../src/index.js';
import { useTempFiles } from './temp-dir.js';

const newFile = useTempFiles('sessions');

for (const durability of ['normal', 'full'] as const satisfies SqliteDurability[]) {
  const files = new WeakMap<SessionStore, string>();
  const open = (file: string): SessionStore => {
    const store = openSqliteStore({ file, durability });
    store.retain.close(); // the database closes with the session store
    files.set(store.sessions, file);
    return store.sessions;
  };
  describeSessionStore(`SqliteSessionStore (durability ${durability})`, () => open(newFile()), {
    reopen: async (store) => {
      const file = files.get(store) as string;
      await store.close();
      return open(file);
    },
  });
}
