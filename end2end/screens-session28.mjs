// The AI-written first message and a dialog read back from Telegram, as
// the CRM shows them at desktop and phone width, in Russian: the campaign
// form with its «ИИ пишет первое сообщение» box, the campaign with it on,
// and a dialog before and after «Сверить с Telegram». Not part of the suite:
//   SHOTS_DIR=/tmp/shots AI_MOCK_BIN=… MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session28.mjs
import { test, after } from 'node:test';
import { whole } from './shots.mjs';
import { hydrated, startAiMock, suite } from './tests/helpers.mjs';

let ai = null;
after(() => ai?.stop());
const s = suite({
  env: async () => {
    ai = await startAiMock();
    return { OUTREACH_TELEGRAM: 'fake', AI_API_URL: `${ai.url}/v1`, AI_API_KEY: 'sk-mock', MIN_MESSAGE_DELAY: '2' };
  },
});

const fake = (body) => fetch(`${s.server.url}/_fake/outreach`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('a campaign whose first message the AI writes, and a dialog read back', async () => {
  await fake({ op: 'account', phone: '+79990001001', user_id: 5001, username: 'sales_anna' });
  await fake({ op: 'person', user_id: 7201, username: 'pavel_orlov', first_name: 'Павел' });
  const { page } = await s.adminPage('/outreach/accounts');
  await page.fill('[data-testid=login-phone]', '+79990001001');
  await page.click('[data-testid=login-next]');
  await page.fill('[data-testid=login-code]', '12345');
  await page.click('[data-testid=login-next]');
  await page.waitForSelector('[data-testid=login-done]');
  await page.click('[data-testid=account-edit]');
  await page.fill('[data-testid=account-form] input[name=work_from]', '00:00');
  await page.fill('[data-testid=account-form] input[name=work_to]', '23:59');
  await page.click('[data-testid=account-save]');
  await page.waitForSelector('text=00:00–23:59');

  await page.goto(`${s.server.url}/outreach`);
  await hydrated(page);
  await page.click('[data-testid=new-campaign]');
  await page.fill('[data-testid=campaign-name]', 'Персональные предложения');
  await page.fill('[data-testid=campaign-first]', 'Здравствуйте, {name}! Есть предложение по ипотеке в {city}.');
  await page.fill('[data-testid=campaign-prompt]', 'Ты менеджер агентства недвижимости.');
  await page.check('[data-testid=campaign-personalize]');
  for (const box of await page.$$('[data-testid=campaign-accounts] input[type=checkbox]')) await box.check();
  await whole(page, 'personal-1-form');
  await page.click('[data-testid=campaign-create]');
  await page.waitForURL('**/outreach/campaigns/*');
  await hydrated(page);
  await page.setInputFiles('[data-testid=targets-file]', {
    name: 'list.csv', mimeType: 'text/csv', buffer: Buffer.from('username,имя,city\n@pavel_orlov,Павел Андреевич,Казани\n'),
  });
  await page.click('[data-testid=targets-upload]');
  await page.waitForSelector('[data-testid=targets-report][data-added="1"]');
  await page.click('[data-testid=campaign-start]');
  await page.waitForSelector('[data-testid=campaign-status][data-status=running]');
  await page.waitForSelector('[data-testid=stat-contacted]:has-text("1")', { timeout: 30000 }).catch(() => {});
  await page.reload();
  await hydrated(page);
  await whole(page, 'personal-2-campaign');

  await fake({ op: 'reply', from_user_id: 7201, to_phone: '+79990001001', text: 'Я подумаю до понедельника', unheard: true });
  await fake({ op: 'app_message', phone: '+79990001001', to_user_id: 7201, text: 'Павел, это Анна, наберу вам в понедельник' });
  await page.goto(`${s.server.url}/outreach/dialogs?status=`);
  await hydrated(page);
  await page.waitForSelector('tr[data-dialog="@pavel_orlov"] [data-testid=dialog-link]', { timeout: 30000 });
  await page.click('tr[data-dialog="@pavel_orlov"] [data-testid=dialog-link]');
  await page.waitForURL('**/outreach/dialogs/*');
  await hydrated(page);
  await page.waitForSelector('[data-testid=sync-dialog]');
  await whole(page, 'personal-3-dialog');
  await page.click('[data-testid=sync-dialog]');
  await page.waitForSelector('[data-testid=sync-result]');
  await page.waitForSelector('[data-testid=message][data-direction=in]');
  await whole(page, 'personal-4-dialog-synced');
});
