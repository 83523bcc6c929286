import { openSqliteStore, StoreLockedError } from '@mqtt-sessions/store-sqlite';

export function example(file: string): string[] {
  const seen: string[] = [];
  // One file for both stores; 'normal' survives kill -9, 'full' power loss too.
  const store = openSqliteStore({ file, durability: 'normal' });
  const key = { pool: 'default', clientId: 'sensor-1' };
  store.sessions.apply([
    {
      type: 'session',
      session: {
        ...key,
        protocolVersion: 5,
        expiryInterval: 3600,
        expiresAt: undefined,
        userData: null,
        lastPacketId: 0,
        will: undefined,
      },
    },
    {
      type: 'subscribe',
      key,
      subscription: {
        filter: 'commands/sensor-1/#',
        qos: 1,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0,
        subscriptionIdentifier: undefined,
      },
    },
  ]); // one transaction: returns once it is committed
  store.retain.set({ topic: 'status/sensor-1', payload: Buffer.from('online'), qos: 1 });

  try {
    openSqliteStore({ file }); // a second broker on the same data directory
  } catch (error) {
    if (error instanceof StoreLockedError) seen.push(error.code); // 'STORE_LOCKED'
  }
  store.close();

  // After a restart, or a crash:
  const reopened = openSqliteStore({ file });
  const state = reopened.sessions.load(key);
  seen.push(...(state?.subscriptions.map((s) => s.filter) ?? []));
  for (const message of reopened.retain.match('status/+').messages) {
    seen.push(`${message.topic} = ${message.payload}`);
  }
  reopened.close();
  return seen;
}
