import { execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Broker } from '../src/index.js';
import { startBroker } from './helpers.js';

const run = promisify(execFile);
const installed = spawnSync('mosquitto_pub', ['--help']).error === undefined;
const required = process.env.CI !== undefined;

// Debian's mosquitto-clients: clients nobody here wrote. CI installs them; on a developer machine
// without them the suite is skipped, and its name says so.
describe.skipIf(!installed && !required)(
  installed ? 'mosquitto-clients against the broker' : 'mosquitto-clients (not installed: skipped)',
  () => {
    let broker: Broker;
    beforeAll(async () => {
      if (!installed) {
        throw new Error(
          'mosquitto_pub and mosquitto_sub are required in CI (apt-get install mosquitto-clients)',
        );
      }
      broker = await startBroker();
    });
    afterAll(() => broker?.close());

    for (const version of ['mqttv5', 'mqttv311'] as const) {
      it(`mosquitto_sub receives what mosquitto_pub sends (${version})`, async () => {
        const port = String(broker.addresses().tcp);
        const common = ['-h', '127.0.0.1', '-p', port, '-V', version];
        // A retained message before mosquitto_sub starts, a live one once it has subscribed (seen
        // from the broker's side: mosquitto_sub buffers its output when it is not a terminal).
        await run('mosquitto_pub', [
          ...common,
          '-t',
          `mosq/${version}/a`,
          '-m',
          'first',
          '-r',
          '-q',
          '1',
        ]);
        const pool = broker.pools.defaultPool;
        const before = pool.routerInfo().subscriptions;
        const sub = spawn('mosquitto_sub', [
          ...common,
          '-t',
          `mosq/${version}/#`,
          '-C',
          '2',
          '-v',
          '-W',
          '10',
        ]);
        const exited = once(sub, 'exit');
        let stdout = '';
        sub.stdout.on('data', (chunk) => {
          stdout += chunk;
        });
        while (pool.routerInfo().subscriptions === before) {
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await run('mosquitto_pub', [
          ...common,
          '-t',
          `mosq/${version}/b`,
          '-m',
          'second',
          '-q',
          '2',
        ]);
        const [code] = await exited;
        expect(code).toBe(0);
        expect(stdout.trim().split('\n')).toEqual([
          `mosq/${version}/a first`,
          `mosq/${version}/b second`,
        ]);
      });
    }
  },
);
