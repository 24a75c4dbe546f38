// Broadcasts from the browser, against the mock Bot API with Telegram's
// limits on: contact import and its report, a segment by tag and variable
// with its live count, a broadcast with a flow button whose progress bar
// fills live as the mock receives it, pause and resume, a user who blocked
// the bot counted as blocked, one who pressed the button as engaged, /stop
// leaving the next audience, and a manager's large broadcast waiting for an
// admin's approval.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hydrated, suite } from './helpers.mjs';

const s = suite({ telegram: true });
const BOT = 700500600;
const TOKEN = `${BOT}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao`;
const CHATS = [5001, 5002, 5003, 5004, 5005, 5006];
let botId;

async function bots(method, path, body) {
  const r = await fetch(`${s.server.url}/api/bots${path}`, {
    method, headers: { Authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: r.status === 204 ? null : await r.json() };
}

async function reachable() {
  const r = await s.api('POST', `/bots/${botId}/audience/count`, {});
  return r.body.reachable;
}

async function until(what, check, timeout = 20000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 150));
  }
}

/// The broadcast messages the mock received.
async function broadcastsSent(re) {
  let n = 0;
  for (const chat of CHATS) {
    n += (await s.telegram.sent(BOT, chat)).filter(m => typeof m.text === 'string' && re.test(m.text)).length;
  }
  return n;
}

test('contacts, a segment, a live broadcast with pause, blocked and engaged users, /stop', async () => {
  const connected = await bots('POST', '', { token: TOKEN });
  assert.equal(connected.status, 201, JSON.stringify(connected.body));
  botId = connected.body.id;
  const names = ['Анна', 'Борис', 'Вера', 'Глеб', 'Дина', 'Егор'];
  for (const [i, chat] of CHATS.entries()) {
    await s.telegram.control(`bots/${BOT}/message`, { chat_id: chat, text: '/start', first_name: names[i] });
  }
  await until('six users', async () => (await reachable()) === 6);

  const { ctx, page } = await s.adminPage(`/bots/${botId}/broadcasts`);
  await page.waitForSelector('[data-testid=no-broadcasts]');

  // Contact import: tags and variables; the row nobody matches is explained.
  const csv = 'telegram_id;метки;город\n5001;vip;Казань\n5002;vip;Казань\n5003;vip;Москва\n777;vip;Омск\n';
  await page.setInputFiles('[data-testid=contacts-file]', { name: 'контакты.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.click('[data-testid=contacts-upload]');
  await page.waitForSelector('[data-testid=contacts-report]');
  assert.equal(await page.getAttribute('[data-testid=contacts-report]', 'data-matched'), '3');
  assert.equal(await page.getAttribute('[data-testid=contacts-report]', 'data-unmatched'), '1');
  assert.match(await page.textContent('[data-testid=unmatched]'), /777.*не запускал бота/s);

  // A segment by tag and variable, counted live while edited.
  await page.click('[data-testid=new-segment]');
  await page.fill('[data-testid=segment-name]', 'VIP Казань');
  await page.click('[data-testid=add-condition]');
  await page.fill('[data-testid=condition] >> nth=0 >> [data-testid=cond-a]', 'vip');
  await page.dispatchEvent('[data-testid=condition] >> nth=0 >> [data-testid=cond-a]', 'change');
  await page.waitForSelector('[data-testid=segment-live-count][data-reachable="3"]');
  await page.click('[data-testid=add-condition]');
  await page.selectOption('[data-testid=condition] >> nth=1 >> [data-testid=cond-field]', 'var');
  await page.fill('[data-testid=condition] >> nth=1 >> [data-testid=cond-a]', 'город');
  await page.dispatchEvent('[data-testid=condition] >> nth=1 >> [data-testid=cond-a]', 'change');
  await page.fill('[data-testid=condition] >> nth=1 >> [data-testid=cond-b]', 'Казань');
  await page.dispatchEvent('[data-testid=condition] >> nth=1 >> [data-testid=cond-b]', 'change');
  await page.waitForSelector('[data-testid=segment-live-count][data-reachable="2"]');
  await page.click('[data-testid=save-segment]');
  await page.waitForSelector('tr[data-segment="VIP Казань"] [data-testid=segment-count]');
  assert.equal((await page.textContent('tr[data-segment="VIP Казань"] [data-testid=segment-count]')).trim(), '2');

  // One message a second, so the progress can be watched and paused.
  await page.fill('[data-testid=bc-settings] input[name=rate]', '1');
  await page.click('[data-testid=bc-settings] button[type=submit]');
  await page.waitForSelector('[data-testid=bc-settings] .pill.ok');

  // Compose: text with a variable, a button that starts the greeting flow.
  await page.click('[data-testid=new-broadcast]');
  await page.waitForSelector('[data-testid=composer]');
  await page.fill('[data-testid=bc-title]', 'Декабрьская новость');
  await page.fill('[data-testid=bc-text]', 'Привет, {first_name|друг}! У нас <b>новость</b>.');
  await page.click('[data-testid=bc-add-button]');
  await page.fill('[data-testid=bc-button-text]', 'Подробнее');
  await page.selectOption('[data-testid=bc-button-kind]', 'flow');
  await page.selectOption('[data-testid=bc-button-flow]', { label: 'Приветствие' });
  await page.click('[data-testid=bc-add-button]');
  await page.fill('[data-testid=bc-button] >> nth=1 >> [data-testid=bc-button-text]', 'Сайт');
  await page.fill('[data-testid=bc-button] >> nth=1 >> [data-testid=bc-button-url]', 'https://example.ru/dec');
  await page.waitForSelector('[data-testid=bc-count][data-reachable="6"]');
  assert.match(await page.textContent('[data-testid=bc-preview]'), /Привет, Иван! У нас новость\./);
  assert.match(await page.textContent('[data-testid=bc-preview]'), /\/stop/);
  assert.match(await page.textContent('[data-testid=bc-preview]'), /Подробнее/);
  await page.click('[data-testid=bc-start]');
  await page.waitForURL('**/broadcasts/*');
  await hydrated(page);
  const broadcastId = page.url().split('/').pop();

  // The last user blocks the bot while it sends: the send gets 403.
  await s.telegram.control(`bots/${BOT}/block`, { chat_id: 5006 });
  // The bar fills live as the mock receives the messages.
  await page.waitForSelector('[data-testid=progress][data-total="6"]');
  await page.waitForFunction(() => {
    const p = document.querySelector('[data-testid=progress]');
    return p && Number(p.dataset.sent) >= 2;
  }, null, { timeout: 15000 });
  await page.click('[data-testid=bc-pause]');
  await page.waitForSelector('[data-testid=broadcast][data-state=paused]');
  const atPause = await broadcastsSent(/^Привет/);
  assert.ok(atPause < 6, `paused before the end (${atPause})`);
  await new Promise(r => setTimeout(r, 2500));
  assert.ok(await broadcastsSent(/^Привет/) <= atPause + 1, 'a pause stops the sending (one may have been in flight)');
  await page.click('[data-testid=bc-resume]');
  await page.waitForSelector('[data-testid=broadcast][data-state=done]', { timeout: 20000 });
  assert.equal((await page.textContent('[data-testid=st-total]')).trim(), '6');
  assert.equal((await page.textContent('[data-testid=st-delivered]')).trim(), '5');
  assert.equal((await page.textContent('[data-testid=st-blocked]')).trim(), '1');
  assert.match(await page.textContent('[data-testid=bc-no-read]'), /О прочтении Telegram ботам не сообщает/);
  const msg = (await s.telegram.sent(BOT, 5001)).find(m => /^Привет, Анна!/.test(m.text || ''));
  assert.ok(msg, 'Анна got her name');
  assert.equal(msg.parse_mode, 'HTML');

  // Анна presses the button: the flow answers, the press is counted.
  const markup = typeof msg.reply_markup === 'string' ? JSON.parse(msg.reply_markup) : msg.reply_markup;
  await s.telegram.control(`bots/${BOT}/callback`, { chat_id: 5001, data: markup.inline_keyboard[0][0].callback_data });
  await page.waitForFunction(() => document.querySelector('[data-testid=st-engaged]')?.textContent.trim() === '1', null, { timeout: 15000 });
  // Борис follows the link button: it goes through the CRM, is counted and leads on.
  const boris = (await s.telegram.sent(BOT, 5002)).find(m => /^Привет, Борис!/.test(m.text || ''));
  const borisMarkup = typeof boris.reply_markup === 'string' ? JSON.parse(boris.reply_markup) : boris.reply_markup;
  const link = borisMarkup.inline_keyboard[1][0].url;
  assert.ok(link.startsWith(s.server.url + '/b/'), link);
  const followed = await fetch(link, { redirect: 'manual' });
  assert.equal(followed.headers.get('location'), 'https://example.ru/dec');
  assert.equal((await fetch(link.slice(0, -2) + '00', { redirect: 'manual' })).status, 404, 'a forged link is not counted');
  await page.waitForFunction(() => document.querySelector('[data-testid=st-engaged]')?.textContent.trim() === '2', null, { timeout: 15000 });
  await page.waitForSelector('[data-testid=bc-clicks]');
  assert.match(await page.textContent('[data-testid=bc-clicks]'), /Подробнее\s*сценарий\s*1/);
  assert.match(await page.textContent('[data-testid=bc-clicks]'), /Сайт\s*ссылка\s*1/);
  const csvExport = await page.evaluate(async (id) => (await fetch(`/broadcasts/${id}/export.csv`)).text(), broadcastId);
  assert.match(csvExport, /5006;.*заблокировал бота/);

  // Борис sends /stop: the next broadcast leaves him (and the blocked user) out.
  await s.telegram.control(`bots/${BOT}/message`, { chat_id: 5002, text: '/stop', first_name: 'Борис' });
  await s.telegram.waitFor(BOT, 5002, /отписались/);
  await page.goto(`${s.server.url}/bots/${botId}/broadcasts`);
  await hydrated(page);
  await page.click('[data-testid=new-broadcast]');
  await page.waitForSelector('[data-testid=bc-count][data-reachable="4"]');
  assert.match(await page.textContent('[data-testid=bc-count]'), /заблокировали бота: 1 · отписались: 1/);
  // A broadcast at a time waits for it.
  await page.fill('[data-testid=bc-text]', 'Завтра скидки');
  await page.selectOption('[data-testid=bc-when]', 'at');
  await page.fill('[data-testid=bc-send-at]', '2031-01-15T10:00');
  await page.click('[data-testid=bc-start]');
  await page.waitForURL('**/broadcasts/*');
  await page.waitForSelector('[data-testid=broadcast][data-state=scheduled]');
  await ctx.close();
});

test("a manager's broadcast over the threshold waits for an admin, who sees its audience and approves it", async () => {
  const { ctx: adminCtx, page: admin } = await s.adminPage(`/bots/${botId}/broadcasts`);
  await admin.fill('[data-testid=bc-threshold] input[name=threshold]', '2');
  await admin.click('[data-testid=bc-threshold] button[type=submit]');
  await admin.waitForSelector('[data-testid=bc-threshold] .pill.ok');
  await admin.fill('[data-testid=bc-settings] input[name=rate]', '30');
  await admin.click('[data-testid=bc-settings] button[type=submit]');

  const inv = await s.api('POST', '/invitations', { email: 'manager@mak.test', role: 'employee' });
  assert.equal(inv.status, 201, JSON.stringify(inv.body));
  const ctx = await s.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(inv.body.url);
  await hydrated(page);
  await page.fill('[data-testid=invite-form] input[name=full_name]', 'Мария Менеджер');
  await page.fill('[data-testid=invite-form] input[name=password]', 'manager-pass-1');
  await page.click('[data-testid=invite-form] button[type=submit]');
  await page.waitForURL('**/admin/users');
  await page.goto(`${s.server.url}/bots/${botId}/broadcasts`);
  await hydrated(page);
  await page.click('[data-testid=new-broadcast]');
  await page.fill('[data-testid=bc-text]', 'Всем привет от менеджера');
  await page.waitForSelector('[data-testid=bc-count][data-reachable="4"]');
  await page.waitForSelector('[data-testid=bc-needs-approval]');
  await page.click('[data-testid=bc-start]');
  await page.waitForURL('**/broadcasts/*');
  await page.waitForSelector('[data-testid=broadcast][data-state=awaiting_approval]');
  assert.equal(await page.$('[data-testid=bc-approve]'), null, 'a manager cannot approve');
  const id = page.url().split('/').pop();

  await admin.goto(`${s.server.url}/broadcasts/${id}`);
  await hydrated(admin);
  await admin.waitForSelector('[data-testid=bc-awaiting]');
  assert.match(await admin.textContent('[data-testid=bc-audience]'), /Получат: 4/);
  assert.match(await admin.textContent('[data-testid=bc-message]'), /Всем привет от менеджера/);
  await admin.click('[data-testid=bc-approve]');
  await admin.waitForSelector('[data-testid=broadcast][data-state=done]', { timeout: 20000 });
  assert.equal((await admin.textContent('[data-testid=st-delivered]')).trim(), '4');
  await until('the manager sees it done', async () => {
    await page.reload();
    await hydrated(page);
    return (await page.$('[data-testid=broadcast][data-state=done]')) !== null;
  });
  await ctx.close();
  await adminCtx.close();
});
