import { describeRetainStore } from '@mqtt-sessions/retain/testkit';
import { openSqliteStore } from '../src/index.js';
import { useTempFiles } from './temp-dir.js';

const newFile = useTempFiles('retain');

describeRetainStore('SqliteRetainStore', ({ clock }) => {
  const store = openSqliteStore({ file: newFile(), clock });
  store.sessions.close(); // the database closes with the retained store
  return store.retain;
});
