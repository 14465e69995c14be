import { describe, expect, it } from 'vitest';

import type { CborMap, CborValue } from '../codec';
import { checkGatewayMessage, decodeGatewayMessage, encodeGatewayMessage } from '../gateway-messages';
import { getPresence, MAX_PRESENCE_USERS, type GatewayError, type PresenceTransport } from '../gateway';
import { ok, err, type Result } from '../result';

const ANA = '@ana:node.test';
const BO = '@bob:node.test';
const CY = '@cyd:node.test';

/** Records requests and answers each with `answer`. */
function transport(answer: (params: CborMap) => Result<CborValue, GatewayError>) {
  const sent: { method: string; params: CborMap }[] = [];
  const t: PresenceTransport = {
    request(method, params = {}) {
      sent.push({ method, params });
      return Promise.resolve(answer(params));
    },
  };
  return { t, sent };
}

describe('presence.get', () => {
  it('sends the users and decodes the reply in order', async () => {
    const reply: CborValue = { presence: [{ user: BO, status: 'online' }, { user: ANA, status: 'offline', last_seen: 1_700_000_000_000 }, { user: CY, status: 'offline' }] };
    const { t, sent } = transport(() => ok(reply));
    const r = await getPresence(t, [BO, ANA, CY]);
    expect(sent).toEqual([{ method: 'presence.get', params: { users: [BO, ANA, CY] } }]);
    expect(r).toEqual(ok([{ user: BO, status: 'online' }, { user: ANA, status: 'offline', lastSeen: 1_700_000_000_000 }, { user: CY, status: 'offline' }]));
  });

  it('drops invalid ids and repeats; sends nothing for no users; refuses more than 100', async () => {
    const { t, sent } = transport(() => ok({ presence: [] }));
    expect(await getPresence(t, [])).toEqual(ok([]));
    expect(await getPresence(t, ['bob', '', '#g:node.test'])).toEqual(ok([]));
    expect(sent).toEqual([]);
    await getPresence(t, [BO, 'nope', BO, ANA]);
    expect(sent[0]?.params).toEqual({ users: [BO, ANA] });
    const many = Array.from({ length: MAX_PRESENCE_USERS + 1 }, (_, i) => `@user${i}:node.test`);
    const r = await getPresence(t, many);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('bad_request');
    expect(sent).toHaveLength(1);
    expect((await getPresence(t, many.slice(0, MAX_PRESENCE_USERS))).ok).toBe(true);
  });

  it('is defensive: a reply of the wrong shape is bad_response, bad entries are skipped', async () => {
    for (const reply of [null, 'x', [], {}, { presence: 'x' }] as CborValue[]) {
      const r = await getPresence(transport(() => ok(reply)).t, [BO]);
      expect(r.ok, JSON.stringify(reply)).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('bad_response');
    }
    const messy: CborValue = {
      presence: [
        { user: BO, status: 'away' }, // a status this version does not know
        { user: 'bob', status: 'online' }, // not a user id
        { user: CY, status: 'online' }, // not asked
        'junk',
        { user: ANA, status: 'online', last_seen: null, extra: 1 },
        { user: ANA, status: 'offline' }, // a repeat
        { user: BO, status: 'offline', last_seen: -1 },
      ],
    };
    const { t } = transport(() => ok(messy));
    expect(await getPresence(t, [ANA, BO])).toEqual(ok([{ user: ANA, status: 'online' }]));
  });

  it('passes node errors through', async () => {
    const r = await getPresence(transport(() => err({ code: 'rate_limited', message: 'slow down' })).t, [BO]);
    expect(r).toEqual(err({ code: 'rate_limited', message: 'slow down' }));
  });

  it('has gateway rules for its params and result (CDDL order on encode)', () => {
    expect(checkGatewayMessage('presence-get-params', { users: [ANA, BO] }).ok).toBe(true);
    expect(checkGatewayMessage('presence-get-params', { users: ['ana'] }).ok).toBe(false);
    expect(checkGatewayMessage('presence-get-params', {}).ok).toBe(false);
    expect(checkGatewayMessage('presence-list', { presence: [{ user: ANA, status: 'online' }] }).ok).toBe(true);
    expect(checkGatewayMessage('presence-list', { presence: [{ user: ANA, status: 'away' }] }).ok).toBe(false);
    const bytes = encodeGatewayMessage('presence-list', { presence: [{ last_seen: 7, status: 'offline', user: ANA }] });
    expect(bytes.ok).toBe(true);
    if (!bytes.ok) return;
    const back = decodeGatewayMessage('presence-list', bytes.value);
    expect(back.ok && Object.keys((back.value.presence as CborMap[])[0] ?? {})).toEqual(['user', 'status', 'last_seen']);
  });
});
