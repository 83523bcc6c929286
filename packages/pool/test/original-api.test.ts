/**
 * The original library's API suite (mqtt_sessions_SUITE, reference section 14.1, tests 1-5),
 * ported to the pool's server-side API. Where the original handed out an Erlang envelope, the port
 * hands a {@link DeliveredMessage}: `publisherContext`, `topic`, `bindings` and `payload`.
 * (retained_memory_limit, test 6, lives in original-protocol.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { createPool, type DeliveredMessage, type Pool } from '../src/index.js';
import { ManualTimers, recordError, sessionOf, TestClient } from './helpers.js';

const subctx = { who: 'subscriber' };
const pubctx = { who: 'publisher' };

function setup(): { pool: Pool<unknown>; timers: ManualTimers } {
  const timers = new ManualTimers();
  return { pool: createPool({ timers, onError: recordError }), timers };
}

/** Subscribes server code and collects what it gets. */
function collect(pool: Pool<unknown>, filter: string): DeliveredMessage[] {
  const got: DeliveredMessage[] = [];
  const outcome = pool.serverSubscribe(filter, (message) => got.push(message), {
    userContext: subctx,
  });
  expect(outcome).toMatchObject({ ok: true });
  return got;
}

describe('original API suite, ported', () => {
  it('subscribe_self: the callback gets the publisher context, topic, bindings and payload', () => {
    const { pool } = setup();
    const got = collect(pool, 'test1');
    expect(pool.serverPublish('test1', 'hello', { userContext: pubctx })).toEqual({
      ok: true,
      deliveries: 1,
    });
    expect(got).toHaveLength(1);
    const message = got[0] as DeliveredMessage;
    expect(message.publisherContext).toBe(pubctx);
    expect(message.topic).toBe('test1');
    expect(message.bindings).toEqual({ plus: [], hash: undefined });
    expect(message.payload.toString()).toBe('hello');
    expect(message.qos).toBe(0);
    expect(message.retain).toBe(false);
  });

  it('subscribe_mfa: a callback with bound extra arguments gets them before the message', () => {
    // The original subscribed {Module, Function, [TestPid, Ref]} and called M:F(TestPid, Ref, Msg).
    // In JavaScript that is a function with bound leading arguments.
    const { pool } = setup();
    const ref = Symbol('ref');
    const mailbox: { tag: string; ref: symbol; message: DeliveredMessage }[] = [];
    function subscribeMfa(to: typeof mailbox, reference: symbol, message: DeliveredMessage): void {
      to.push({ tag: 'yeah', ref: reference, message });
    }
    const outcome = pool.serverSubscribe('test2', subscribeMfa.bind(null, mailbox, ref), {
      userContext: subctx,
    });
    expect(outcome).toMatchObject({ ok: true });
    void pool.serverPublish('test2', 'hello', { userContext: pubctx });
    expect(mailbox).toHaveLength(1);
    const [received] = mailbox;
    expect(received?.tag).toBe('yeah');
    expect(received?.ref).toBe(ref);
    expect(received?.message.publisherContext).toBe(pubctx);
    expect(received?.message.topic).toBe('test2');
    expect(received?.message.bindings).toEqual({ plus: [], hash: undefined });
    expect(received?.message.payload.toString()).toBe('hello');
  });

  it('subscribe_self_wildcard: `#` binds the levels below, and none for its parent level', () => {
    const { pool } = setup();
    const got = collect(pool, 'test3/#');
    void pool.serverPublish('test3/a/b', 'hello', { userContext: pubctx });
    // `#` also matches the parent level (MQTT 5 section 4.7.1.2).
    void pool.serverPublish('test3', 'hello', { userContext: pubctx });
    expect(got.map((m) => [m.topic, m.bindings])).toEqual([
      ['test3/a/b', { plus: [], hash: ['a', 'b'] }],
      ['test3', { plus: [], hash: [] }],
    ]);
    expect(got.every((m) => m.publisherContext === pubctx)).toBe(true);
  });

  it('subscribe_self_wildcard2: each `+` binds its level and `#` the rest', () => {
    const { pool } = setup();
    const got = collect(pool, 'test4/+/+/x/#');
    void pool.serverPublish('test4/a/b/x/c/d', 'hello', { userContext: pubctx });
    expect(got).toHaveLength(1);
    expect(got[0]?.topic).toBe('test4/a/b/x/c/d');
    expect(got[0]?.bindings).toEqual({ plus: ['a', 'b'], hash: ['c', 'd'] });
    // A topic that differs in the literal level does not match.
    void pool.serverPublish('test4/a/b/y/c', 'nope', { userContext: pubctx });
    expect(got).toHaveLength(1);
  });

  it('subscribe_temp: a temporary response topic gets the response with its publisher context', async () => {
    const { pool } = setup();
    const first = pool.tempResponseTopic(subctx);
    expect(first).toMatchObject({ ok: true });
    if (!('ok' in first) || !first.ok) throw new Error('no response topic');
    // The original numbered the topics of one caller from 1.
    expect(first.topic).toMatch(/^reply\/call-[a-zA-Z0-9]{20}\/1$/);
    void pool.serverPublish(first.topic, 'hello', { userContext: pubctx });
    const response = await pool.awaitResponse(first.topic);
    expect(response.publisherContext).toBe(pubctx);
    expect(response.payload.toString()).toBe('hello');
    expect(response.topic).toBe(first.topic);
  });

  it('subscribe_temp over MQTT: a client answers on the Response Topic; the waiter gets its context', async () => {
    const { pool } = setup();
    const responder = new TestClient(pool);
    responder.connect({ clientId: 'responder' });
    responder.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [{ topic: 'service/echo', qos: 1 }],
    });
    responder.next('suback');

    const made = pool.tempResponseTopic(subctx);
    if (!('ok' in made) || !made.ok) throw new Error('no response topic');
    const second = pool.tempResponseTopic(subctx);
    if (!('ok' in second) || !second.ok) throw new Error('no response topic');
    // One base per pool, a new number per request.
    expect(second.topic).toBe(made.topic.replace(/\/1$/, '/2'));

    const waiting = pool.awaitResponse(second.topic);
    void pool.serverPublish('service/echo', 'ping', {
      qos: 1,
      properties: { responseTopic: second.topic, correlationData: Buffer.from('c1') },
    });
    const request = responder.next('publish');
    expect(request.properties?.responseTopic).toBe(second.topic);
    responder.send({ cmd: 'puback', messageId: request.messageId as number, reasonCode: 0 });
    responder.send({
      cmd: 'publish',
      topic: request.properties?.responseTopic as string,
      payload: Buffer.from('pong'),
      qos: 0,
      retain: false,
      dup: false,
      properties: { correlationData: request.properties?.correlationData as Buffer },
    });
    const response = await waiting;
    expect(response.payload.toString()).toBe('pong');
    expect(response.properties.correlationData?.toString()).toBe('c1');
    // The publisher context of a client's message is its session's user context.
    expect(response.publisherContext).toBe(sessionOf(pool, 'responder').userContext);
    expect(response.publisherContext).toMatchObject({ clientId: 'responder' });
  });

  it('awaitResponse gives up after its timeout', async () => {
    const { pool, timers } = setup();
    const made = pool.tempResponseTopic();
    if (!('ok' in made) || !made.ok) throw new Error('no response topic');
    const waiting = pool.awaitResponse(made.topic, 5000);
    timers.advance(5000);
    await expect(waiting).rejects.toThrow(/no response/);
  });
});
