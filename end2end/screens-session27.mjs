// The admin bot as the CRM shows it, at desktop and phone width, in
// Russian: the bots page with the outreach admin bot connected from
// OUTREACH_BOT_TOKEN (its mark and the button that moves it), and a dialog
// with «Остановить» before and after it is stopped. Not part of the suite:
//   SHOTS_DIR=/tmp/shots AI_MOCK_BIN=… TG_MOCK_BIN=… MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session27.mjs
import { test, after } from 'node:test';
import { whole } from './shots.mjs';
import { hydrated, startAiMock, suite } from './tests/helpers.mjs';

const ADMIN_BOT = 700900200;
let ai = null;
after(() => ai?.stop());
const s = suite({
  telegram: true,
  env: async () => {
    ai = await startAiMock();
    return {
      OUTREACH_TELEGRAM: 'fake', AI_API_URL: `${ai.url}/v1`, AI_API_KEY: 'sk-mock', MIN_MESSAGE_DELAY: '2',
      OUTREACH_BOT_TOKEN: `${ADMIN_BOT}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGsales`, ADMIN_TELEGRAM_ID: '4242',
    };
  },
});

const fake = (body) => fetch(`${s.server.url}/_fake/outreach`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('an admin meets the admin bot in the CRM and stops a dialog', async () => {
  await fake({ op: 'account', phone: '+79990001001', user_id: 5001, username: 'sales_anna' });
  await fake({ op: 'person', user_id: 7101, username: 'ivan_petrov', first_name: 'Иван' });
  const { page } = await s.adminPage('/bots');
  await page.waitForSelector('[data-testid=outreach-badge]');
  await whole(page, 'adminbot-1-bots');

  // An account, a campaign and a person written to, through the API.
  const ok = (r) => { if (r.status >= 300) throw new Error(JSON.stringify(r)); return r.body; };
  await page.goto(`${s.server.url}/outreach/accounts`);
  await hydrated(page);
  await page.fill('[data-testid=login-phone]', '+79990001001');
  await page.click('[data-testid=login-next]');
  await page.fill('[data-testid=login-code]', '12345');
  await page.click('[data-testid=login-next]');
  await page.waitForSelector('[data-testid=login-done]');
  // Round the clock, so the first message goes whatever the hour.
  await page.click('[data-testid=account-edit]');
  await page.fill('[data-testid=account-form] input[name=work_from]', '00:00');
  await page.fill('[data-testid=account-form] input[name=work_to]', '23:59');
  await page.click('[data-testid=account-save]');
  await page.waitForSelector('text=00:00–23:59');
  const accounts = ok(await s.api('GET', '/outreach/accounts'));
  const campaign = ok(await s.api('POST', '/outreach/campaigns', {
    name: 'Ипотека — холодная база', first_message: 'Здравствуйте, {name}! Подберём ипотеку под 6 %.', prompt: 'Ты менеджер.',
    stop_words: '', account_ids: accounts.map((a) => a.id), daily_cap: '100',
  }));
  const id = campaign.id;
  ok(await s.api('POST', `/outreach/campaigns/${id}/targets`, { text: '@ivan_petrov, Иван' }));
  ok(await s.api('POST', `/outreach/campaigns/${id}/start`));
  await page.goto(`${s.server.url}/outreach/dialogs?status=`);
  await hydrated(page);
  await page.waitForSelector('tr[data-dialog="@ivan_petrov"] [data-testid=dialog-link]', { timeout: 30000 });
  await page.click('tr[data-dialog="@ivan_petrov"] [data-testid=dialog-link]');
  await page.waitForURL('**/outreach/dialogs/*');
  await hydrated(page);
  await page.waitForSelector('[data-testid=stop-dialog]');
  await whole(page, 'adminbot-2-dialog');
  await page.click('[data-testid=stop-dialog]');
  await page.waitForSelector('[data-testid=dialog-reason]:has-text("Остановил")');
  await whole(page, 'adminbot-3-dialog-stopped');
});
