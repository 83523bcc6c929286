import type { SessionEndReason, WillMessage, WillWatchdogOptions } from '../src/index.js';
import { WillWatchdog } from '../src/index.js';

/** One thing the watchdog did, with the fake time it happened at. */
export type Event =
  | {
      readonly type: 'will';
      readonly at: number;
      readonly will: WillMessage;
      readonly userContext: string;
    }
  | { readonly type: 'end'; readonly at: number; readonly reason: SessionEndReason };

/** A Will with the given delay in seconds. */
export function willWith(delayInterval: number, topic = 'status/client-1'): WillMessage {
  return {
    topic,
    payload: Buffer.from('offline'),
    qos: 1,
    retain: true,
    properties: { messageExpiryInterval: 120, contentType: 'text/plain' },
    delayInterval,
  };
}

/** A watchdog on the global (fake) timers that records what it does, in order. */
export function watch(options: Partial<WillWatchdogOptions<string>> = {}) {
  const events: Event[] = [];
  const start = Date.now();
  const watchdog = new WillWatchdog<string>({
    publishWill: (will, userContext) => {
      events.push({ type: 'will', at: Date.now() - start, will, userContext });
    },
    endSession: (reason) => {
      events.push({ type: 'end', at: Date.now() - start, reason });
    },
    userContext: 'context-1',
    ...options,
  });
  return { watchdog, events };
}

/** The events as short strings: `will@10000`, `end:session-expired@60000`. */
export function summary(events: readonly Event[]): string[] {
  return events.map((event) =>
    event.type === 'will' ? `will@${event.at}` : `end:${event.reason}@${event.at}`,
  );
}
