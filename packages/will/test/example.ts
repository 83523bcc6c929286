import { type WillMessage, WillWatchdog } from '@mqtt-sessions/will';

const will: WillMessage = {
  topic: 'status/sensor-1',
  payload: Buffer.from('offline'),
  qos: 1,
  retain: true,
  properties: { contentType: 'text/plain' },
  delayInterval: 5, // seconds
};

export const log: string[] = [];

export const watchdog = new WillWatchdog({
  publishWill: (message, user) => log.push(`publish ${message.topic} as ${user}`),
  endSession: (reason) => log.push(`end: ${reason}`),
  userContext: 'sensor-1',
});

watchdog.start(); // the CONNECT must now complete within 20 s
watchdog.connected(will, 60); // CONNACK 0x00; the session expires 60 s after a disconnect
watchdog.disconnected({ publishWill: true }); // the socket closed without DISCONNECT 0x00
// 5 s later: 'publish status/sensor-1 as sensor-1'; 60 s later: 'end: session-expired'
