import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { AuthClient, decodeClientFrame, encodeServerFrame, Gateway, type SocketLike } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useSessionStore } from '@/stores/session';

const grant = { user_id: '@alice:node.test', access_token: 'a1', expires_at: Date.now() + 600_000 };

function fetchAnswering(status: number, body: unknown): typeof fetch {
  return vi.fn(() => Promise.resolve(new Response(JSON.stringify(body), { status }))) as unknown as typeof fetch;
}

let opened: number;
let sockets: (SocketLike & { sent: Uint8Array[] })[];

function setup(fetcher: typeof fetch): void {
  opened = 0;
  sockets = [];
  const auth = new AuthClient({ fetch: fetcher });
  const socket = (): SocketLike => {
    opened += 1;
    const sent: Uint8Array[] = [];
    const s = { binaryType: '', readyState: 0, onopen: null, onmessage: null, onclose: null, onerror: null, sent, send: (d: Uint8Array) => void sent.push(d), close() {} };
    sockets.push(s);
    return s;
  };
  const gateway = new Gateway({ tokens: auth, url: 'ws://node.test/ws', socket });
  provideSdk({ auth, gateway });
  setActivePinia(createPinia());
}

describe('session store', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    provideSdk(null);
    vi.useRealTimers();
  });

  it('restores a session from the refresh cookie and connects the gateway', async () => {
    setup(fetchAnswering(200, grant));
    const session = useSessionStore();
    expect(session.status).toBe('restoring');
    await session.restore();
    expect(session.status).toBe('signedIn');
    expect(session.userId).toBe('@alice:node.test');
    expect(session.displayName).toBe('alice');
    expect(session.connection).toBe('connecting');
    expect(opened).toBe(1);
  });

  it('is signed out when there is no session cookie', async () => {
    setup(fetchAnswering(401, { code: 'unauthenticated', message: 'No session.' }));
    const session = useSessionStore();
    await session.restore();
    expect(session.status).toBe('signedOut');
    expect(opened).toBe(0);
  });

  it('signs out with a notice when the gateway says the session was revoked', async () => {
    setup(fetchAnswering(200, grant));
    const session = useSessionStore();
    await session.restore();
    const socket = sockets.at(-1)!;
    socket.onopen?.(new Event('open'));
    const auth = decodeClientFrame(socket.sent.at(-1)!);
    if (!auth.ok) throw new Error('bad auth frame');
    const ready = encodeServerFrame({
      t: 'ok',
      id: auth.value.id,
      result: { user: { id: '@alice:node.test', display_name: 'Alice A.', bio: '' }, session: 's1', cursor: 'c1', resumed: false, expires_at: grant.expires_at },
    });
    if (!ready.ok) throw new Error('bad ready');
    socket.onmessage?.(new MessageEvent('message', { data: ready.value.slice().buffer }));
    expect(session.connection).toBe('connected');
    expect(session.displayName).toBe('Alice A.');
    socket.onclose?.({ code: 4003 } as CloseEvent);
    expect(session.status).toBe('signedOut');
    expect(session.connection).toBe('offline');
    expect(session.notice).toMatch(/signed out/);
    expect(session.userId).toBeNull();
  });
});
