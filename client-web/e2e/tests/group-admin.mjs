// Against a real node, two users in two browser contexts: the owner creates a group and an
// invite link; the member joins with it (/join/:code). The owner creates a role with
// pin_messages and gives it to the member, whose message menu offers Pin at once (no reload);
// then the owner kicks the member, whose app shows it at once. The audit log tells the story.
import assert from 'node:assert/strict';

import { register, waitForConnection } from './support.mjs';

export const name = 'group admin: invite link, role with pin_messages applies live, kick shows live';
export const needs = 'node';

const PIN = '[data-testid=msg-action-pin]';

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
 * The message with this text.
 * @param {import('playwright-core').Page} page
 * @param {string} text
 */
function message(page, text) {
  return page.locator('[data-testid=message]', { has: page.locator('[data-testid=message-text]', { hasText: text }) });
}

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  const owner = page;
  await register(owner, baseUrl);
  await waitForConnection(owner, 'connected');

  const browser = owner.context().browser();
  assert.ok(browser);
  const other = await browser.newContext();
  try {
    const member = await other.newPage();
    const { displayName: memberName } = await register(member, baseUrl);
    await waitForConnection(member, 'connected');

    // The owner creates a private group.
    const groupName = `Crabs ${Math.random().toString(36).slice(2, 6)}`;
    await owner.goto(`${baseUrl}/`);
    await owner.getByTestId('new-group').click();
    await owner.getByTestId('group-name').fill(groupName);
    await owner.getByTestId('group-create').click();
    await owner.getByTestId('chat-view').waitFor();
    await owner.waitForFunction(() => /\/chat\//.test(location.pathname));

    // Invites tab: an invite link for one use, valid a day.
    await openTab(owner, 'invites');
    await owner.getByTestId('link-max-uses').fill('1');
    await owner.getByTestId('link-create').click();
    const url = await owner.getByTestId('link-url').first().inputValue();
    assert.match(url, /\/join\/[A-Za-z0-9_-]+$/);
    assert.equal((await owner.getByTestId('link-uses').first().textContent())?.trim(), '0 / 1 uses');

    // The member opens the link, sees the preview and joins.
    await member.goto(url);
    await member.getByTestId('join-name').waitFor();
    assert.equal((await member.getByTestId('join-name').textContent())?.trim(), groupName);
    await member.getByTestId('join-submit').click();
    await member.getByTestId('chat-view').waitFor();
    await member.waitForFunction(() => /\/chat\//.test(location.pathname));

    // The owner sees the new member live in the Members tab.
    await openTab(owner, 'members');
    await owner.locator('[data-testid=member-row]', { hasText: memberName }).waitFor({ timeout: 15_000 });

    // The owner posts; the member sees it and has no Pin action yet.
    await owner.getByTestId('group-panel-close').click();
    await owner.getByTestId('group-panel').waitFor({ state: 'detached' });
    await owner.getByTestId('composer').fill('pin me please');
    await owner.getByTestId('send').click();
    const msg = message(member, 'pin me please');
    await msg.waitFor({ timeout: 15_000 });
    await msg.getByTestId('message-actions').click();
    await member.getByTestId('message-menu').waitFor();
    assert.equal(await member.locator(PIN).count(), 0, 'a plain member must not be offered Pin');
    await member.keyboard.press('Escape');
    await member.getByTestId('message-menu').waitFor({ state: 'detached' });

    // Roles tab: a role "Pinner" with pin_messages.
    await openTab(owner, 'roles');
    await owner.getByTestId('role-create').click();
    const editor = owner.getByTestId('role-editor');
    await editor.getByTestId('role-name-input').fill('Pinner');
    await editor.getByTestId('perm-pin_messages').check();
    await editor.getByTestId('role-save').click();
    await owner.locator('[data-testid=role-row][data-role=Pinner]').waitFor({ timeout: 15_000 });
    assert.equal(await owner.locator('[data-testid=role-row][data-role=Pinner]').getAttribute('data-rank'), '1');

    // Members tab: give the member the role.
    await openTab(owner, 'members');
    const row = owner.locator('[data-testid=member-row]', { hasText: memberName });
    await row.getByTestId('member-menu').click();
    await row.getByTestId('member-roles').click();
    await owner.locator('[data-testid=role-checkbox][data-role=Pinner]').check();
    await owner.getByTestId('dialog-confirm').click();
    await owner.getByTestId('roles-dialog').waitFor({ state: 'detached' });
    await row.locator('[data-testid=role-badge]', { hasText: 'Pinner' }).waitFor({ timeout: 15_000 });

    // The member's menu now offers Pin, without a reload.
    await msg.getByTestId('message-actions').click();
    await member.locator(PIN).first().waitFor({ timeout: 15_000 });
    await member.locator(PIN).first().click();
    await member.waitForFunction(() => document.querySelector('[data-testid=message-menu]') === null);

    // The owner kicks the member with a reason; the member's app shows it at once.
    await row.getByTestId('member-menu').click();
    await row.getByTestId('member-kick').click();
    await owner.getByTestId('reason-input').fill('testing kicks');
    await owner.getByTestId('dialog-confirm').click();
    await owner.getByTestId('kick-dialog').waitFor({ state: 'detached' });
    await member.getByTestId('left-banner').waitFor({ timeout: 15_000 });
    assert.match((await member.getByTestId('left-banner').textContent()) ?? '', /removed/i);
    await owner.locator('[data-testid=member-row]', { hasText: memberName }).waitFor({ state: 'detached', timeout: 15_000 });

    // The audit log has it in words.
    await openTab(owner, 'audit');
    const kick = owner.locator('[data-testid=audit-row][data-kind="member.kick"]');
    await kick.waitFor({ timeout: 15_000 });
    assert.match((await kick.textContent()) ?? '', /removed .*testing kicks/);
    await owner.locator('[data-testid=audit-row][data-kind="role.create"]', { hasText: 'Pinner' }).waitFor();
  } finally {
    await other.close();
  }
}
