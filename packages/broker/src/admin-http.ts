import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Pool, PoolSet } from '@mqtt-sessions/pool';
import { ReasonCode } from '@mqtt-sessions/protocol';
import type { RetainCursor } from '@mqtt-sessions/retain';

/** The most items one page of a listing holds, and its default. */
const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;
/** The largest request body (a publish) the admin API reads. */
const MAX_BODY_BYTES = 1024 * 1024;
/** Retained-message cursors kept for paging, and for how long. */
const MAX_CURSORS = 256;
const CURSOR_TTL_MS = 5 * 60_000;

type Json = Record<string, unknown>;

/** An HTTP answer: a status and a JSON body. */
interface Reply {
  readonly status: number;
  readonly body: Json;
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * The admin API on the metrics listener, under `/admin/`, for a bearer token: clients (list,
 * show, disconnect, discard), subscriptions, retained messages and publishing. See the broker
 * README for the routes.
 */
export class AdminApi {
  private readonly pools: PoolSet;
  private readonly tokenDigest: Buffer;
  private readonly now: () => number;
  /** Retained stores page with opaque cursors: they wait here under a random token. */
  private readonly cursors = new Map<
    string,
    { cursor: RetainCursor; filter: string; at: number }
  >();

  constructor(pools: PoolSet, token: string, now: () => number = Date.now) {
    this.pools = pools;
    this.tokenDigest = digest(token);
    this.now = now;
  }

  /** Answers a request whose path starts with `/admin/`. */
  async handle(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    let reply: Reply;
    try {
      if (!this.authorized(request)) {
        response.setHeader('www-authenticate', 'Bearer realm="mqtt-sessions admin"');
        throw new HttpError(401, 'a valid bearer token is needed');
      }
      reply = await this.route(request, url);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      reply = { status: error.status, body: { error: error.message } };
    }
    response.writeHead(reply.status, { 'content-type': 'application/json' });
    response.end(`${JSON.stringify(reply.body)}\n`);
  }

  private authorized(request: IncomingMessage): boolean {
    const header = request.headers.authorization ?? '';
    const match = /^Bearer (.+)$/i.exec(header);
    // Digests of equal length, so the comparison takes the same time whatever was sent.
    return match !== null && timingSafeEqual(digest(match[1] as string), this.tokenDigest);
  }

  private async route(request: IncomingMessage, url: URL): Promise<Reply> {
    const parts = url.pathname.split('/').slice(2).map(decodeURIComponent);
    const method = request.method ?? 'GET';
    const [resource, id, action] = parts;
    if (resource === 'clients' && id === undefined && method === 'GET') return this.clients(url);
    if (resource === 'clients' && id !== undefined && action === undefined) {
      if (method === 'GET') return this.client(url, id);
      if (method === 'DELETE') return this.discard(url, id);
    }
    if (resource === 'clients' && id !== undefined && action === 'disconnect' && method === 'POST')
      return this.disconnect(url, id);
    if (resource === 'subscriptions' && id === undefined && method === 'GET')
      return this.subscriptions(url);
    if (resource === 'retained' && id === undefined && method === 'GET') return this.retained(url);
    if (resource === 'publish' && id === undefined && method === 'POST')
      return this.publish(url, await readJson(request));
    throw new HttpError(404, `no ${method} ${url.pathname}`);
  }

  /** `GET /admin/clients?pool=&limit=&after=`: every session, by client id. */
  private async clients(url: URL): Promise<Reply> {
    const pool = this.pool(url);
    const limit = pageLimit(url);
    const after = url.searchParams.get('after');
    const stats = pool
      .sessionStats()
      .filter((session) => after === null || session.clientId > after)
      .sort((a, b) => (a.clientId < b.clientId ? -1 : 1))
      .slice(0, limit + 1);
    const page = stats.slice(0, limit);
    const clients = [];
    for (const session of page) clients.push(await this.describe(pool, session.clientId, false));
    const next = stats.length > limit ? (page[page.length - 1]?.clientId ?? null) : null;
    return { status: 200, body: { pool: pool.name, clients, next } };
  }

  /** `GET /admin/clients/:id`: one session with its subscriptions. */
  private async client(url: URL, clientId: string): Promise<Reply> {
    return { status: 200, body: await this.describe(this.pool(url), clientId, true) };
  }

  /** `POST /admin/clients/:id/disconnect`: DISCONNECT 0x98; the session stays. */
  private async disconnect(url: URL, clientId: string): Promise<Reply> {
    const session = await this.session(this.pool(url), clientId);
    const done = session.disconnect(ReasonCode.AdministrativeAction, 'disconnected by an admin');
    if (!done) throw new HttpError(409, `${clientId} is not connected`);
    return { status: 200, body: { clientId, disconnected: true } };
  }

  /** `DELETE /admin/clients/:id`: DISCONNECT 0x98 and the session is discarded. */
  private async discard(url: URL, clientId: string): Promise<Reply> {
    const session = await this.session(this.pool(url), clientId);
    session.kill(ReasonCode.AdministrativeAction, 'discarded by an admin');
    return { status: 200, body: { clientId, discarded: true } };
  }

  /** `GET /admin/subscriptions?pool=&limit=&after=`: every subscription, by client id and filter. */
  private async subscriptions(url: URL): Promise<Reply> {
    const pool = this.pool(url);
    const limit = pageLimit(url);
    const after = url.searchParams.get('after');
    const rows = [];
    for (const { clientId } of pool.sessionStats()) {
      const session = await pool.findSession(clientId);
      if (session === undefined) continue;
      for (const subscription of pool.router.subscriptionsOf(session)) {
        rows.push({ key: `${clientId}\u0000${subscription.filter}`, clientId, ...subscription });
      }
    }
    rows.sort((a, b) => (a.key < b.key ? -1 : 1));
    const from = after === null ? rows : rows.filter((row) => row.key > after);
    const page = from.slice(0, limit);
    const next = from.length > limit ? (page[page.length - 1]?.key ?? null) : null;
    return {
      status: 200,
      body: {
        pool: pool.name,
        subscriptions: page.map(({ key: _key, ...row }) => row),
        next,
      },
    };
  }

  /** `GET /admin/retained?pool=&filter=&limit=&cursor=`: retained messages matching a filter. */
  private async retained(url: URL): Promise<Reply> {
    const pool = this.pool(url);
    const limit = pageLimit(url);
    const token = url.searchParams.get('cursor');
    let filter = url.searchParams.get('filter') ?? '#';
    let cursor: RetainCursor | null = null;
    if (token !== null) {
      const saved = this.cursors.get(token);
      if (saved === undefined) throw new HttpError(400, 'unknown or expired cursor');
      this.cursors.delete(token);
      ({ cursor, filter } = saved);
    }
    let page: Awaited<ReturnType<Pool<unknown>['retain']['match']>>;
    try {
      page = await pool.retain.match(filter, { cursor, limit });
    } catch (error) {
      throw new HttpError(400, (error as Error).message);
    }
    const messages = page.messages.map((message) => ({
      topic: message.topic,
      qos: message.qos,
      bytes: message.payload.length,
      ...payloadText(message.payload),
    }));
    return {
      status: 200,
      body: { pool: pool.name, filter, messages, cursor: this.keep(page.cursor, filter) },
    };
  }

  /** `POST /admin/publish {topic, payload, encoding?, qos?, retain?}` as server code. */
  private async publish(url: URL, body: Json): Promise<Reply> {
    const { topic, payload = '', encoding = 'utf8', qos = 0, retain = false } = body;
    if (typeof topic !== 'string') throw new HttpError(400, 'topic must be a string');
    if (typeof payload !== 'string') throw new HttpError(400, 'payload must be a string');
    if (encoding !== 'utf8' && encoding !== 'base64')
      throw new HttpError(400, 'encoding must be utf8 or base64');
    if (qos !== 0 && qos !== 1 && qos !== 2) throw new HttpError(400, 'qos must be 0, 1 or 2');
    if (typeof retain !== 'boolean') throw new HttpError(400, 'retain must be true or false');
    const outcome = await this.pool(url).serverPublish(topic, Buffer.from(payload, encoding), {
      qos,
      retain,
    });
    if (!outcome.ok) {
      const status =
        outcome.reason === 'invalid-topic' || outcome.reason === 'not-allowed' ? 400 : 503;
      return { status, body: { ok: false, reason: outcome.reason, error: outcome.message } };
    }
    return { status: 200, body: { ok: true, deliveries: outcome.deliveries } };
  }

  private async describe(pool: Pool<unknown>, clientId: string, withSubscriptions: boolean) {
    const session = await this.session(pool, clientId);
    const stats = session.stats();
    const subscriptions = pool.router.subscriptionsOf(session);
    const context = session.userContext as { user?: unknown } | undefined;
    return {
      clientId,
      username: typeof context?.user === 'string' ? context.user : null,
      connected: stats.connected,
      peerIp: stats.peerIp ?? null,
      protocolVersion: stats.protocolVersion ?? null,
      connectedSince:
        stats.connectedSince === undefined ? null : new Date(stats.connectedSince).toISOString(),
      queued: stats.queued,
      inflight: stats.inflight,
      dropped: stats.dropped,
      subscriptions: withSubscriptions ? subscriptions : subscriptions.length,
    };
  }

  private async session(pool: Pool<unknown>, clientId: string) {
    const session = await pool.findSession(clientId);
    if (session === undefined) throw new HttpError(404, `no session ${clientId}`);
    return session;
  }

  private pool(url: URL): Pool<unknown> {
    const name = url.searchParams.get('pool');
    const pool = name === null ? this.pools.defaultPool : this.pools.pool(name);
    if (pool === undefined) throw new HttpError(404, `no pool ${name}`);
    return pool as Pool<unknown>;
  }

  /** Keeps a store cursor under a token for the next page; the oldest go first. */
  private keep(cursor: RetainCursor | null, filter: string): string | null {
    if (cursor === null) return null;
    const now = this.now();
    for (const [token, saved] of this.cursors) {
      if (this.cursors.size < MAX_CURSORS && now - saved.at < CURSOR_TTL_MS) break;
      this.cursors.delete(token);
    }
    const token = randomBytes(12).toString('hex');
    this.cursors.set(token, { cursor, filter, at: now });
    return token;
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function pageLimit(url: URL): number {
  const given = url.searchParams.get('limit');
  if (given === null) return DEFAULT_LIMIT;
  const limit = Number(given);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new HttpError(400, `limit must be a whole number from 1 to ${MAX_LIMIT}`);
  return limit;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A payload as text when it is UTF-8, else as base64. */
function payloadText(payload: Buffer): { payload: string; encoding: 'utf8' | 'base64' } {
  try {
    return { payload: utf8.decode(payload), encoding: 'utf8' };
  } catch {
    return { payload: payload.toString('base64'), encoding: 'base64' };
  }
}

async function readJson(request: IncomingMessage): Promise<Json> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'the body is larger than 1 MiB');
    chunks.push(chunk as Buffer);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error();
    return value as Json;
  } catch {
    throw new HttpError(400, 'the body must be a JSON object');
  }
}
