// Screenshots of what session 9 changed on screen: the kanban board after
// a card was moved elsewhere (another browser, the API) and patched in
// place, counts following, at desktop and phone width, in Russian. Not part
// of the suite:
//   SHOTS_DIR=/tmp/shots TG_MOCK_BIN=… MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session9.mjs
import { test } from 'node:test';
import { shoot } from './shots.mjs';
import { suite } from './tests/helpers.mjs';

const s = suite();

test('the kanban board patched live', async () => {
  const made = [];
  const people = [['Канбанов Кирилл', '+7 916 560-00-11', '250 000'], ['Доскина Дарья', '+7 903 561-00-12', '1 200 000,50'], ['Колонкин Олег', '+7 925 562-00-13', '75 000']];
  for (const [name, phone, amount] of people) {
    made.push((await s.api('POST', '/leads', { client_name: name, phone, amount, consent: true })).body);
  }
  const { ctx, page } = await s.adminPage('/kanban');
  await page.waitForSelector('[data-testid=live][data-state=on]');
  await page.waitForSelector(`.lead-card[data-lead="${made[0].number}"]`);
  const columns = await page.$$eval('.column[data-stage]', (els) => els.map((e) => e.dataset.stage).filter(Boolean));
  await s.api('POST', `/leads/${made[0].id}/stage`, { stage_id: columns[1] });
  await s.api('POST', `/leads/${made[1].id}/stage`, { stage_id: columns[2] });
  await page.waitForSelector(`.column[data-stage="${columns[2]}"] .lead-card[data-lead="${made[1].number}"]`);
  await page.waitForSelector(`.column[data-stage="${columns[1]}"] .lead-card[data-lead="${made[0].number}"]`);
  await shoot(page, 'kanban-patched');
  await ctx.close();
});
