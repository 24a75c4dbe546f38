// Screenshots of what session 8 changed on screen: the lead list after a
// row was patched in place (an edit made elsewhere) and a deleted lead gone,
// at desktop and phone width, in Russian. Not part of the suite:
//   SHOTS_DIR=/tmp/shots TG_MOCK_BIN=… MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session8.mjs
import { test } from 'node:test';
import { shoot } from './shots.mjs';
import { suite } from './tests/helpers.mjs';

const s = suite();

test('the lead list patched live', async () => {
  const made = [];
  for (const [name, phone] of [['Патчев Пётр', '+7 916 550-00-11'], ['Патчева Полина', '+7 916 551-00-11'], ['Патчев Павел', '+7 916 552-00-11']]) {
    made.push((await s.api('POST', '/leads', { client_name: name, phone, amount: '100 000', consent: true })).body.number);
  }
  const { ctx, page } = await s.adminPage(`/leads?q=${encodeURIComponent('Патчев')}`);
  await page.waitForSelector('[data-testid=live][data-state=on]');
  await page.check('[data-testid=columns] input[data-column=amount]');
  await s.api('PATCH', `/leads/${made[0]}`, { amount: '1 500 000,50' });
  await page.waitForFunction((n) => /1\s500\s000,50/.test(document.querySelector(`tr[data-lead="${n}"]`)?.textContent || ''), made[0]);
  await s.api('DELETE', `/leads/${made[1]}`);
  await page.waitForSelector(`tr[data-lead="${made[1]}"]`, { state: 'detached' });
  await shoot(page, 'leads-patched');
  await ctx.close();
});
