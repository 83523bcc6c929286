/**
 * The observer process: the bystander and the canary, in a process of their own so that what
 * they measure is the broker, not the event loop of the load generator beside them. The parent
 * (observer.ts) drives it over IPC.
 */
import { Bystander } from './bystander.ts';
import { Canary } from './canary.ts';
import type { ObserverReply, ObserverRequest } from './observer.ts';

let bystander: Bystander | undefined;
let canary: Canary | undefined;

async function handle(request: ObserverRequest): Promise<Omit<ObserverReply, 'id'>> {
  switch (request.op) {
    case 'attach': {
      await detach();
      const { port, name, credentials } = request;
      bystander = await Bystander.connect(port, `${name}-bystander`, credentials);
      canary = await Canary.connect(port, `${name}-canary`, credentials);
      return { ok: true };
    }
    case 'start':
      bystander?.start(request.pingIntervalMs);
      canary?.start(request.canaryIntervalMs);
      return { ok: true };
    case 'stop': {
      if (bystander === undefined || canary === undefined) throw new Error('not attached');
      const pings = bystander.stop();
      const stats = await canary.stop(request.drainMs);
      return { ok: true, pings, canary: stats };
    }
    case 'detach':
      await detach();
      return { ok: true };
  }
}

async function detach(): Promise<void> {
  const closing = [bystander?.close(), canary?.close()];
  bystander = undefined;
  canary = undefined;
  await Promise.all(closing);
}

process.on('message', (request: ObserverRequest) => {
  handle(request).then(
    (reply) => process.send?.({ ...reply, id: request.id }),
    (error: Error) => process.send?.({ ok: false, error: error.message, id: request.id }),
  );
});
process.on('disconnect', () => process.exit(0));
