import { describe, expect, it, vi } from 'vitest';

import { AuthClient } from '../auth';

interface Call {
  url: string;
  init: RequestInit;
}

/** A fetch that answers from a queue and records what it was asked. */
function fakeFetch(...answers: (Response | Error)[]): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const fetcher = vi.fn((input: RequestInfo | URL, init?: RequestInit) => {
    calls.push({ url: String(input), init: init ?? {} });
    const next = answers.shift();
    if (next === undefined) return Promise.reject(new Error('unexpected fetch'));
    return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
  });
  return { fetch: fetcher as unknown as typeof fetch, calls };
}

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const grant = (token: string) => json(200, { user_id: '@alice:node.test', access_token: token, expires_at: 1_000 });

function header(call: Call | undefined, name: string): string | undefined {
  return (call?.init.headers as Record<string, string> | undefined)?.[name];
}

describe('AuthClient', () => {
  it('registers with the snake_case body and keeps the token in memory only', async () => {
    const { fetch, calls } = fakeFetch(json(201, { user_id: '@alice:node.test', access_token: 'a1', expires_at: 5 }));
    const client = new AuthClient({ fetch });
    const seen: (string | null)[] = [];
    client.onChange((g) => seen.push(g?.accessToken ?? null));
    const result = await client.register({ username: 'alice', password: 'correct horse', displayName: 'Alice' });
    expect(result).toEqual({ ok: true, value: { userId: '@alice:node.test', accessToken: 'a1', expiresAt: 5 } });
    expect(calls[0]?.url).toBe('/api/auth/register');
    expect(calls[0]?.init.method).toBe('POST');
    expect(calls[0]?.init.credentials).toBe('same-origin');
    expect(JSON.parse(String(calls[0]?.init.body))).toEqual({ username: 'alice', password: 'correct horse', display_name: 'Alice' });
    expect(client.grant?.accessToken).toBe('a1');
    expect(seen).toEqual(['a1']);
    expect(window.localStorage.length).toBe(0);
    expect(window.sessionStorage.length).toBe(0);
  });

  it("passes the node's error code and message through", async () => {
    const { fetch } = fakeFetch(json(401, { code: 'unauthenticated', message: 'Wrong username or password.' }));
    const client = new AuthClient({ fetch });
    const result = await client.login({ username: 'alice', password: 'nope' });
    expect(result).toEqual({
      ok: false,
      error: { status: 401, code: 'unauthenticated', message: 'Wrong username or password.' },
    });
    expect(client.grant).toBeNull();
  });

  it('reports an unreachable node as unavailable with status 0', async () => {
    const { fetch } = fakeFetch(new TypeError('Failed to fetch'));
    const result = await new AuthClient({ fetch }).refresh();
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatchObject({ status: 0, code: 'unavailable' });
  });

  it('refreshes with the cookie only, and shares one request between concurrent callers', async () => {
    const { fetch, calls } = fakeFetch(grant('a2'));
    const client = new AuthClient({ fetch });
    const [a, b] = await Promise.all([client.refresh(), client.refresh()]);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.url).toBe('/api/auth/refresh');
    expect(calls[0]?.init.credentials).toBe('same-origin');
    expect(calls[0]?.init.body).toBeUndefined();
    expect(header(calls[0], 'authorization')).toBeUndefined();
    expect(a).toEqual(b);
    expect(client.grant?.accessToken).toBe('a2');
  });

  it('asks again once when another tab won the refresh race (409)', async () => {
    const { fetch, calls } = fakeFetch(
      json(409, { code: 'conflict', message: 'This refresh token was just used.' }),
      grant('t2'),
    );
    const client = new AuthClient({ fetch });
    const result = await client.refresh();
    expect(result.ok).toBe(true);
    expect(calls.map((c) => c.url)).toEqual(['/api/auth/refresh', '/api/auth/refresh']);
    expect(client.grant?.accessToken).toBe('t2');
  });

  it('a refused refresh signs out', async () => {
    const { fetch } = fakeFetch(grant('a1'), json(401, { code: 'unauthenticated', message: 'Session ended.' }));
    const client = new AuthClient({ fetch });
    await client.refresh();
    expect(client.grant).not.toBeNull();
    const result = await client.refresh();
    expect(result.ok).toBe(false);
    expect(client.grant).toBeNull();
  });

  it('sends the bearer token for sessions, revoke, password and logout', async () => {
    const { fetch, calls } = fakeFetch(
      grant('a1'),
      json(200, [
        { id: 's1', device: 'Firefox', created_at: 1, last_used_at: 2, current: true },
        { id: 's/2', device: 'Phone', created_at: 3, last_used_at: 4, current: false },
      ]),
      new Response(null, { status: 204 }),
      new Response(null, { status: 204 }),
      new Response(null, { status: 204 }),
      new Response(null, { status: 204 }),
    );
    const client = new AuthClient({ fetch });
    await client.login({ username: 'alice', password: 'pw' });
    const sessions = await client.sessions();
    expect(sessions).toEqual({
      ok: true,
      value: [
        { id: 's1', device: 'Firefox', createdAt: 1, lastUsedAt: 2, current: true },
        { id: 's/2', device: 'Phone', createdAt: 3, lastUsedAt: 4, current: false },
      ],
    });
    expect((await client.revokeSession('s/2')).ok).toBe(true);
    expect((await client.revokeOtherSessions()).ok).toBe(true);
    expect((await client.changePassword('pw', 'new pw')).ok).toBe(true);
    expect((await client.logout()).ok).toBe(true);
    expect(calls.slice(1).map((c) => [c.init.method, c.url])).toEqual([
      ['GET', '/api/auth/sessions'],
      ['DELETE', '/api/auth/sessions/s%2F2'],
      ['POST', '/api/auth/sessions/revoke-others'],
      ['POST', '/api/auth/password'],
      ['POST', '/api/auth/logout'],
    ]);
    for (const call of calls.slice(1)) expect(header(call, 'authorization')).toBe('Bearer a1');
    expect(JSON.parse(String(calls[4]?.init.body))).toEqual({ current_password: 'pw', new_password: 'new pw' });
    expect(client.grant).toBeNull();
  });
});
