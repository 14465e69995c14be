import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { AuthClient, Gateway } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useSessionStore } from '@/stores/session';

import NodeBadge from '../NodeBadge.vue';
import { forwardRefusal, inviteLinkAddress, nodeOfId, parseJoinLink, remoteErrorText, remoteNode, typedRemoteUser, withinTime } from '../nodes';

const ME = '@ana:a.test';

describe('nodeOfId / remoteNode', () => {
  it('reads the node of user ids, group ids and handles, ports included', () => {
    expect(nodeOfId('@bob:b.test')).toBe('b.test');
    expect(nodeOfId('!abcdef1:127.0.0.1:7801')).toBe('127.0.0.1:7801');
    expect(nodeOfId('#rust:chat.example.org')).toBe('chat.example.org');
  });

  it('has no node for malformed or missing ids', () => {
    for (const bad of ['', 'bob', '@bob', '@Bob:b.test', '!x:', '#1:b.test', null, undefined]) expect(nodeOfId(bad)).toBeNull();
  });

  it('is remote only when the node differs from mine', () => {
    expect(remoteNode('@bob:b.test', ME)).toBe('b.test');
    expect(remoteNode('!abcdef1:b.test', ME)).toBe('b.test');
    expect(remoteNode('@bob:a.test', ME)).toBeNull();
    expect(remoteNode('!abcdef1:a.test', ME)).toBeNull();
    // Same host, other port: another node.
    expect(remoteNode('@bob:127.0.0.1:2', '@ana:127.0.0.1:1')).toBe('127.0.0.1:2');
    // Not signed in, or garbage: no badge.
    expect(remoteNode('@bob:b.test', null)).toBeNull();
    expect(remoteNode('nonsense', ME)).toBeNull();
  });
});

describe('typedRemoteUser', () => {
  it('takes a whole user id of another node, with or without @, in any case', () => {
    expect(typedRemoteUser('@bob:b.test', ME)).toBe('@bob:b.test');
    expect(typedRemoteUser('  Bob:B.test ', ME)).toBe('@bob:b.test');
    expect(typedRemoteUser('@bob:127.0.0.1:7801', ME)).toBe('@bob:127.0.0.1:7801');
  });

  it('leaves names, local ids and malformed ids to the search', () => {
    expect(typedRemoteUser('bob', ME)).toBeNull();
    expect(typedRemoteUser('@bob:a.test', ME)).toBeNull();
    expect(typedRemoteUser('@b:b.test', ME)).toBeNull();
    expect(typedRemoteUser('@bob:', ME)).toBeNull();
  });
});

describe('remoteErrorText', () => {
  it('names the node that cannot be reached', () => {
    expect(remoteErrorText('b.test', { code: 'unavailable', message: 'node b.test cannot be reached right now' })).toBe('b.test cannot be reached right now. Try again later.');
    expect(remoteErrorText('b.test', { code: 'timeout', message: 'slow' })).toBe('b.test cannot be reached right now. Try again later.');
  });

  it('says what does not exist there, or passes the refusal on', () => {
    expect(remoteErrorText('b.test', { code: 'not_found', message: 'no such user' }, '@bob:b.test')).toBe('@bob:b.test does not exist on b.test.');
    expect(remoteErrorText('b.test', { code: 'forbidden', message: 'you are banned.' })).toBe('b.test refused: you are banned.');
    expect(remoteErrorText('b.test', { code: 'forbidden', message: '' })).toBe('b.test refused: forbidden.');
    expect(remoteErrorText('b.test', { code: 'not_found', message: '' })).toBe('b.test refused: not found.');
  });
});

describe('withinTime', () => {
  it('gives the answer when it comes in time, else the late value', async () => {
    vi.useFakeTimers();
    try {
      await expect(withinTime(Promise.resolve(1), 1000, () => 2)).resolves.toBe(1);
      const never = withinTime(new Promise<number>(() => {}), 1000, () => 2);
      await vi.advanceTimersByTimeAsync(1000);
      await expect(never).resolves.toBe(2);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('NodeBadge', () => {
  afterEach(() => provideSdk(null));

  function signedIn(me: string | null) {
    const auth = new AuthClient({ fetch: vi.fn() as unknown as typeof fetch });
    provideSdk({ auth, gateway: new Gateway({ tokens: auth, url: 'ws://a.test/ws' }) });
    setActivePinia(createPinia());
    useSessionStore().userId = me;
  }

  it('shows the node of a remote person or group, and nothing for local ones', () => {
    signedIn(ME);
    const remote = mount(NodeBadge, { props: { id: '@bob:b.test' } });
    expect(remote.get('[data-testid=node-badge]').text()).toBe('b.test');
    expect(remote.get('[data-testid=node-badge]').attributes('data-node')).toBe('b.test');
    expect(mount(NodeBadge, { props: { id: '!abcdef1:b.test' } }).find('[data-testid=node-badge]').exists()).toBe(true);
    expect(mount(NodeBadge, { props: { id: '@bob:a.test' } }).find('[data-testid=node-badge]').exists()).toBe(false);
    expect(mount(NodeBadge, { props: { id: undefined } }).find('[data-testid=node-badge]').exists()).toBe(false);
  });

  it('follows the signed-in user', async () => {
    signedIn(null);
    const w = mount(NodeBadge, { props: { id: '@bob:b.test' } });
    expect(w.find('[data-testid=node-badge]').exists()).toBe(false);
    useSessionStore().userId = ME;
    await w.vm.$nextTick();
    expect(w.find('[data-testid=node-badge]').exists()).toBe(true);
  });
});

describe('parseJoinLink', () => {
  const me = '@bob:b.test';

  it('reads the code and the node of another node’s link', () => {
    expect(parseJoinLink('https://a.test/join/AbC-12_x', me)).toEqual({ code: 'AbC-12_x', node: 'a.test' });
    expect(parseJoinLink('  http://127.0.0.1:8080/join/abc/  ', me)).toEqual({ code: 'abc', node: '127.0.0.1:8080' });
    expect(parseJoinLink('a.test:8443/join/abc?utm=x', me)).toEqual({ code: 'abc', node: 'a.test:8443' });
    expect(parseJoinLink('HTTPS://A.Test/join/abc', me)).toEqual({ code: 'abc', node: 'a.test' });
  });

  it('gives no node for a link of the user’s own node', () => {
    expect(parseJoinLink('https://b.test/join/abc', me)).toEqual({ code: 'abc', node: null });
  });

  it('is null for what is no invite link', () => {
    for (const text of ['', 'abc', '#crabs:a.test', 'https://a.test/', 'https://a.test/join/', 'https://a.test/chat/abc', 'https://user@a.test/join/abc', 'https://a_b/join/abc', 'ftp://a.test/join/abc', 'https://a.test/join/%E0%A4%A', 'https://a.test/join/%23crabs:a.test'])
      expect(parseJoinLink(text, me), text).toBeNull();
  });
});

describe('inviteLinkAddress', () => {
  it('uses the app’s origin when it is served under the node’s name', () => {
    expect(inviteLinkAddress('abc', '@ana:127.0.0.1:8080', { origin: 'http://127.0.0.1:8080', host: '127.0.0.1:8080' })).toBe('http://127.0.0.1:8080/join/abc');
  });

  it('uses the node’s name when the app is served under another host', () => {
    expect(inviteLinkAddress('abc', '@ana:chat.example', { origin: 'http://localhost:5173', host: 'localhost:5173' })).toBe('https://chat.example/join/abc');
  });

  it('falls back to the origin while the user is unknown', () => {
    expect(inviteLinkAddress('a b', null, { origin: 'https://x.test', host: 'x.test' })).toBe('https://x.test/join/a%20b');
  });
});

describe('forwardRefusal', () => {
  it('lets any chat of my node take a forward', () => {
    expect(forwardRefusal('!abcdef1:c.test', '!abcdef2:a.test', ME)).toBeNull();
    expect(forwardRefusal('!abcdef1:a.test', '!abcdef2:a.test', ME)).toBeNull();
  });
  it('lets a chat of another node take a forward from its own node or from mine', () => {
    expect(forwardRefusal('!abcdef1:b.test', '!abcdef2:b.test', ME)).toBeNull();
    expect(forwardRefusal('!abcdef1:a.test', '!abcdef2:b.test', ME)).toBeNull();
  });
  it('refuses an original of a third node, naming it', () => {
    expect(forwardRefusal('!abcdef1:c.test', '!abcdef2:b.test', ME)).toBe('Only chats of your node or of c.test can take this forward');
    expect(forwardRefusal(null, '!abcdef2:b.test', ME)).toBe("Only chats of your node or of the original's node can take this forward");
  });
});
