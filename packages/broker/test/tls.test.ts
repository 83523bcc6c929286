/**
 * TLS as operators configure it, with certificates made by openssl in the test: client
 * certificates required with a CA, the certificate identity as username, the oldest TLS version,
 * and a certificate reloaded (API and SIGHUP) without dropping connections.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Broker, BrokerOptions } from '../src/index.js';
import { connectClient, endClient, nextMessage, startBroker } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mqtt-sessions-tls-'));
const file = (name: string) => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

/** A CA: a self-signed certificate and its key. */
function makeCa(name: string): void {
  openssl(
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${name}`, '-days', '2'],
  );
}

/** A certificate for `cn` signed by `ca`, with subject alternative names `san` (if any). */
function makeCert(name: string, cn: string, ca: string, san?: string): void {
  openssl(
    ...['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`],
  );
  const extensions = [];
  if (san !== undefined) {
    writeFileSync(file(`${name}.ext`), `subjectAltName=${san}\n`);
    extensions.push('-extfile', `${name}.ext`);
  }
  openssl(
    ...['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`],
    ...['-CAcreateserial', '-out', `${name}.crt`, '-days', '2', ...extensions],
  );
}

makeCa('ca');
makeCa('rogue-ca');
makeCert('server', 'localhost', 'ca', 'DNS:localhost,IP:127.0.0.1');
makeCert('server-renewed', 'localhost', 'ca', 'DNS:localhost,IP:127.0.0.1');
makeCert('alice', 'alice', 'ca');
makeCert('mallory', 'alice', 'rogue-ca');
const pem = (name: string) => readFileSync(file(name));
const material = { cert: pem('server.crt'), key: pem('server.key'), ca: pem('ca.crt') };
const clientCert = { key: pem('alice.key'), cert: pem('alice.crt') };

let broker: Broker | undefined;
const clients: MqttClient[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => endClient(client)));
  await broker?.close();
  broker = undefined;
  for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(() => execFileSync('rm', ['-rf', dir]));

async function tlsBroker(options: Partial<BrokerOptions> = {}): Promise<Broker> {
  broker = await startBroker({ tls: material, tlsPort: 0, wssPort: 0, wsPort: false, ...options });
  return broker;
}

async function client(url: string, options: Parameters<typeof connectClient>[1] = {}) {
  const connected = await connectClient(url, {
    protocolVersion: 5,
    ca: pem('ca.crt'),
    servername: 'localhost',
    ...options,
  });
  clients.push(connected);
  return connected;
}

/** A bare TLS handshake: resolves with the server certificate's fingerprint, or the error. */
function handshake(
  port: number,
  options: Record<string, unknown> = {},
): Promise<{ fingerprint?: string | undefined; error?: Error }> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ca: pem('ca.crt'),
      servername: 'localhost',
      ...options,
    });
    let fingerprint: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    socket.once('secureConnect', () => {
      fingerprint = socket.getPeerCertificate().fingerprint256;
      // With TLS 1.3 the server judges the client certificate after the client's handshake ends:
      // wait a moment for its alert (or its close) before calling the handshake good.
      timer = setTimeout(() => {
        socket.destroy();
        resolve({ fingerprint });
      }, 200);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ error });
    });
    socket.once('close', () => {
      clearTimeout(timer);
      resolve({ error: new Error('closed by the server') });
    });
  });
}

function fingerprintOf(name: string): string {
  const text = execFileSync(
    'openssl',
    ['x509', '-in', file(name), '-noout', '-fingerprint', '-sha256'],
    {
      encoding: 'utf8',
    },
  );
  return text.trim().split('=')[1] as string;
}

describe('TLS client certificates', () => {
  it('with --tls-ca, refuses a client without a certificate in the handshake', async () => {
    const started = await tlsBroker();
    expect(started.options.tlsRequireClientCert).toBe(true);
    const port = started.addresses().tls as number;
    const bare = await handshake(port);
    expect(bare.error?.message).toMatch(/certificate required|alert|socket hang up|ECONNRESET/i);
    await expect(
      connectClient(`mqtts://localhost:${port}`, {
        protocolVersion: 5,
        ca: pem('ca.crt'),
        connectTimeout: 2000,
      }),
    ).rejects.toThrow();
    expect(started.pools.defaultPool.connectedCount()).toBe(0);
  });

  it('refuses a certificate from another CA, and lets a signed one in over TLS and WSS', async () => {
    const started = await tlsBroker();
    const port = started.addresses().tls as number;
    const rogue = await handshake(port, { key: pem('mallory.key'), cert: pem('mallory.crt') });
    expect(rogue.error).toBeDefined();
    const good = await handshake(port, clientCert);
    expect(good.error).toBeUndefined();

    const subscriber = await client(`mqtts://localhost:${port}`, { ...clientCert, clientId: 's' });
    await subscriber.subscribeAsync('tls/#', { qos: 1 });
    const publisher = await client(`wss://localhost:${started.addresses().wss}/mqtt`, {
      ...clientCert,
      clientId: 'p',
    });
    const received = nextMessage(subscriber);
    await publisher.publishAsync('tls/hello', 'over wss', { qos: 1 });
    expect((await received).payload.toString()).toBe('over wss');
  });

  it('--tls-require-client-cert false keeps the CA for optional certificates', async () => {
    const started = await tlsBroker({ tlsRequireClientCert: false });
    const bare = await handshake(started.addresses().tls as number);
    expect(bare.error).toBeUndefined();
  });

  it('mosquitto_pub with --cert and --key publishes through the TLS port', async (context) => {
    let mosquittoPub = '';
    try {
      mosquittoPub = execFileSync('sh', ['-c', 'command -v mosquitto_pub'], {
        encoding: 'utf8',
      }).trim();
    } catch {
      context.skip();
    }
    const started = await tlsBroker();
    const port = started.addresses().tls as number;
    const subscriber = await client(`mqtts://localhost:${port}`, { ...clientCert, clientId: 's' });
    await subscriber.subscribeAsync('mosquitto/tls', { qos: 1 });
    const received = nextMessage(subscriber, 5000);
    const child = spawn(mosquittoPub, [
      ...['-h', '127.0.0.1', '-p', String(port), '-t', 'mosquitto/tls', '-m', 'from mosquitto'],
      ...['-q', '1', '--cafile', file('ca.crt'), '--cert', file('alice.crt')],
      ...['--key', file('alice.key'), '--insecure'],
    ]);
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect((await received).payload.toString()).toBe('from mosquitto');
  });
});

describe('--tls-identity-as-username', () => {
  it('takes the certificate CN as the username the ACL sees, whatever the CONNECT says', async () => {
    const acl = file('identity.acl');
    writeFileSync(acl, 'user alice\nallow both alice/#\n');
    const started = await tlsBroker({ tlsIdentityAsUsername: true, aclFile: acl });
    const url = `mqtts://localhost:${started.addresses().tls}`;
    const alice = await client(url, {
      ...clientCert,
      clientId: 'device-1',
      username: 'mallory',
      password: 'whatever',
    });
    const granted = await alice.subscribeAsync('alice/inbox', { qos: 1 });
    expect(granted.map((grant) => grant.qos)).toEqual([1]);
    await expect(alice.subscribeAsync('mallory/inbox', { qos: 1 })).rejects.toThrow(
      'Not authorized',
    );
  });

  it('needs client certificates: without --tls-ca the broker refuses to start', async () => {
    await expect(
      startBroker({
        tls: { cert: material.cert, key: material.key },
        tlsPort: 0,
        tlsIdentityAsUsername: true,
      }),
    ).rejects.toThrow('--tls-identity-as-username needs client certificates');
    await expect(
      startBroker({
        tls: { cert: material.cert, key: material.key },
        tlsPort: 0,
        tlsRequireClientCert: true,
      }),
    ).rejects.toThrow('--tls-require-client-cert needs --tls-ca');
  });
});

describe('--tls-min-version and --tls-ciphers', () => {
  it('TLSv1.3 refuses a TLS 1.2 client and lets a TLS 1.3 one in', async () => {
    const started = await tlsBroker({ tlsMinVersion: 'TLSv1.3' });
    const port = started.addresses().tls as number;
    const old = await handshake(port, { ...clientCert, maxVersion: 'TLSv1.2' });
    expect(old.error?.message).toMatch(/version|alert/i);
    expect((await handshake(port, clientCert)).error).toBeUndefined();
  });

  it('a TLS 1.2 cipher list leaves out the ciphers it does not name', async () => {
    const started = await tlsBroker({ tlsCiphers: 'ECDHE-ECDSA-AES256-GCM-SHA384' });
    const port = started.addresses().tls as number;
    const other = await handshake(port, {
      ...clientCert,
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256',
    });
    expect(other.error).toBeDefined();
    const named = await handshake(port, {
      ...clientCert,
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384',
    });
    expect(named.error).toBeUndefined();
  });
});

describe('certificate reload', () => {
  it('reloadTls serves the new certificate to new connections and keeps the open ones', async () => {
    const started = await tlsBroker();
    const port = started.addresses().tls as number;
    expect((await handshake(port, clientCert)).fingerprint).toBe(fingerprintOf('server.crt'));
    const open = await client(`mqtts://localhost:${port}`, { ...clientCert, clientId: 'open' });
    await open.subscribeAsync('reload/#', { qos: 1 });

    await started.reloadTls({
      ...material,
      cert: pem('server-renewed.crt'),
      key: pem('server-renewed.key'),
    });
    expect((await handshake(port, clientCert)).fingerprint).toBe(
      fingerprintOf('server-renewed.crt'),
    );
    const received = nextMessage(open);
    const publisher = await client(`mqtts://localhost:${port}`, { ...clientCert, clientId: 'p' });
    await publisher.publishAsync('reload/x', 'still here', { qos: 1 });
    expect((await received).payload.toString()).toBe('still here');
  });

  it('SIGHUP makes the mqtt-sessions command read its certificate files again', async () => {
    const live = { cert: file('live.crt'), key: file('live.key') };
    writeFileSync(live.cert, pem('server.crt'));
    writeFileSync(live.key, pem('server.key'));
    const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
    const child = spawn(
      process.execPath,
      [
        ...['--conditions=@mqtt-sessions/source', '--import', 'tsx', cli],
        ...['--host', '127.0.0.1', '--port', 'off', '--ws-port', 'off', '--metrics-port', 'off'],
        ...['--tls-port', '0', '--wss-port', 'off', '--sys-interval', '0', '--store', 'memory'],
        ...['--tls-cert', live.cert, '--tls-key', live.key, '--tls-ca', file('ca.crt')],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let log = '';
    child.stdout?.on('data', (chunk) => {
      log += chunk;
    });
    const until = async (text: string) => {
      for (let i = 0; i < 200 && !log.includes(text); i++)
        await new Promise((resolve) => setTimeout(resolve, 25));
      expect(log).toContain(text);
    };
    await until('broker listening');
    const line = log.split('\n').find((entry) => entry.includes('broker listening')) as string;
    const port = JSON.parse(line).tls as number;
    expect((await handshake(port, clientCert)).fingerprint).toBe(fingerprintOf('server.crt'));

    writeFileSync(live.cert, pem('server-renewed.crt'));
    writeFileSync(live.key, pem('server-renewed.key'));
    child.kill('SIGHUP');
    await until('TLS certificate reloaded');
    expect((await handshake(port, clientCert)).fingerprint).toBe(
      fingerprintOf('server-renewed.crt'),
    );
    expect(child.exitCode).toBeNull();
  });
});
