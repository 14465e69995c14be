// Against a real node, two users: the owner invites the other by searching their name
// (users.search → invites.send) and sees the pending invite; the invitee accepts. The owner
// edits the description, reorders roles with the keyboard and by dragging, bans the member (who sees it live),
// finds the ban with its reason in the Bans tab and lifts it.
import assert from 'node:assert/strict';

import { register, waitForConnection } from './support.mjs';

export const name = 'group moderation: invite by search, edit info, reorder roles by keyboard and drag, ban and unban';
export const needs = 'node';

/**
 * @param {import('playwright-core').Page} page
 * @param {string} tab
 */
async function openTab(page, tab) {
  if (!(await page.getByTestId('group-panel').isVisible().catch(() => false))) {
    await page.getByTestId('group-info').click();
    await page.getByTestId('group-panel').waitFor();
  }
  await page.getByTestId(`group-tab-${tab}`).click();
  await page.waitForFunction((t) => document.querySelector('[data-testid=group-panel]')?.getAttribute('data-tab') === t, tab);
}

/**
 * @param {import('playwright-core').Page} page
 * @param {string} roleName
 */
async function createRole(page, roleName) {
  await page.getByTestId('role-create').click();
  const editor = page.getByTestId('role-editor');
  await editor.getByTestId('role-name-input').fill(roleName);
  await editor.getByTestId('role-save').click();
  await page.locator(`[data-testid=role-row][data-role="${roleName}"]`).waitFor({ timeout: 15_000 });
}

/** @param {import('playwright-core').Page} page */
function roleOrder(page) {
  return page.$$eval('[data-testid=role-row]', (rows) => rows.map((r) => r.getAttribute('data-role')));
}

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  const owner = page;
  await register(owner, baseUrl);
  await waitForConnection(owner, 'connected');

  const browser = owner.context().browser();
  assert.ok(browser);
  const other = await browser.newContext({ viewport: { width: 390, height: 800 } }); // a phone
  try {
    const member = await other.newPage();
    const { username, displayName: memberName } = await register(member, baseUrl);
    await waitForConnection(member, 'connected');

    const groupName = `Mods ${Math.random().toString(36).slice(2, 6)}`;
    await owner.goto(`${baseUrl}/`);
    await owner.getByTestId('new-group').click();
    await owner.getByTestId('group-name').fill(groupName);
    await owner.getByTestId('group-create').click();
    await owner.getByTestId('chat-view').waitFor();

    // Invite by search, from the Members tab.
    await openTab(owner, 'members');
    await owner.getByTestId('invite-search').fill(username);
    const result = owner.locator('[data-testid=invite-result]', { hasText: memberName });
    await result.waitFor({ timeout: 15_000 });
    await result.getByTestId('invite-send').click();
    await result.getByTestId('invite-sent').waitFor();
    await openTab(owner, 'invites');
    await owner.locator('[data-testid=pending-invite]', { hasText: memberName }).waitFor({ timeout: 15_000 });

    // The invitee accepts (the invite arrives live).
    await member.goto(`${baseUrl}/`);
    const invite = member.locator('[data-testid=invite]', { hasText: groupName });
    await invite.waitFor({ timeout: 15_000 });
    await invite.getByTestId('invite-accept').click();
    await member.getByTestId('chat-view').waitFor();

    // Info: the owner edits the description; the member's panel (full screen on a phone) shows it.
    await openTab(owner, 'info');
    await owner.getByTestId('group-description-input').fill('Only crabs allowed');
    await owner.getByTestId('group-info-save').click();
    await owner.getByTestId('group-info-saved').waitFor();
    await member.getByTestId('group-info').click();
    await member.getByTestId('group-panel').waitFor();
    await member.waitForFunction(
      () => /** @type {HTMLTextAreaElement | null} */ (document.querySelector('[data-testid=group-description-input]'))?.value === 'Only crabs allowed',
      undefined,
      { timeout: 15_000 },
    );
    const box = await member.getByTestId('group-panel').boundingBox();
    assert.ok(box && box.width >= 380, `the panel should fill a phone screen, is ${box?.width}px wide`);
    // The member holds no admin permission: no Bans/Audit tab, no member menus, Leave offered.
    assert.equal(await member.getByTestId('group-tab-bans').count(), 0);
    assert.equal(await member.getByTestId('group-tab-audit').count(), 0);
    await member.getByTestId('group-leave').waitFor();
    await member.keyboard.press('Escape');
    await member.getByTestId('group-panel').waitFor({ state: 'detached' });

    // Roles: two roles, then move the junior one up with the keyboard.
    await openTab(owner, 'roles');
    await createRole(owner, 'Alpha');
    await createRole(owner, 'Beta');
    assert.deepEqual(await roleOrder(owner), ['Alpha', 'Beta', 'everyone']);
    const up = owner.locator('[data-testid=role-row][data-role=Beta] [data-testid=role-up]');
    await up.focus();
    await owner.keyboard.press('Enter');
    await owner.waitForFunction(
      () => [...document.querySelectorAll('[data-testid=role-row]')].map((r) => r.getAttribute('data-role')).join() === 'Beta,Alpha,everyone',
      undefined,
      { timeout: 15_000 },
    );
    assert.equal(await owner.locator('[data-testid=role-row][data-role=Beta]').getAttribute('data-rank'), '1');
    // … and back with the mouse: drag Alpha onto Beta's place (HTML5 drag and drop).
    await owner.locator('[data-testid=role-row][data-role=Alpha]').dragTo(owner.locator('[data-testid=role-row][data-role=Beta]'));
    await owner.waitForFunction(
      () => [...document.querySelectorAll('[data-testid=role-row]')].map((r) => r.getAttribute('data-role')).join() === 'Alpha,Beta,everyone',
      undefined,
      { timeout: 15_000 },
    );
    // everyone never moves and cannot be a drop target.
    assert.equal(await owner.locator('[data-testid=role-row][data-role=everyone]').getAttribute('draggable'), 'false');

    // Ban with a reason; the member's app shows it at once.
    await openTab(owner, 'members');
    const row = owner.locator('[data-testid=member-row]', { hasText: memberName });
    await row.getByTestId('member-menu').click();
    await row.getByTestId('member-ban').click();
    await owner.getByTestId('reason-input').fill('too crabby');
    await owner.getByTestId('dialog-confirm').click();
    await owner.getByTestId('ban-dialog').waitFor({ state: 'detached' });
    await member.getByTestId('left-banner').waitFor({ timeout: 15_000 });
    assert.match((await member.getByTestId('left-banner').textContent()) ?? '', /banned/i);

    // Bans tab: the ban with its reason; lift it.
    await openTab(owner, 'bans');
    const ban = owner.locator('[data-testid=ban-row]', { hasText: memberName });
    await ban.waitFor({ timeout: 15_000 });
    assert.match((await ban.getByTestId('ban-reason').textContent()) ?? '', /too crabby/);
    await ban.getByTestId('ban-lift').click();
    await owner.getByTestId('ban-empty').waitFor({ timeout: 15_000 });
  } finally {
    await other.close();
  }
}
