/**
 * What the attacker does in each case, over real sockets: floods from a client that never
 * reads, a SUBSCRIBE burst in one write, a fuzz of mutated packets, a slowloris CONNECT, idle
 * sockets that never send CONNECT, and a flood of bad logins. Each load runs until its size is
 * done (or until stopped, for the SIGTERM phase) and reports figures of its own.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Packet } from 'mqtt-packet';
import {
  type Credentials,
  connectPacket,
  encode,
  MqttClient,
  openSocket,
  percentile,
  sleep,
} from './client.ts';
import { FrameReader, PacketType } from './frames.ts';
import { mutate, type Templates, templates } from './mutate.ts';
import { below, mulberry32 } from './prng.ts';

/** Figures a load measured, by name (ms, counts, ...). */
export type Figures = Record<string, number>;

/** A load running against a broker. */
export interface Load {
  /** Resolves when the load has done its size (or was stopped), with its figures. */
  readonly finished: Promise<Figures>;
  /** Ends the load and closes every socket it opened: the attacker leaves. */
  stop(): Promise<void>;
}

interface LoadState {
  stopped: boolean;
  /** Resolves when the load is stopped. */
  readonly signal: Promise<void>;
}

/** Waits `ms`, or less if the load is stopped first (so no timer outlives the load). */
function wait(ms: number, state: LoadState): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms));
    void state.signal.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Waits until the socket drains or closes, at most `ms`, or less if the load is stopped. */
function drainOrClose(socket: Socket, ms: number, state: LoadState): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    socket.on('drain', done);
    socket.on('close', done);
    void state.signal.then(done);
  });
}

/** Runs `body` as a load; `stop` sets `stopped`, resolves `signal` and runs the cleanups. */
function load(body: (state: LoadState, cleanups: Array<() => void>) => Promise<Figures>): Load {
  let wake: () => void = () => {};
  const state: LoadState = {
    stopped: false,
    signal: new Promise((resolve) => {
      wake = resolve;
    }),
  };
  const cleanups: Array<() => void> = [];
  const finished = body(state, cleanups);
  // A load that fails before anyone awaits it must not crash the process.
  finished.catch(() => {});
  return {
    finished,
    async stop() {
      state.stopped = true;
      wake();
      for (const cleanup of cleanups.splice(0)) cleanup();
      await finished.catch(() => {});
    },
  };
}

/**
 * A source address on loopback other than 127.0.0.1, to look like another host (Linux routes
 * all of 127.0.0.0/8 to the loopback interface); undefined elsewhere.
 */
export function loopbackAddress(block: number, n: number): string | undefined {
  return process.platform === 'linux' ? `127.0.${block}.${(n % 250) + 1}` : undefined;
}

/** `packets` repeated (in turn) until they fill at least `bytes`. */
function repeatTo(packets: readonly Buffer[], bytes: number): { chunk: Buffer; count: number } {
  const parts: Buffer[] = [];
  let size = 0;
  while (size < bytes) {
    for (const packet of packets) {
      parts.push(packet);
      size += packet.length;
    }
  }
  return { chunk: Buffer.concat(parts), count: parts.length };
}

/** The packets of each flood, as bytes: a cycle the flooder repeats. */
export const FLOOD_PACKETS = {
  PINGREQ: () => [encode({ cmd: 'pingreq' })],
  SUBSCRIBE: () =>
    Array.from({ length: 100 }, (_, i) =>
      encode({
        cmd: 'subscribe',
        messageId: i + 1,
        subscriptions: [{ topic: `flood/${i}`, qos: 1 }],
      } as Packet),
    ),
  'QoS 1 PUBLISH': () =>
    Array.from({ length: 100 }, (_, i) =>
      encode({
        cmd: 'publish',
        topic: 'flood/publish',
        payload: Buffer.alloc(64, 0x61),
        qos: 1,
        messageId: i + 1,
        retain: false,
        dup: false,
      } as Packet),
    ),
  PUBREL: () =>
    Array.from({ length: 100 }, (_, i) =>
      encode({ cmd: 'pubrel', messageId: i + 1, reasonCode: 0 } as Packet),
    ),
} as const;

export type FloodKind = keyof typeof FLOOD_PACKETS;

/**
 * One client that sends CONNECT, then `packets` over and over as fast as the socket takes them,
 * for `durationMs`, and never reads a byte of what the broker answers.
 */
export function flood(port: number, packets: readonly Buffer[], durationMs: number): Load {
  return load(async (state, cleanups) => {
    const socket = await openSocket(port);
    cleanups.push(() => socket.destroy());
    socket.pause(); // never read
    let closedAt: number | undefined;
    const start = performance.now();
    socket.once('close', () => {
      closedAt = performance.now() - start;
    });
    socket.write(encode(connectPacket('abuse-flooder')));
    const { chunk, count } = repeatTo(packets, 64 * 1024);
    const until = start + durationMs;
    let queued = 0;
    while (!state.stopped && closedAt === undefined && performance.now() < until) {
      queued += chunk.length;
      if (socket.write(chunk)) {
        // Let timers (and the stop) in between chunks the kernel takes at once.
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      await drainOrClose(socket, until - performance.now(), state);
    }
    // Cut off early or not, the case lasts its whole duration.
    await wait(until - performance.now(), state);
    const accepted = Math.max(0, queued - socket.writableLength);
    return {
      packets: Math.round((accepted / chunk.length) * count),
      bytes: accepted,
      closedAtMs: closedAt ?? Number.NaN,
    };
  });
}

function subscribes(prefix: string, count: number): Buffer {
  const packets: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    packets.push(
      encode({
        cmd: 'subscribe',
        messageId: (i % 65535) + 1,
        subscriptions: [{ topic: `${prefix}/${i}`, qos: 1 }],
      } as Packet),
    );
  }
  return Buffer.concat(packets);
}

/**
 * Connects, writes `burst` in one write and reads until `count` SUBACKs have come (or the time is
 * up or the load stopped); resolves with the time from the write to the last SUBACK.
 */
async function timeSubacks(
  port: number,
  clientId: string,
  burst: Buffer,
  count: number,
  timeoutMs: number,
  state: LoadState,
  cleanups: Array<() => void>,
): Promise<{ ms: number; subacks: number; granted: number }> {
  const socket = await openSocket(port);
  cleanups.push(() => socket.destroy());
  let connacks = 0;
  let subacks = 0;
  let granted = 0;
  let done: () => void = () => {};
  const allAcked = new Promise<void>((resolve) => {
    done = resolve;
  });
  const reader = new FrameReader((type, body) => {
    if (type === PacketType.connack) connacks++;
    if (type !== PacketType.suback) return;
    subacks++;
    // One subscription per SUBSCRIBE: the reason code is the last byte.
    if ((body[body.length - 1] as number) < 0x80) granted++;
    if (subacks === count) done();
  });
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  socket.once('close', () => done());
  socket.write(encode(connectPacket(clientId)));
  while (connacks === 0 && !socket.destroyed && !state.stopped) await sleep(5);
  const start = performance.now();
  socket.write(burst);
  await Promise.race([allAcked, wait(timeoutMs, state)]);
  return { ms: performance.now() - start, subacks, granted };
}

/**
 * SUBSCRIBE packets `burst/0` ... `burst/<count - 1>` (QoS 1) in one write, from a client that
 * reads every SUBACK; `ms` is the time from the write to the last SUBACK. A burst of 2000 from
 * another client comes first and is not timed, so that the figure is the broker's steady cost per
 * SUBSCRIBE, not its JIT warming up: per-SUBSCRIBE costs of different sizes then compare.
 */
export function subscribeBurst(port: number, count: number, timeoutMs: number): Load {
  return load(async (state, cleanups) => {
    const warmUp = 2000;
    await timeSubacks(
      port,
      'abuse-warm-up',
      subscribes('warm', warmUp),
      warmUp,
      timeoutMs,
      state,
      cleanups,
    );
    for (const cleanup of cleanups.splice(0)) cleanup();
    const burst = subscribes('burst', count);
    const { ms, subacks, granted } = await timeSubacks(
      port,
      'abuse-burst',
      burst,
      count,
      timeoutMs,
      state,
      cleanups,
    );
    return { count, subacks, granted, ms, usPerSubscribe: (ms * 1000) / count };
  });
}

export interface FuzzSize {
  /** Mutated packets to send in all. */
  readonly packets: number;
  /** Connections at once. */
  readonly sockets: number;
  /** Mutated packets per connection (each followed by a PINGREQ). */
  readonly batch: number;
  readonly seed: number;
}

const PINGREQ = Buffer.from([0xc0, 0x00]);

/**
 * The fuzz: `sockets` connections at once, each a CONNECT (valid; one in ten mutated) and then
 * `batch` mutated packets, each followed by a PINGREQ, in one write. The PINGRESPs tell how many
 * of the mutated packets the broker got through before it closed the connection (or went quiet:
 * after 100 ms without a byte the client leaves and the next connection starts). One connection
 * in five speaks MQTT 3.1.1, the others MQTT 5. The sockets come from 50 loopback addresses, so
 * that the churn of connections does not run out of ports.
 */
export function fuzz(port: number, size: FuzzSize): Load {
  return load(async (state, cleanups) => {
    const sets: Record<4 | 5, Templates> = { 4: templates(4), 5: templates(5) };
    let sent = 0;
    let read = 0;
    let connections = 0;
    let closedByBroker = 0;
    let refusedConnects = 0;
    const open = new Set<Socket>();
    cleanups.push(() => {
      for (const socket of open) socket.destroy();
    });
    const slot = async (index: number) => {
      const random = mulberry32(size.seed * 1009 + index);
      let failures = 0;
      for (let n = 0; !state.stopped && sent < size.packets; n++) {
        let socket: Socket;
        try {
          socket = await openSocket(port, { localAddress: loopbackAddress(1, index) });
          failures = 0;
        } catch (error) {
          if (++failures > 200) throw error;
          refusedConnects++;
          await sleep(10);
          continue;
        }
        open.add(socket);
        connections++;
        const version = random() < 0.2 ? 4 : 5;
        const set = sets[version];
        const parts: Buffer[] = [
          random() < 0.1
            ? mutate(set.connects[below(random, set.connects.length)] as Buffer, set.others, random)
            : encode(
                { ...connectPacket(`fuzz-${index}-${n}`), protocolVersion: version } as Packet,
                version,
              ),
        ];
        const batch = Math.min(size.batch, size.packets - sent);
        for (let i = 0; i < batch; i++) {
          parts.push(
            mutate(set.others[below(random, set.others.length)] as Buffer, set.others, random),
            PINGREQ,
          );
        }
        sent += batch;
        let pings = 0;
        let closed = false;
        let lastByte = performance.now();
        const reader = new FrameReader((type) => {
          if (type === PacketType.pingresp) pings++;
        });
        socket.on('data', (chunk: Buffer) => {
          lastByte = performance.now();
          reader.push(chunk);
        });
        socket.once('close', () => {
          closed = true;
        });
        socket.write(Buffer.concat(parts));
        lastByte = performance.now();
        while (!closed && !state.stopped && pings < batch && performance.now() - lastByte < 100)
          await sleep(5);
        if (closed) closedByBroker++;
        read += Math.min(batch, pings + (closed ? 1 : 0));
        socket.destroy();
        open.delete(socket);
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: size.sockets }, (_, i) => slot(i)));
    return {
      sent,
      read,
      connections,
      closedByBroker,
      refusedConnects,
      ms: performance.now() - start,
    };
  });
}

export interface SlowlorisSize {
  readonly sockets: number;
  /** One byte of the CONNECT every this many ms. */
  readonly trickleMs: number;
  /** How long to wait for the broker to cut them off. */
  readonly waitMs: number;
}

/**
 * Slowloris: `sockets` connections that each trickle the bytes of a CONNECT (a 200-byte client
 * id: over 40 seconds at one byte per 200 ms) one at a time. A broker should cut them off when
 * its CONNECT timeout runs out, however many bytes keep coming.
 */
export function slowloris(port: number, size: SlowlorisSize): Load {
  return load(async (state, cleanups) => {
    const start = performance.now();
    const cutAt: number[] = [];
    let completed = 0;
    let all: () => void = () => {};
    const allCut = new Promise<void>((resolve) => {
      all = resolve;
    });
    const sockets = await Promise.all(
      Array.from({ length: size.sockets }, async (_, i) => {
        const socket = await openSocket(port);
        const bytes = encode(connectPacket(`slowloris-${i}-${'x'.repeat(200)}`));
        let at = 0;
        const timer = setInterval(() => {
          if (at < bytes.length) socket.write(bytes.subarray(at, at + 1));
          at++;
          if (at === bytes.length) completed++;
        }, size.trickleMs);
        socket.on('data', () => {});
        socket.once('close', () => {
          clearInterval(timer);
          if (!state.stopped) cutAt.push(performance.now() - start);
          if (cutAt.length === size.sockets) all();
        });
        cleanups.push(() => {
          clearInterval(timer);
          socket.destroy();
        });
        return socket;
      }),
    );
    await Promise.race([allCut, wait(size.waitMs, state)]);
    cutAt.sort((a, b) => a - b);
    return {
      sockets: sockets.length,
      cutOff: cutAt.length,
      completed,
      medianCutMs: percentile(cutAt, 0.5),
      lastCutMs: cutAt.length === 0 ? Number.NaN : (cutAt[cutAt.length - 1] as number),
    };
  });
}

export interface IdleSize {
  readonly sockets: number;
  /** How long to keep them open once all are. */
  readonly holdMs: number;
}

/** `sockets` TCP connections that never send a byte (no CONNECT), held open for a while. */
export function idleSockets(port: number, size: IdleSize): Load {
  return load(async (state, cleanups) => {
    const sockets: Socket[] = [];
    cleanups.push(() => {
      for (const socket of sockets) socket.destroy();
    });
    let closed = 0;
    let failed = 0;
    const start = performance.now();
    let next = 0;
    const opener = async () => {
      while (!state.stopped && next < size.sockets) {
        const index = next++;
        try {
          const socket = await openSocket(port, {
            localAddress: loopbackAddress(2, index % 100),
          });
          socket.on('data', () => {});
          socket.once('close', () => {
            closed++;
          });
          sockets.push(socket);
          if (state.stopped) socket.destroy();
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: 200 }, opener));
    const openMs = performance.now() - start;
    await wait(size.holdMs, state);
    return {
      sockets: size.sockets,
      opened: sockets.length,
      failed,
      openMs,
      stillOpen: sockets.length - closed,
    };
  });
}

export interface BadLoginSize {
  /** Bad-login connections at once. */
  readonly concurrency: number;
  readonly durationMs: number;
  /** A good login every this many ms, one at a time. */
  readonly probeEveryMs: number;
}

/**
 * `concurrency` connections at once from one other address (127.0.0.2), each a CONNECT with the
 * right user name and a wrong password, again as soon as the broker answers or hangs up; and
 * meanwhile, from 127.0.0.1, a good login every `probeEveryMs`, timed from the TCP connect to the
 * CONNACK. Three good logins before the flood give the time of one without it.
 */
export function badLogins(port: number, credentials: Credentials, size: BadLoginSize): Load {
  return load(async (state, cleanups) => {
    const goodLogin = async (clientId: string): Promise<number | undefined> => {
      const began = performance.now();
      try {
        const client = await MqttClient.connect(port, { clientId, credentials, timeoutMs: 10_000 });
        const took = performance.now() - began;
        await client.disconnect();
        return took;
      } catch {
        return undefined;
      }
    };
    // A good login without the flood, for comparison: one scrypt hash and a round trip.
    const alone: number[] = [];
    for (let n = 0; n < 3 && !state.stopped; n++) {
      const took = await goodLogin(`good-alone-${n}`);
      if (took !== undefined) alone.push(took);
    }
    alone.sort((a, b) => a - b);
    const start = performance.now();
    const until = start + size.durationMs;
    let attempts = 0;
    let answered = 0;
    const open = new Set<Socket>();
    cleanups.push(() => {
      for (const socket of open) socket.destroy();
    });
    const attacker = async (index: number) => {
      for (let n = 0; !state.stopped && performance.now() < until; n++) {
        let socket: Socket;
        try {
          socket = await openSocket(port, { localAddress: loopbackAddress(0, 1) });
        } catch {
          await sleep(10);
          continue;
        }
        open.add(socket);
        attempts++;
        const reply = new Promise<boolean>((resolve) => {
          socket.once('data', () => resolve(true));
          socket.once('close', () => resolve(false));
        });
        socket.write(
          encode(
            connectPacket(`bad-${index}-${n}`, {
              username: credentials.username,
              password: `wrong-${index}-${n}`,
            }),
          ),
        );
        // A reply the broker holds back past the end of the flood is not waited for.
        const timeout = wait(until - performance.now(), state).then(() => false);
        if (await Promise.race([reply, timeout])) answered++;
        socket.destroy();
        open.delete(socket);
      }
    };
    const logins: number[] = [];
    let failedLogins = 0;
    const prober = async () => {
      await wait(Math.min(size.probeEveryMs, size.durationMs / 4), state); // let the flood start
      for (let n = 0; !state.stopped && performance.now() < until; n++) {
        const began = performance.now();
        const took = await goodLogin(`good-${n}`);
        if (took === undefined) failedLogins++;
        logins.push(took ?? performance.now() - began);
        await wait(size.probeEveryMs - (performance.now() - began), state);
      }
    };
    await Promise.all([
      ...Array.from({ length: size.concurrency }, (_, i) => attacker(i)),
      prober(),
    ]);
    const seconds = (performance.now() - start) / 1000;
    logins.sort((a, b) => a - b);
    return {
      attempts,
      answered,
      answeredPerSecond: answered / seconds,
      goodLogins: logins.length,
      failedLogins,
      goodLoginP50: percentile(logins, 0.5),
      goodLoginMax: logins.length === 0 ? Number.NaN : (logins[logins.length - 1] as number),
      goodLoginAlone: percentile(alone, 0.5),
    };
  });
}
