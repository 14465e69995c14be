// Mentions against a real node: the owner of a group types "@" and a few letters, picks the
// member from the suggestion list with the keyboard and sends; the member sees the mention
// highlighted and the message marked at once. The member (no mention_everyone) is not offered
// @everyone; the owner picks it with the mouse while the member is elsewhere, and the member's
// chat list shows the "@" marker until the chat is read.
import assert from 'node:assert/strict';

import { message, secondUser, waitUntil } from './chat-support.mjs';
import { register, waitForConnection } from './support.mjs';

export const name = 'chat: mention a member from the suggestion list, highlighted live; @everyone';
export const needs = 'node';

/** @param {{ page: import('playwright-core').Page, baseUrl: string }} ctx */
export async function run({ page, baseUrl }) {
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(`owner: ${e}`));
  await page.setViewportSize({ width: 1200, height: 800 });
  const owner = await register(page, baseUrl);
  await waitForConnection(page, 'connected');
  const other = await secondUser(page, baseUrl);
  const pm = other.page;
  pm.on('pageerror', (e) => errors.push(`member: ${e}`));
  try {
    const handle = `men_${Math.random().toString(36).slice(2, 8)}`;
    const groupName = `Mentions ${handle}`;

    // The owner creates a public group; the member joins it from the directory.
    await page.getByTestId('new-group').click();
    await page.getByTestId('group-name').fill(groupName);
    await page.getByTestId('group-public').check();
    await page.getByTestId('group-handle').fill(handle);
    await page.getByTestId('group-create').click();
    await page.getByTestId('chat-view').waitFor();
    const group = decodeURIComponent(new URL(page.url()).pathname.split('/').pop() ?? '');
    await pm.getByTestId('nav-directory').click();
    await pm.getByTestId('directory-search').fill(handle);
    const entry = pm.locator(`[data-testid=directory-entry][data-handle^="#${handle}:"]`);
    await entry.waitFor();
    await entry.getByTestId('directory-join').click();
    await pm.getByTestId('chat-view').waitFor();
    await page.locator('[data-testid=event-line][data-kind="member.join"]').waitFor();

    // The member, without mention_everyone, is offered the owner but not @everyone; Escape closes.
    const memberBox = pm.getByTestId('composer');
    await memberBox.click();
    await memberBox.pressSequentially('@');
    await pm.locator(`[data-testid=mention-option][data-user^="@${owner.username}:"]`).waitFor();
    assert.equal(await pm.locator('[data-testid=mention-option][data-kind=everyone]').count(), 0, 'a plain member must not be offered @everyone');
    await memberBox.press('Escape');
    await pm.getByTestId('mention-list').waitFor({ state: 'detached' });
    await memberBox.fill('');

    // The owner types "@" and the start of the member's user name, and picks with the keyboard.
    const box = page.getByTestId('composer');
    await box.click();
    await box.pressSequentially(`Hello @${other.username.slice(0, 6)}`);
    const option = page.locator(`[data-testid=mention-option][data-user^="@${other.username}:"]`);
    await option.waitFor();
    assert.equal(await option.getAttribute('aria-selected'), 'true', 'the only match is selected');
    assert.match((await option.textContent()) ?? '', new RegExp(other.displayName));
    await box.press('Enter');
    await page.getByTestId('mention-list').waitFor({ state: 'detached' });
    assert.equal(await box.inputValue(), `Hello @${other.username} `);
    await box.pressSequentially('how are you?');
    await box.press('Enter');
    // Shown by display name (the text keeps the user name).
    const text = `Hello @${other.displayName} how are you?`;
    await message(page, text).waitFor();
    assert.equal((await message(page, text).getByTestId('mention').textContent())?.trim(), `@${other.displayName}`);

    // The member sees it live: the mention highlighted, the message marked as mentioning them.
    const got = message(pm, text);
    await got.waitFor();
    const mention = got.getByTestId('mention');
    assert.equal((await mention.textContent())?.trim(), `@${other.displayName}`);
    assert.equal(await mention.getAttribute('data-me'), 'true');
    assert.equal(await got.getAttribute('data-mentions-me'), 'true');
    const bg = await mention.evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.ok(!/^(transparent|rgba\(0, 0, 0, 0\))$/.test(bg), `the mention is highlighted (background ${bg})`);

    // The member goes elsewhere; the owner picks @everyone with the mouse.
    await pm.getByTestId('nav-directory').click();
    await pm.getByTestId('directory-search').waitFor();
    await box.click();
    await box.pressSequentially('@ev');
    await page.locator('[data-testid=mention-option][data-kind=everyone]').click();
    assert.equal(await box.inputValue(), '@everyone ');
    await box.pressSequentially('meeting at noon');
    await box.press('Enter');
    await message(page, '@everyone meeting at noon').waitFor();

    // The member's chat list shows the "@" marker on the group until it is read.
    const item = pm.locator(`[data-testid=chat-item][data-group="${group}"]`);
    await item.getByTestId('mention-badge').waitFor();
    await item.click();
    const everyone = message(pm, '@everyone meeting at noon');
    await everyone.waitFor();
    assert.equal(await everyone.getAttribute('data-mentions-me'), 'true');
    assert.equal(await everyone.getByTestId('mention').getAttribute('data-kind'), 'everyone');
    await waitUntil(pm, (g) => !document.querySelector(`[data-testid=chat-item][data-group="${g}"] [data-testid=mention-badge]`), 'the @ marker goes once read', group);

    assert.deepEqual(errors, []);
  } finally {
    await other.context.close();
  }
}
