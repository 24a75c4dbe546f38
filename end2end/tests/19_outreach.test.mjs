// Sales outreach from the browser, against the in-process fake Telegram
// (OUTREACH_TELEGRAM=fake) and the mock AI: an admin logs two accounts in
// through the code and 2FA password prompts, makes a campaign of a few
// people and starts it; the first messages keep each account's delay, a
// FLOOD_WAIT pauses one account and the other carries on; a reply gets
// the script's AI answer, interest becomes a lead in the CRM, and the
// manager answers from the dialog as the account and downloads it. The
// admin bot (OUTREACH_BOT_TOKEN, against the mock Bot API) lists, shows
// and exports the dialogs for an ADMIN_TELEGRAM_ID and refuses a stranger.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { hydrated, startAiMock, suite } from './helpers.mjs';

let ai = null;
after(() => ai?.stop());

const ADMIN_BOT = 700900200;
const ADMIN_BOT_TOKEN = `${ADMIN_BOT}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGsales`;
const ADMIN_TG = 4242;
const STRANGER_TG = 5150;

const s = suite({
  telegram: true,
  env: async () => {
    ai = await startAiMock();
    return {
      OUTREACH_TELEGRAM: 'fake',
      AI_API_URL: `${ai.url}/v1`,
      AI_API_KEY: 'sk-mock',
      MIN_MESSAGE_DELAY: '2',
      OUTREACH_REPLY_PAUSE: '1-2',
      OUTREACH_BOT_TOKEN: ADMIN_BOT_TOKEN,
      ADMIN_TELEGRAM_ID: `${ADMIN_TG}, 4343`,
    };
  },
});

const ACC1 = '+79990001001';
const ACC2 = '+79990001002';

async function fake(body) {
  const r = await fetch(`${s.server.url}/_fake/outreach`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  assert.equal(r.status, 204, await r.text());
}
const sent = async () => (await fetch(`${s.server.url}/_fake/outreach/sent`)).json();

async function waitUntil(what, check, timeout = 30000) {
  const until = Date.now() + timeout;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/// Logs an account in from the accounts page: the phone, the code (a wrong
/// one first), and its 2FA password when it has one.
async function logIn(page, phone, password) {
  await page.fill('[data-testid=login-phone]', phone);
  await page.click('[data-testid=login-next]');
  await page.waitForSelector('[data-testid=login-code]');
  await page.fill('[data-testid=login-code]', '11111');
  await page.click('[data-testid=login-next]');
  await page.waitForSelector('[data-testid=login-error]:has-text("Неверный")');
  await page.fill('[data-testid=login-code]', '12345');
  await page.click('[data-testid=login-next]');
  if (password) {
    await page.waitForSelector('[data-testid=login-password]');
    assert.match(await page.textContent('[data-testid=login-hint]'), /любимый город/);
    await page.fill('[data-testid=login-password]', password);
    await page.click('[data-testid=login-next]');
  }
  await page.waitForSelector('[data-testid=login-done]');
  await page.waitForSelector(`tr[data-account="${phone}"][data-status=active]`);
}

/// Working hours round the clock, so the test runs at any hour.
async function allDay(page, phone) {
  await page.click(`tr[data-account="${phone}"] [data-testid=account-edit]`);
  await page.fill('[data-testid=account-form] input[name=work_from]', '00:00');
  await page.fill('[data-testid=account-form] input[name=work_to]', 'полночь');
  await page.click('[data-testid=account-save]');
  await page.waitForSelector('[data-testid=account-form] .field-error:has-text("ЧЧ:ММ")');
  await page.fill('[data-testid=account-form] input[name=work_to]', '23:59');
  await page.click('[data-testid=account-save]');
  await page.waitForSelector(`tr[data-account="${phone}"] >> text=00:00–23:59`);
}

test('accounts log in, a campaign writes within the delays, survives a FLOOD_WAIT, and interest becomes a lead the manager answers', async () => {
  await fake({ op: 'account', phone: ACC1, user_id: 5001, username: 'sales_anna', password: 'Казань' });
  await fake({ op: 'account', phone: ACC2, user_id: 5002, username: 'sales_boris' });
  const people = [
    [7101, 'ivan_petrov', 'Иван'], [7102, 'maria_sokol', 'Мария'],
    [7103, 'oleg_kuznec', 'Олег'], [7104, 'nina_lebed', 'Нина'],
  ];
  for (const [user_id, username, first_name] of people) {
    await fake({ op: 'person', user_id, username, first_name });
  }

  const { page } = await s.adminPage('/outreach/accounts');
  await page.waitForSelector('[data-testid=no-accounts]');
  // A number Telegram doesn't know is refused on its field.
  await page.fill('[data-testid=login-phone]', '+79990009999');
  await page.click('[data-testid=login-next]');
  await page.waitForSelector('[data-testid=login-error]:has-text("не зарегистрирован")');
  await logIn(page, ACC1, 'Казань');
  await page.reload();
  await hydrated(page);
  await logIn(page, ACC2, null);
  await allDay(page, ACC1);
  await allDay(page, ACC2);
  // The first account will be told to wait by Telegram on its first send.
  await fake({ op: 'fail', phone: ACC1, error: 'FLOOD_WAIT_600' });

  // A campaign: checked, created, filled and started.
  await page.goto(`${s.server.url}/outreach`);
  await hydrated(page);
  await page.click('[data-testid=new-campaign]');
  await page.fill('[data-testid=campaign-cap]', 'сто');
  await page.click('[data-testid=campaign-create]');
  await page.waitForSelector('.field-error:has-text("Укажите название")');
  await page.waitForSelector('.field-error:has-text("от 1 до 100 000")');
  await page.fill('[data-testid=campaign-name]', 'Ипотека — холодная база');
  await page.fill('[data-testid=campaign-first]', 'Здравствуйте, {name}! Подберём ипотеку под 6 %.');
  await page.fill('[data-testid=campaign-prompt]', 'Ты менеджер агентства недвижимости.');
  await page.fill('[data-testid=campaign-stop]', 'юрист');
  await page.fill('[data-testid=campaign-cap]', '100');
  await page.selectOption('[data-testid=campaign-manager]', { label: 'Администратор' });
  for (const box of await page.$$('[data-testid=campaign-accounts] input[type=checkbox]')) await box.check();
  await page.click('[data-testid=campaign-create]');
  await page.waitForURL('**/outreach/campaigns/*');
  await hydrated(page);
  await page.fill('[data-testid=targets-text]', '@ivan_petrov, Иван\nt.me/maria_sokol\n@oleg_kuznec\nне логин\n@nina_lebed\n@ivan_petrov');
  await page.click('[data-testid=targets-add]');
  await page.waitForSelector('[data-testid=targets-report][data-added="4"]');
  assert.match(await page.textContent('[data-testid=bad-lines]'), /не логин/);
  await page.waitForSelector('[data-testid=stat-targets]:has-text("4")');
  await page.click('[data-testid=campaign-start]');
  await page.waitForSelector('[data-testid=campaign-status][data-status=running]');

  // Everyone gets the first message, only from the second account (the
  // first waits out its FLOOD_WAIT), two seconds apart at least.
  const first = await waitUntil('four first messages', async () => {
    const all = await sent();
    return all.length >= 4 ? all : null;
  });
  assert.deepEqual(new Set(first.map((m) => m.phone)), new Set([ACC2]));
  assert.deepEqual(new Set(first.map((m) => m.to)), new Set([7101, 7102, 7103, 7104]));
  const times = first.map((m) => Date.parse(m.at)).sort((a, b) => a - b);
  for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 2000, `sends ${times[i] - times[i - 1]} ms apart`);
  assert.ok(first.some((m) => m.text === 'Здравствуйте, Иван! Подберём ипотеку под 6 %.'));
  await page.goto(`${s.server.url}/outreach/accounts`);
  await hydrated(page);
  await page.waitForSelector(`tr[data-account="${ACC1}"] [data-testid=account-waits]`);
  assert.match(await page.textContent(`tr[data-account="${ACC1}"] [data-testid=account-status]`), /FLOOD_WAIT_600/);
  assert.match(await page.textContent(`tr[data-account="${ACC2}"] [data-testid=account-today]`), /^4 \/ 20$/);

  // Replies: a question gets the script's answer; interest is handed over.
  await fake({ op: 'reply', from_user_id: 7101, to_phone: ACC2, text: 'А какие сейчас ставки?' });
  await fake({ op: 'reply', from_user_id: 7102, to_phone: ACC2, text: 'Интересно, позвоните мне завтра' });
  await waitUntil('the AI answer', async () => (await sent()).find((m) => m.to === 7101 && /^Ответ ИИ/.test(m.text)));

  await page.goto(`${s.server.url}/outreach/dialogs`);
  await hydrated(page);
  await page.waitForSelector('tr[data-dialog="@maria_sokol"] [data-testid=dialog-status][data-status=interested]');
  const leadLink = await page.textContent('tr[data-dialog="@maria_sokol"] [data-testid=dialog-lead]');
  const number = leadLink.match(/№(\d+)/)[1];
  // The lead is in the CRM, from the cold base, with the dialog.
  const lead = await s.api('GET', `/leads/${number}`);
  assert.equal(lead.status, 200, JSON.stringify(lead.body));
  assert.match(JSON.stringify(lead.body), /Холодная база/);
  assert.match(JSON.stringify(lead.body), /Интересно, позвоните мне завтра/);

  // The manager answers as the account from the dialog page.
  await page.click('tr[data-dialog="@maria_sokol"] [data-testid=dialog-link]');
  await page.waitForURL('**/outreach/dialogs/*');
  await hydrated(page);
  await page.waitForSelector('[data-testid=message][data-direction=in]:has-text("Интересно")');
  await page.fill('[data-testid=write-text]', 'Добрый день! Я Анна, менеджер. Позвоню завтра в 11:00.');
  await page.click('[data-testid=write-send]');
  await page.waitForSelector('[data-testid=message][data-direction=out]:has-text("Позвоню завтра")');
  const manager = (await sent()).find((m) => m.to === 7102 && /Позвоню завтра/.test(m.text));
  assert.equal(manager?.phone, ACC2, 'from the dialog\'s own account');
  // The person answers; the open page shows it without a reload.
  await fake({ op: 'reply', from_user_id: 7102, to_phone: ACC2, text: 'Договорились' });
  await page.waitForSelector('[data-testid=message][data-direction=in]:has-text("Договорились")', { timeout: 20000 });

  // The dialog as a text file.
  const href = await page.getAttribute('[data-testid=dialog-export]', 'href');
  const file = await page.evaluate(async (u) => { const r = await fetch(u); return { type: r.headers.get('content-type'), text: await r.text() }; }, href);
  assert.match(file.type, /text\/plain/);
  assert.match(file.text, /Кампания: Ипотека — холодная база/);
  assert.match(file.text, /@maria_sokol: Договорились/);

  // The campaign's figures.
  await page.goto(`${s.server.url}/outreach`);
  await hydrated(page);
  const row = await page.textContent('tr[data-campaign="Ипотека — холодная база"]');
  assert.match(row, /Лидов 1/);
});

test('the admin bot lists, shows and exports the dialogs for the team and refuses a stranger', async () => {
  const tg = s.telegram;
  const say = (chat, text) => tg.control(`bots/${ADMIN_BOT}/message`, { chat_id: chat, text, first_name: 'Кто-то' });

  // A stranger gets the polite refusal and nothing else.
  await say(STRANGER_TG, '/list');
  await tg.waitFor(ADMIN_BOT, STRANGER_TG, /только сотрудникам отдела продаж/);
  await say(STRANGER_TG, '/export 1');

  // The admin: the active dialogs with their numbers, one's history, its file.
  await say(ADMIN_TG, '/list');
  const list = await tg.waitFor(ADMIN_BOT, ADMIN_TG, /Активные диалоги/);
  assert.match(list, /№\d+ @maria_sokol[^\n]* — интерес → лид/);
  const n = list.match(/№(\d+) @ivan_petrov/)[1];
  assert.equal(n, '1', 'the campaign\'s first person is dialog 1');
  await say(ADMIN_TG, '/view 1');
  const view = await tg.waitFor(ADMIN_BOT, ADMIN_TG, /^Диалог №1 ·/);
  assert.match(view, /Кампания «Ипотека — холодная база»/);
  assert.match(view, /А какие сейчас ставки\?/);
  assert.match(view, /Ответ ИИ/);
  await say(ADMIN_TG, '/export 1');
  const doc = await tg.waitForMessage(ADMIN_BOT, ADMIN_TG, (m) => m.method === 'sendDocument', 'the dialog as a file');
  assert.equal(doc.document, 'upload:dialog-1.txt');
  assert.ok(doc.document_bytes > 100, `the transcript has ${doc.document_bytes} bytes`);

  await waitUntil('the second refusal', async () => (await tg.sent(ADMIN_BOT, STRANGER_TG)).length === 2);
  for (const m of await tg.sent(ADMIN_BOT, STRANGER_TG)) {
    assert.equal(m.method, 'sendMessage');
    assert.match(m.text, /^Извините, этот бот служебный/);
  }

  // In the CRM the bot is marked as the outreach admin bot.
  const { ctx, page } = await s.adminPage('/bots');
  await page.waitForSelector(`tr[data-bot="mak_test_${ADMIN_BOT}_bot"] [data-testid=outreach-badge]`);
  await ctx.close();
});

test('the AI writes a campaign\'s first message for the person, and a dialog is read back from Telegram', async () => {
  await fake({ op: 'person', user_id: 7201, username: 'pavel_orlov', first_name: 'Павел' });
  const { ctx, page } = await s.adminPage('/outreach');
  await page.click('[data-testid=new-campaign]');
  await page.fill('[data-testid=campaign-name]', 'Персональные предложения');
  await page.fill('[data-testid=campaign-first]', 'Здравствуйте, {name}! Есть предложение по ипотеке в {city}.');
  await page.fill('[data-testid=campaign-prompt]', 'Ты менеджер агентства недвижимости.');
  await page.check('[data-testid=campaign-personalize]');
  for (const box of await page.$$('[data-testid=campaign-accounts] input[type=checkbox]')) await box.check();
  await page.click('[data-testid=campaign-create]');
  await page.waitForURL('**/outreach/campaigns/*');
  await hydrated(page);
  await page.waitForSelector('[data-testid=campaign-personal]');
  // The box stays ticked in the settings.
  await page.click('[data-testid=campaign-edit]');
  assert.equal(await page.isChecked('[data-testid=campaign-form] [data-testid=campaign-personalize]'), true);
  await page.setInputFiles('[data-testid=targets-file]', {
    name: 'list.csv', mimeType: 'text/csv', buffer: Buffer.from('username,имя,city\n@pavel_orlov,Павел Андреевич,Казани\n'),
  });
  await page.click('[data-testid=targets-upload]');
  await page.waitForSelector('[data-testid=targets-report][data-added="1"]');
  await page.click('[data-testid=campaign-start]');
  await page.waitForSelector('[data-testid=campaign-status][data-status=running]');

  // The mock AI answers «Ответ ИИ на «<the request>»»: what went is the
  // AI's, written from the filled-in template and what is known of him.
  const first = await waitUntil('the personal first message', async () => (await sent()).find((m) => m.to === 7201));
  assert.equal(first.phone, ACC2);
  assert.match(first.text, /^Ответ ИИ на «Шаблон:\nЗдравствуйте, Павел Андреевич! Есть предложение по ипотеке в Казани\./);
  assert.match(first.text, /Имя: Павел Андреевич\nUsername: @pavel_orlov/);

  // He answers while nothing listens, and the manager writes to him from
  // the phone's Telegram app: «Сверить с Telegram» brings both in.
  await fake({ op: 'reply', from_user_id: 7201, to_phone: ACC2, text: 'Я подумаю до понедельника', unheard: true });
  await fake({ op: 'app_message', phone: ACC2, to_user_id: 7201, text: 'Павел, это Анна, наберу вам в понедельник' });
  await page.goto(`${s.server.url}/outreach/dialogs?campaign=${page.url().split('/').pop()}`);
  await hydrated(page);
  await page.click('tr[data-dialog="@pavel_orlov"] [data-testid=dialog-link]');
  await page.waitForURL('**/outreach/dialogs/*');
  await hydrated(page);
  await page.waitForSelector('[data-testid=message][data-direction=out]:has-text("Ответ ИИ")');
  assert.equal(await page.locator('[data-testid=message]').count(), 1);
  await page.click('[data-testid=sync-dialog]');
  await page.waitForSelector('[data-testid=sync-result]:has-text("Добавлено сообщений: 2")');
  await page.waitForSelector('[data-testid=message][data-direction=in]:has-text("Я подумаю")');
  const texts = await page.locator('[data-testid=message] .text').allTextContents();
  assert.equal(texts.length, 3);
  assert.match(texts[1], /Я подумаю/);
  assert.match(texts[2], /наберу вам в понедельник/);
  const metas = await page.locator('[data-testid=message] .meta').allTextContents();
  assert.match(metas[2], /Из приложения Telegram/);
  // His word came before the manager's answer: the AI does not step in.
  await new Promise((r) => setTimeout(r, 3000));
  assert.equal((await sent()).filter((m) => m.to === 7201).length, 1);
  // Again: nothing twice.
  await page.click('[data-testid=sync-dialog]');
  await page.waitForSelector('[data-testid=sync-result]:has-text("Добавлено сообщений: 0")');
  assert.equal(await page.locator('[data-testid=message]').count(), 3);
  await ctx.close();
});
