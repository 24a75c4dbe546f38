// Screenshots of what the "Before the next floors" round changed on screen:
// the permissions page (declared cells, the new rights, the time zone), the
// bots pages (strings from the catalog), the inbox, and the split leads
// pages, at desktop and phone width, in Russian. Not part of the suite:
//   SHOTS_DIR=/tmp/shots TG_MOCK_BIN=… MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session7.mjs
import { test } from 'node:test';
import { shoot } from './shots.mjs';
import { hydrated, suite } from './tests/helpers.mjs';

const s = suite({ telegram: true });
const BOT = 700300402;
const TOKEN = `${BOT}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlaq`;

test('pages of the "Before the next floors" round', async () => {
  const { ctx, page } = await s.adminPage('/admin/permissions');
  await page.selectOption('[data-testid=time-zone]', 'Asia/Yekaterinburg');
  await page.waitForTimeout(500);
  await page.reload();
  await hydrated(page);
  await shoot(page, 'permissions');

  const lead = await s.api('POST', '/leads', { client_name: 'Смирнова Ольга', phone: '+7 (916) 123-45-67', amount: '1 500 000,50', consent: true });
  const { number } = lead.body;
  await page.goto(`${s.server.url}/leads/${number}`);
  await hydrated(page);
  await page.waitForSelector('[data-testid=lead-card]');
  await shoot(page, 'lead-card');
  await page.goto(`${s.server.url}/leads`);
  await hydrated(page);
  await shoot(page, 'leads');

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
  await shoot(page, 'flow-editor');
  await page.goto(`${s.server.url}/inbox`);
  await hydrated(page);
  await shoot(page, 'inbox');
  await ctx.close();
});
