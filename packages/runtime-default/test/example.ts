import { createDefaultRuntime } from '@mqtt-sessions/runtime-default';

export const runtime = createDefaultRuntime({ vhosts: { 'example.com': 'example' } });

const session = runtime.newUserContext({
  pool: 'example',
  clientId: 'sensor-1',
  routingId: 'r:Qm9vdHN0cmFwcGluZ0lk',
  peerIp: '192.0.2.7',
  contextPrefs: { origin: 'websocket' },
});

export const answer = await runtime.connect(
  { cmd: 'connect', clientId: 'sensor-1', protocolVersion: 5, clean: true },
  false,
  { peerIp: '192.0.2.7', contextPrefs: { origin: 'websocket' } },
  session,
);
// answer: { type: 'connack', reasonCode: 0, sessionPresent: false, userContext: { ... } }
