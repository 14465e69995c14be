import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { AuthClient, err, ok, parseMediaId, type CborMap, type CborValue, type Gateway } from '@/protocol';
import { provideSdk } from '@/services/sdk';
import { useSessionStore } from '@/stores/session';

import Avatar from '../Avatar.vue';
import { useAvatarsStore } from '../avatars';

const ME = '@ana:node.test';
const BO = '@bob:node.test';
const hex = (n: number) => n.toString(16).padStart(2, '0').repeat(32);
const id = (n: number) => `node.test/${hex(n)}`;
const wire = (n: number) => {
  const m = parseMediaId(id(n));
  if (!m.ok) throw new Error('bad');
  return { node: m.value.node, sha256: m.value.sha256 };
};

function setup(answer: (method: string, params: CborMap) => CborValue | null) {
  const sent: { method: string; params: CborMap }[] = [];
  const handlers: Record<string, ((v: unknown) => void)[]> = {};
  const gw = {
    state: 'connected',
    on: (event: string, h: (v: unknown) => void) => {
      (handlers[event] ??= []).push(h);
      return () => {};
    },
    request(method: string, params: CborMap) {
      sent.push({ method, params });
      const a = answer(method, params);
      return Promise.resolve(a === null ? err({ code: 'not_found', message: 'no' }) : ok(a));
    },
  };
  provideSdk({ auth: new AuthClient({ fetch: vi.fn() as unknown as typeof fetch }), gateway: gw as unknown as Gateway });
  const pinia = createPinia();
  setActivePinia(pinia);
  useSessionStore().userId = ME;
  const push = (event: string, v: unknown) => handlers[event]?.forEach((h) => h(v));
  return { pinia, sent, push };
}

/** media.urls answers `/signed/<hex>/<thumb>`. */
function signer(method: string, params: CborMap): CborValue | null {
  if (method !== 'media.urls') return null;
  const items = params.items as { media: { sha256: Uint8Array }; thumb?: number }[];
  return {
    urls: items.map((i) => `/signed/${Array.from(i.media.sha256.slice(0, 1), (b) => b.toString(16)).join('')}/${i.thumb ?? 0}`),
    expires_at: Date.now() + 3_600_000,
  };
}

describe('Avatar', () => {
  afterEach(() => {
    provideSdk(null);
    document.body.innerHTML = '';
  });

  it('shows initials on a stable colour when there is no picture', () => {
    const { pinia, sent } = setup(signer);
    const w = mount(Avatar, { props: { name: 'Bo Stone', seed: BO, media: null }, global: { plugins: [pinia] } });
    expect(w.text()).toBe('BS');
    expect(w.find('img').exists()).toBe(false);
    expect(w.get('[data-testid=avatar] > div').attributes('style')).toMatch(/--avatar-bg: oklch\(/);
    expect(sent).toEqual([]);
  });

  it('shows the signed thumbnail of a picture, the size fitting the avatar', async () => {
    const { pinia, sent } = setup(signer);
    const small = mount(Avatar, { props: { name: 'Rust', media: id(0x11), size: 'sm' }, global: { plugins: [pinia] } });
    const big = mount(Avatar, { props: { name: 'Rust', media: id(0x11), size: 'xl' }, global: { plugins: [pinia] } });
    await flushPromises();
    expect(sent).toHaveLength(1); // one batched media.urls
    expect(sent[0]?.params).toEqual({ items: [{ media: wire(0x11), thumb: 96 }, { media: wire(0x11), thumb: 320 }] });
    expect(small.get('[data-testid=avatar-img]').attributes('src')).toBe('/signed/11/96');
    expect(big.get('[data-testid=avatar-img]').attributes('src')).toBe('/signed/11/320');
    expect(small.get('[data-testid=avatar]').attributes('data-has-image')).toBe('true');
  });

  it('falls back to initials when the picture is refused, or fails to load twice', async () => {
    const { pinia } = setup((m, p) => (m === 'media.urls' ? { urls: (p.items as unknown[]).map(() => null), expires_at: Date.now() + 60_000 } : null));
    const refused = mount(Avatar, { props: { name: 'Ana', media: id(0x22) }, global: { plugins: [pinia] } });
    await flushPromises();
    expect(refused.find('img').exists()).toBe(false);
    expect(refused.text()).toBe('A');

    // An expired URL: signed again once (a new URL) …
    let n = 0;
    const s = setup((m) => (m === 'media.urls' ? { urls: [`/signed/33?v=${++n}`], expires_at: Date.now() + 3_600_000 } : null));
    const w = mount(Avatar, { props: { name: 'Cy', media: id(0x33) }, global: { plugins: [s.pinia] } });
    await flushPromises();
    expect(w.get('img').attributes('src')).toBe('/signed/33?v=1');
    await w.get('img').trigger('error');
    await flushPromises();
    expect(s.sent.filter((x) => x.method === 'media.urls')).toHaveLength(2);
    expect(w.get('img').attributes('src')).toBe('/signed/33?v=2');
    await w.get('img').trigger('error'); // … and when that fails too, initials
    await flushPromises();
    expect(w.find('img').exists()).toBe(false);
    expect(w.text()).toBe('C');

    // The same URL again after signing (same expiry bucket): the picture is broken, not expired.
    const t = setup(signer);
    const same = mount(Avatar, { props: { name: 'Di', media: id(0x34) }, global: { plugins: [t.pinia] } });
    await flushPromises();
    await same.get('img').trigger('error');
    await flushPromises();
    expect(same.find('img').exists()).toBe(false);
    expect(same.text()).toBe('D');
  });

  it("finds a user's avatar with profile.get once, and follows profile pushes", async () => {
    const { pinia, sent, push } = setup((m, p) => (m === 'profile.get' ? { id: p.user as string, display_name: 'Bo', bio: '', avatar: wire(0x44) } : signer(m, p)));
    const a = mount(Avatar, { props: { name: 'Bo', user: BO }, global: { plugins: [pinia] } });
    const b = mount(Avatar, { props: { name: 'Bo', user: BO }, global: { plugins: [pinia] } });
    await flushPromises();
    expect(sent.filter((x) => x.method === 'profile.get')).toEqual([{ method: 'profile.get', params: { user: BO } }]);
    expect(a.get('img').attributes('src')).toBe('/signed/44/96');
    expect(b.get('img').attributes('src')).toBe('/signed/44/96');
    push('profile', { id: BO, displayName: 'Bo', bio: '' }); // avatar removed
    await flushPromises();
    expect(a.find('img').exists()).toBe(false);
    expect(a.text()).toBe('B');
  });

  it("uses my own profile for me, a group's photo for a chat, and a DM peer's avatar", async () => {
    const { pinia, sent } = setup(signer);
    const session = useSessionStore();
    session.profile = { id: ME, displayName: 'Ana', bio: '', avatar: id(0x55) };
    const me = mount(Avatar, { props: { name: 'Ana', user: ME }, global: { plugins: [pinia] } });
    const group = mount(Avatar, { props: { name: 'Rust', chat: { kind: 'group', photo: id(0x66) } }, global: { plugins: [pinia] } });
    const dm = mount(Avatar, { props: { name: 'Bo', chat: { kind: 'direct', peer: BO as never, photo: id(0x77) } }, global: { plugins: [pinia] } });
    await flushPromises();
    expect(sent.some((x) => x.method === 'profile.get')).toBe(false);
    expect(me.get('img').attributes('src')).toBe('/signed/55/96');
    expect(group.get('img').attributes('src')).toBe('/signed/66/96');
    expect(dm.get('img').attributes('src')).toBe('/signed/77/96');
    // A fresher push about the peer wins over the summary.
    useAvatarsStore().note(BO, null);
    await flushPromises();
    expect(dm.find('img').exists()).toBe(false);
  });

  it('keeps the online dot and can be labelled for screen readers', () => {
    const { pinia } = setup(signer);
    const w = mount(Avatar, { props: { name: 'Bo', media: null, online: true, label: 'Photo of Bo' }, global: { plugins: [pinia] } });
    expect(w.find('[data-testid=online-dot]').exists()).toBe(true);
    expect(w.get('[data-testid=avatar]').attributes('role')).toBe('img');
    expect(w.get('[data-testid=avatar]').attributes('aria-label')).toBe('Photo of Bo');
  });
});
