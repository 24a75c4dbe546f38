// Screenshots of the pages the second "Fix first" round touched (empty
// states, invitations, the partner cabinet and bell on a phone, the bots
// list, a flow with named steps) at desktop and phone width, in Russian.
// Not part of the suite; run like screens.mjs:
//   SHOTS_DIR=/tmp/shots TG_MOCK_BIN=… MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session6.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dir, shoot as shootAt } from './shots.mjs';
import { hydrated, suite } from './tests/helpers.mjs';

const s = suite({ telegram: true });
const shoot = (page, name) => shootAt(page, name, { phoneFull: true });
const BOT = 700300401;
const TOKEN = `${BOT}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlaq`;

test('pages of the second "Fix first" round', async () => {
  const { ctx, page } = await s.adminPage('/leads');
  await shoot(page, 'leads-none-yet');
  await s.api('POST', '/leads', { client_name: 'Смирнова Ольга', phone: '+7 (916) 123-45-67', consent: true });
  await page.goto(`${s.server.url}/leads?q=${encodeURIComponent('Никтотакой')}`);
  await hydrated(page);
  await page.waitForSelector('[data-testid=nothing-found]');
  await shoot(page, 'leads-nothing-found');

  const inv = await s.api('POST', '/invitations', { email: 'partner@example.ru', role: 'partner' });
  const gone = await s.api('POST', '/invitations', { email: 'oshibka@example.ru', role: 'employee' });
  assert.equal(gone.status, 201);
  await page.goto(`${s.server.url}/admin/users`);
  await hydrated(page);
  await page.click('tr[data-invitation="oshibka@example.ru"] [data-testid=revoke-invitation]');
  await page.waitForSelector('tr[data-invitation="oshibka@example.ru"][data-state=revoked]');
  await shoot(page, 'users-invitations');

  await page.goto(`${s.server.url}/bots`);
  await hydrated(page);
  await page.fill('[data-testid=bot-token]', TOKEN);
  await page.click('[data-testid=connect-bot] button[type=submit]');
  await page.waitForSelector('[data-testid=bots] tbody tr');
  await shoot(page, 'bots');
  await page.click('[data-testid=bot-link]');
  await hydrated(page);
  await page.click('[data-testid=new-flow]');
  await page.waitForSelector('[data-testid=flow-editor]');
  await page.selectOption('[data-testid=step-kind]', 'question');
  await page.click('[data-testid=add-step]');
  await page.click('.flow-step[data-step=s2]');
  await page.fill('[data-testid=step-panel] [data-testid=step-title]', 'Спросить имя');
  await page.click('[data-testid=save-flow]');
  await page.waitForSelector('[data-testid=flow-problems]');
  await shoot(page, 'flow-named-steps');
  await ctx.close();

  const pctx = await s.browser.newContext();
  const p = await pctx.newPage();
  await p.goto(inv.body.url);
  await hydrated(p);
  await p.fill('[data-testid=invite-form] input[name=full_name]', 'Партнёр Пётр');
  await p.fill('[data-testid=invite-form] input[name=password]', 'partner-pass-1');
  await p.click('[data-testid=invite-form] button[type=submit]');
  await p.waitForURL('**/partner');
  await hydrated(p);
  await shoot(p, 'partner-cabinet-empty');
  await p.fill('[data-testid=lead-form] input[name=client_name]', 'Кузнецов Дмитрий');
  await p.fill('[data-testid=lead-form] input[name=phone]', '8 912 555 00 11');
  await p.check('[data-testid=lead-form] input[name=consent]');
  await p.click('[data-testid=lead-form] button.primary[type=submit]:not([name])');
  const created = (await (await p.waitForSelector('[data-testid=lead-created]')).textContent()).trim();
  const number = Number(created.match(/№(\d+)/)[1]);
  const lead = (await s.api('GET', `/leads/${number}`)).body.lead;
  const stages = (await s.api('GET', '/pipelines')).body;
  const stage = stages.flatMap((x) => x.stages).find((st) => st.kind === 'open' && st.id !== lead.stage_id);
  assert.equal((await s.api('POST', `/leads/${lead.id}/stage`, { stage_id: stage.id })).status, 204);
  await p.waitForSelector('[data-testid=bell-count]');
  await shoot(p, 'partner-cabinet');
  await p.setViewportSize({ width: 390, height: 900 });
  await p.click('.bell-button');
  await p.waitForSelector('.bell-panel li');
  await p.screenshot({ path: `${dir}/partner-bell-phone.png` });
  await pctx.close();
});
