import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { type CborValue } from '../codec';
import { decodeClientFrame, encodeServerFrame, type Request, type ServerFrame } from '../frames';
import { CLOSE, Gateway, type ConnectionState, type SocketLike, type TokenGrant, type TokenSource } from '../gateway';
import { err, ok, type Result } from '../result';

/** A WebSocket stand-in the test drives from the node's side. */
class FakeSocket implements SocketLike {
  binaryType = 'blob';
  readyState = 0;
  onopen: ((ev: Event) => void) | null = null;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onclose: ((ev: CloseEvent) => void) | null = null;
  onerror: ((ev: Event) => void) | null = null;
  readonly sent: Request[] = [];
  closedByClient: number | undefined;

  constructor(readonly url: string) {}

  send(data: Uint8Array): void {
    const frame = decodeClientFrame(data);
    if (!frame.ok) throw new Error(`client sent a bad frame: ${frame.error.kind}`);
    this.sent.push(frame.value);
  }

  close(code?: number): void {
    this.closedByClient = code ?? 1005;
    this.readyState = 3;
  }

  // The node's side.
  open(): void {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }

  reply(frame: ServerFrame): void {
    const bytes = encodeServerFrame(frame);
    if (!bytes.ok) throw new Error('bad server frame');
    const buffer = bytes.value.buffer.slice(bytes.value.byteOffset, bytes.value.byteOffset + bytes.value.byteLength);
    this.onmessage?.(new MessageEvent('message', { data: buffer }));
  }

  drop(code: number): void {
    this.readyState = 3;
    this.onclose?.({ code } as CloseEvent);
  }

  last(): Request {
    const r = this.sent.at(-1);
    if (r === undefined) throw new Error('nothing sent');
    return r;
  }
}

const NOW = 1_800_000_000_000;
const TTL = 600_000;

function readyResult(cursor: string, resumed: boolean, expiresAt = NOW + TTL): CborValue {
  return {
    user: { id: '@alice:node.test', display_name: 'Alice', bio: '' },
    session: 'sess-1',
    cursor,
    resumed,
    expires_at: expiresAt,
  };
}

class FakeTokens implements TokenSource {
  grant: TokenGrant | null = { accessToken: 'token-1', expiresAt: NOW + TTL };
  refreshes = 0;
  next: Result<TokenGrant, { status: number; code: string; message: string }> | null = null;

  refresh(): Promise<Result<TokenGrant, { status: number; code: string; message: string }>> {
    this.refreshes += 1;
    const reply = this.next ?? ok({ accessToken: `token-${this.refreshes + 1}`, expiresAt: Date.now() + TTL });
    if (reply.ok) this.grant = reply.value;
    else this.grant = null;
    return Promise.resolve(reply);
  }
}

let sockets: FakeSocket[];
let tokens: FakeTokens;
let gateway: Gateway;
let states: ConnectionState[];

function socket(): FakeSocket {
  const s = sockets.at(-1);
  if (s === undefined) throw new Error('no socket');
  return s;
}

/** Opens the latest socket and answers its `auth`. */
function accept(cursor = 'c1', resumed = false, expiresAt = NOW + TTL): FakeSocket {
  const s = socket();
  s.open();
  const auth = s.last();
  expect(auth.method).toBe('auth');
  s.reply({ t: 'ok', id: auth.id, result: readyResult(cursor, resumed, expiresAt) });
  return s;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(NOW);
  sockets = [];
  tokens = new FakeTokens();
  states = [];
  gateway = new Gateway({
    tokens,
    url: 'ws://node.test/ws',
    socket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    random: () => 0.5,
    requestTimeoutMs: 1_000,
  });
  gateway.on('state', (s) => states.push(s));
});

afterEach(() => {
  gateway.stop();
  vi.useRealTimers();
});

describe('Gateway', () => {
  it('authenticates first, then is connected with the ready profile', () => {
    const readies: string[] = [];
    gateway.on('ready', (r) => readies.push(r.user.displayName));
    gateway.start();
    expect(gateway.state).toBe('connecting');
    const s = socket();
    expect(s.url).toBe('ws://node.test/ws');
    expect(s.binaryType).toBe('arraybuffer');
    s.open();
    expect(s.sent).toHaveLength(1);
    expect(s.last()).toMatchObject({ method: 'auth', params: { token: 'token-1' } });
    expect(s.last().params).not.toHaveProperty('cursor');
    s.reply({ t: 'ok', id: s.last().id, result: readyResult('c1', false) });
    expect(gateway.state).toBe('connected');
    expect(readies).toEqual(['Alice']);
    expect(states).toEqual(['connecting', 'connected']);
  });

  it('matches replies to requests by id, in any order', async () => {
    gateway.start();
    const s = accept();
    const a = gateway.request('profile.get', {});
    const b = gateway.request('ping', {});
    const [ra, rb] = s.sent.slice(1);
    expect(ra?.method).toBe('profile.get');
    expect(rb?.method).toBe('ping');
    expect(ra?.id).not.toBe(rb?.id);
    s.reply({ t: 'ok', id: rb!.id, result: {} });
    s.reply({ t: 'err', id: ra!.id, error: { code: 'not_found', message: 'no' } });
    expect(await b).toEqual(ok({}));
    expect(await a).toEqual(err({ code: 'not_found', message: 'no' }));
  });

  it('times a request out and ignores its late reply', async () => {
    gateway.start();
    const s = accept();
    const r = gateway.request('ping', {}, 500);
    vi.advanceTimersByTime(500);
    const result = await r;
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error.code).toBe('timeout');
    s.reply({ t: 'ok', id: s.last().id, result: {} }); // no throw, no effect
    expect(gateway.state).toBe('connected');
  });

  it('holds requests made while connecting and sends them once ready', async () => {
    gateway.start();
    const r = gateway.request('ping', {});
    const s = accept();
    expect(s.last().method).toBe('ping');
    s.reply({ t: 'ok', id: s.last().id, result: {} });
    expect((await r).ok).toBe(true);
  });

  it('emits typed pushes and remembers their cursor', () => {
    const presence: unknown[] = [];
    const profiles: unknown[] = [];
    const pushes: string[] = [];
    gateway.on('presence', (p) => presence.push(p));
    gateway.on('profile', (p) => profiles.push(p));
    gateway.on('push', (p) => pushes.push(p.event));
    gateway.start();
    const s = accept('c1');
    s.reply({ t: 'push', event: 'presence', data: { user: '@bob:node.test', status: 'online' }, cursor: 'c2' });
    s.reply({ t: 'push', event: 'profile', data: { user: '@alice:node.test', display_name: 'Al', bio: 'hi' }, cursor: 'c3' });
    s.reply({ t: 'push', event: 'future.thing', data: {}, cursor: 'c4' });
    expect(presence).toEqual([{ user: '@bob:node.test', status: 'online' }]);
    expect(profiles).toEqual([{ id: '@alice:node.test', displayName: 'Al', bio: 'hi' }]);
    expect(pushes).toEqual(['presence', 'profile', 'future.thing']);
    expect(gateway.cursor).toBe('c4');
  });

  it('checks push data against the spec: a malformed presence is only a generic push', () => {
    const presence: unknown[] = [];
    const pushes: string[] = [];
    gateway.on('presence', (p) => presence.push(p));
    gateway.on('push', (p) => pushes.push(p.event));
    gateway.start();
    const s = accept();
    s.reply({ t: 'push', event: 'presence', data: { user: '@bob:node.test', status: 'away' }, cursor: 'c2' });
    s.reply({ t: 'push', event: 'presence', data: { user: 'bob', status: 'online' }, cursor: 'c3' });
    expect(presence).toEqual([]);
    expect(pushes).toEqual(['presence', 'presence']);
    expect(gateway.cursor).toBe('c3');
  });

  it('does not count a malformed ready as connected', () => {
    gateway.start();
    const s = socket();
    s.open();
    s.reply({ t: 'ok', id: s.last().id, result: { user: { id: '@alice:node.test' }, session: 's', cursor: 'c', resumed: 1, expires_at: 1 } });
    expect(gateway.state).toBe('connecting');
    expect(s.closedByClient).toBeDefined();
  });

  it('reconnects with exponential backoff and jitter, and resumes from the last cursor', () => {
    const resyncs: string[] = [];
    gateway.on('resync', (r) => resyncs.push(r.cursor));
    gateway.start();
    const first = accept('c1');
    first.reply({ t: 'push', event: 'presence', data: { user: '@bob:node.test', status: 'online' }, cursor: 'c2' });
    const pending = gateway.request('ping', {});
    first.drop(1006);
    expect(gateway.state).toBe('reconnecting');
    void pending.then((r) => expect(!r.ok && r.error.code).toBe('unavailable'));

    // random() = 0.5: delay = ceiling/2 + ceiling/4 → 375, 750, 1500 ms for 500·2^n.
    expect(gateway.backoffDelay(0)).toBe(375);
    expect(gateway.backoffDelay(1)).toBe(750);
    expect(gateway.backoffDelay(2)).toBe(1500);
    expect(gateway.backoffDelay(20)).toBe(22_500); // capped at 30 s
    vi.advanceTimersByTime(374);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    socket().drop(1006); // refused: the node is still down
    vi.advanceTimersByTime(749);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);

    const s = socket();
    s.open();
    expect(s.last()).toMatchObject({ method: 'auth', params: { token: 'token-1', cursor: 'c2' } });
    s.reply({ t: 'ok', id: s.last().id, result: readyResult('c9', true) });
    expect(gateway.state).toBe('connected');
    expect(resyncs).toEqual([]);
    expect(states).toEqual(['connecting', 'connected', 'reconnecting', 'connected']);

    // Backoff starts over after a success.
    s.drop(1001);
    vi.advanceTimersByTime(375);
    expect(sockets).toHaveLength(4);
    const t = socket();
    t.open();
    expect(t.last().params).toMatchObject({ cursor: 'c9' });
    t.reply({ t: 'ok', id: t.last().id, result: readyResult('c10', false) });
    expect(resyncs).toEqual(['c10']);
  });

  it('refreshes before expiry and re-authenticates in-band', async () => {
    gateway.start();
    const s = accept('c1', false, NOW + TTL);
    vi.advanceTimersByTime(TTL - 60_001);
    expect(tokens.refreshes).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(tokens.refreshes).toBe(1);
    const refresh = s.last();
    expect(refresh).toMatchObject({ method: 'auth.refresh', params: { token: 'token-2' } });
    s.reply({ t: 'ok', id: refresh.id, result: { expires_at: NOW + 2 * TTL } });
    await vi.advanceTimersByTimeAsync(0);
    expect(gateway.state).toBe('connected');
    expect(sockets).toHaveLength(1);
    // The next refresh is scheduled from the new expiry.
    await vi.advanceTimersByTimeAsync(TTL - 1);
    expect(tokens.refreshes).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(tokens.refreshes).toBe(2);
  });

  it('on close 4002 refreshes, then reconnects with the new token', async () => {
    gateway.start();
    const s = accept('c1');
    s.drop(CLOSE.tokenExpired);
    await vi.advanceTimersByTimeAsync(0);
    expect(tokens.refreshes).toBe(1);
    expect(sockets).toHaveLength(2);
    const t = socket();
    t.open();
    expect(t.last()).toMatchObject({ method: 'auth', params: { token: 'token-2', cursor: 'c1' } });
  });

  it('on close 4003 signs out and stops', () => {
    const out: string[] = [];
    gateway.on('signedOut', (r) => out.push(r));
    gateway.start();
    accept().drop(CLOSE.revoked);
    expect(out).toEqual(['revoked']);
    expect(gateway.state).toBe('offline');
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
  });

  it('signs out when the refresh is refused', async () => {
    const out: string[] = [];
    gateway.on('signedOut', (r) => out.push(r));
    gateway.start();
    const s = accept();
    tokens.next = err({ status: 401, code: 'unauthenticated', message: 'expired' });
    s.drop(CLOSE.tokenExpired);
    await vi.advanceTimersByTimeAsync(0);
    expect(out).toEqual(['refresh_failed']);
    expect(gateway.state).toBe('offline');
    expect(sockets).toHaveLength(1);
  });

  it('keeps trying when the refresh fails only because the node is unreachable', async () => {
    const out: string[] = [];
    gateway.on('signedOut', (r) => out.push(r));
    gateway.start();
    const s = accept();
    tokens.next = err({ status: 0, code: 'unavailable', message: 'down' });
    s.drop(CLOSE.tokenExpired);
    await vi.advanceTimersByTimeAsync(0);
    expect(out).toEqual([]);
    expect(gateway.state).toBe('reconnecting');
  });

  it('gives up on a connection that never becomes ready', () => {
    gateway.start();
    socket().open(); // auth sent, never answered
    vi.advanceTimersByTime(15_000);
    expect(socket().closedByClient).toBeDefined();
    expect(gateway.state).toBe('connecting');
    vi.advanceTimersByTime(375);
    expect(sockets).toHaveLength(2);
  });

  it('stop() closes normally, fails waiting requests, and stays offline', async () => {
    gateway.start();
    const s = accept();
    const r = gateway.request('ping', {});
    gateway.stop();
    expect(s.closedByClient).toBe(1000);
    expect(gateway.state).toBe('offline');
    expect((await r).ok).toBe(false);
    vi.advanceTimersByTime(60_000);
    expect(sockets).toHaveLength(1);
  });
});
