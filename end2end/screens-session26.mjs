// A walk through outreach as an admin meets it, at desktop and phone width,
// in Russian, whole pages: the empty accounts page, the login's code and
// password steps, a campaign's form refused and filled, the campaign with
// its targets and figures while it runs, the dialogs list, a handed-over
// dialog the manager answered. Not part of the suite:
//   SHOTS_DIR=/tmp/shots AI_MOCK_BIN=… TG_MOCK_BIN=… MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session26.mjs
import { test, after } from 'node:test';
import { whole } from './shots.mjs';
import { hydrated, startAiMock, suite } from './tests/helpers.mjs';

let ai = null;
after(() => ai?.stop());
const s = suite({
  env: async () => {
    ai = await startAiMock();
    return { OUTREACH_TELEGRAM: 'fake', AI_API_URL: `${ai.url}/v1`, AI_API_KEY: 'sk-mock', MIN_MESSAGE_DELAY: '2', OUTREACH_REPLY_PAUSE: '1-2' };
  },
});

const fake = (body) => fetch(`${s.server.url}/_fake/outreach`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const sent = async () => (await fetch(`${s.server.url}/_fake/outreach/sent`)).json();
const pause = (ms) => new Promise((r) => setTimeout(r, ms));


test('an admin walks through outreach', async () => {
  await fake({ op: 'account', phone: '+79990001001', user_id: 5001, username: 'sales_anna', password: 'Казань' });
  for (const [user_id, username, first_name] of [[7101, 'ivan_petrov', 'Иван'], [7102, 'maria_sokol', 'Мария'], [7103, 'oleg_kuznec', 'Олег']]) {
    await fake({ op: 'person', user_id, username, first_name });
  }
  const { page } = await s.adminPage('/outreach/accounts');
  await whole(page, 'out-1-accounts-empty');
  await page.fill('[data-testid=login-phone]', '+7 999 000-10-01');
  await page.click('[data-testid=login-next]');
  await page.waitForSelector('[data-testid=login-code]');
  await whole(page, 'out-2-login-code');
  await page.fill('[data-testid=login-code]', '12345');
  await page.click('[data-testid=login-next]');
  await page.waitForSelector('[data-testid=login-password]');
  await whole(page, 'out-3-login-password');
  await page.fill('[data-testid=login-password]', 'Казань');
  await page.click('[data-testid=login-next]');
  await page.waitForSelector('[data-testid=login-done]');
  await page.click('[data-testid=account-edit]');
  await page.fill('[data-testid=account-form] input[name=title]', 'Анна, отдел продаж');
  await page.fill('[data-testid=account-form] input[name=work_from]', '00:00');
  await page.fill('[data-testid=account-form] input[name=work_to]', '23:59');
  await page.fill('[data-testid=account-cap]', '0');
  await page.click('[data-testid=account-save]');
  await page.waitForSelector('[data-testid=account-form] .field-error');
  await whole(page, 'out-4-account-form-refused');
  await page.fill('[data-testid=account-cap]', '25');
  await page.click('[data-testid=account-save]');
  await page.waitForSelector('text=00:00–23:59');

  await page.goto(`${s.server.url}/outreach`);
  await hydrated(page);
  await page.click('[data-testid=new-campaign]');
  await page.click('[data-testid=campaign-create]');
  await page.waitForSelector('.field-error[data-field=name]');
  await whole(page, 'out-5-campaign-form-refused');
  await page.fill('[data-testid=campaign-name]', 'Ипотека — холодная база');
  await page.fill('[data-testid=campaign-first]', 'Здравствуйте, {name}! Подберём ипотеку под 6 % — интересно?');
  await page.fill('[data-testid=campaign-prompt]', 'Ты менеджер агентства недвижимости. Коротко отвечай на вопросы, предложи созвон.');
  await page.fill('[data-testid=campaign-stop]', 'юрист, позвоните');
  await page.selectOption('[data-testid=campaign-manager]', { label: 'Администратор' });
  for (const box of await page.$$('[data-testid=campaign-accounts] input[type=checkbox]')) await box.check();
  await page.click('[data-testid=campaign-create]');
  await page.waitForURL('**/outreach/campaigns/*');
  await hydrated(page);
  await page.fill('[data-testid=targets-text]', '@ivan_petrov, Иван\nt.me/maria_sokol\n@oleg_kuznec\nне логин');
  await page.click('[data-testid=targets-add]');
  await page.waitForSelector('[data-testid=targets-report]');
  await whole(page, 'out-6-campaign-draft');
  await page.click('[data-testid=campaign-start]');
  await page.waitForSelector('[data-testid=campaign-status][data-status=running]');
  while ((await sent()).length < 3) await pause(300);
  await fake({ op: 'reply', from_user_id: 7101, to_phone: '+79990001001', text: 'А какие сейчас ставки?' });
  await fake({ op: 'reply', from_user_id: 7102, to_phone: '+79990001001', text: 'Интересно, позвоните мне завтра' });
  while (!(await sent()).some((m) => m.to === 7101 && /^Ответ ИИ/.test(m.text))) await pause(300);
  await pause(1500);
  await page.reload();
  await hydrated(page);
  await whole(page, 'out-7-campaign-running');
  await page.goto(`${s.server.url}/outreach/dialogs`);
  await hydrated(page);
  await page.waitForSelector('[data-status=interested]');
  await whole(page, 'out-8-dialogs');
  await page.click('tr[data-dialog="@maria_sokol"] [data-testid=dialog-link]');
  await hydrated(page);
  await page.fill('[data-testid=write-text]', 'Добрый день! Я Анна, менеджер. Позвоню завтра в 11:00 — удобно?');
  await page.click('[data-testid=write-send]');
  await page.waitForSelector('[data-testid=message][data-direction=out]:has-text("Позвоню завтра")');
  await whole(page, 'out-9-dialog');
  await page.goto(`${s.server.url}/outreach/accounts`);
  await hydrated(page);
  await whole(page, 'out-10-accounts');
});
