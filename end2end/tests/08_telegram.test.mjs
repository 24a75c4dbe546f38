// The Telegram platform from the browser, against the mock Bot API: connect a
// bot, draw a flow and try it, a simulated Telegram user goes through it and
// the lead appears in the CRM, the live inbox and an operator's reply, a
// partner linking Telegram and hearing of a status change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hydrated, suite } from './helpers.mjs';

const s = suite({ telegram: true });
const BOT = 700300400;
const TOKEN = `${BOT}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao`;
const USERNAME = `mak_test_${BOT}_bot`;

async function bots(method, path, body) {
  const r = await fetch(`${s.server.url}/api/bots${path}`, {
    method, headers: { Authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: r.status === 204 ? null : await r.json() };
}

async function pick(page, testid, value) {
  await page.selectOption(`[data-testid=step-panel] [data-testid=${testid}]`, value);
}

test('a bot is connected by its token, a flow is drawn, refused while invalid, published and tried in «Проверить»', async () => {
  const { ctx, page } = await s.adminPage('/bots');
  // A malformed token is refused with a Russian message and nothing is stored.
  await page.fill('[data-testid=bot-token]', 'не токен');
  await page.click('[data-testid=connect-bot] button[type=submit]');
  await page.waitForSelector('.alert.error');
  assert.match(await page.textContent('.alert.error'), /Токен не подходит/);
  await page.fill('[data-testid=bot-token]', TOKEN);
  await page.click('[data-testid=connect-bot] button[type=submit]');
  await page.waitForSelector(`tr[data-bot="${USERNAME}"]`);
  assert.ok(!(await page.content()).includes('AAF7-g0gYnc'), 'the token never reaches the browser');
  const listed = await bots('GET', '');
  assert.equal(listed.status, 200);
  assert.ok(!JSON.stringify(listed.body).includes('AAF7'), 'nor an API response');
  const botId = listed.body[0].id;
  assert.equal(listed.body[0].mode, 'webhook', 'PUBLIC_URL is set: the bot got a webhook');

  await page.click(`tr[data-bot="${USERNAME}"] [data-testid=bot-link]`);
  await page.waitForURL(`**/bots/${botId}`);
  await hydrated(page);
  await page.waitForSelector('[data-flow="Приветствие"]');
  await page.click('[data-testid=new-flow]');
  await page.waitForSelector('[data-testid=flow-editor]');
  await page.fill('[data-testid=flow-name]', 'Заявка из бота');
  // The trigger: the command /order.
  await page.fill('[data-testid=trigger-value]', 'order');
  await page.dispatchEvent('[data-testid=trigger-value]', 'change');

  // s1 (a message) becomes the last step; add the questions and the lead.
  await page.click('.flow-step[data-step=s1]');
  await page.fill('[data-testid=step-panel] [data-testid=step-text]', 'Спасибо, {name}! Заявка №{lead_number} принята.');
  for (const kind of ['question', 'question', 'create_lead']) {
    await page.selectOption('[data-testid=step-kind]', kind);
    await page.click('[data-testid=add-step]');
  }
  await page.waitForSelector('.flow-step[data-step=s4]');
  // A step gets a readable name: the map and the reasons use it.
  await page.click('.flow-step[data-step=s2]');
  await page.fill('[data-testid=step-panel] [data-testid=step-title]', 'Имя клиента');
  await page.waitForFunction(() => /Имя клиента/.test(document.querySelector('.flow-step[data-step=s2] [data-testid=step-head]')?.textContent || ''));
  // Saving an incomplete draft works, but it can't be published and says why.
  await page.click('[data-testid=save-flow]');
  await page.waitForSelector('[data-testid=flow-problems]');
  assert.match(await page.textContent('[data-testid=flow-problems]'), /Шаг «Имя клиента»: вопрос пустой/);
  assert.match(await page.textContent('[data-testid=flow-problems]'), /Шаг «Вопрос s3»: вопрос пустой/);
  assert.ok(await page.isDisabled('[data-testid=publish-flow]'));

  await page.click('.flow-step[data-step=s2]');
  await page.fill('[data-testid=step-panel] [data-testid=step-text]', 'Как вас зовут?');
  await page.fill('[data-testid=step-panel] [data-testid=step-var]', 'name');
  await pick(page, 'step-next', 's3');
  await page.click('[data-testid=make-start]');
  await page.click('.flow-step[data-step=s3]');
  await page.fill('[data-testid=step-panel] [data-testid=step-text]', 'Ваш телефон?');
  await page.fill('[data-testid=step-panel] [data-testid=step-var]', 'phone');
  await pick(page, 'step-check', 'phone');
  await pick(page, 'step-next', 's4');
  await page.click('.flow-step[data-step=s4]');
  await pick(page, 'step-next', 's1');
  // Connections are drawn as lines.
  await page.waitForSelector('.flow-edge[data-from=s2][data-to=s3]', { state: 'attached' });
  await page.waitForSelector('.flow-edge[data-from=s4][data-to=s1]', { state: 'attached' });
  // Drag a box: it moves and the change is flagged as unsaved.
  const box = await page.locator('.flow-step[data-step=s1]').boundingBox();
  await page.mouse.move(box.x + 20, box.y + 20);
  await page.mouse.down();
  await page.mouse.move(box.x + 320, box.y + 60, { steps: 5 });
  await page.mouse.up();
  const moved = await page.locator('.flow-step[data-step=s1]').boundingBox();
  assert.ok(moved.x > box.x + 200, `the step moved right (${box.x} → ${moved.x})`);
  await page.waitForSelector('[data-testid=unsaved]');

  await page.click('[data-testid=save-flow]');
  await page.waitForSelector('[data-testid=unsaved]', { state: 'detached' });
  await page.waitForSelector('[data-testid=flow-problems]', { state: 'detached', timeout: 10000 }).catch(async (e) => {
    console.error('PROBLEMS:', await page.textContent('[data-testid=flow-problems]'));
    throw e;
  });
  await page.waitForSelector('[data-testid=publish-flow]:not([disabled])');
  await page.click('[data-testid=publish-flow]');
  await page.waitForFunction(() => /Опубликована версия 1/.test(document.querySelector('[data-testid=flow-notice]')?.textContent || ''));

  // «Проверить»: the same engine, no Telegram, no lead written.
  const say = async (text) => {
    const n = await page.locator('[data-testid=try-bot]').count();
    await page.fill('[data-testid=try-input]', text);
    await page.click('[data-testid=try-send]');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=try-bot]').length > n, n);
    return page.locator('[data-testid=try-bot]').last().textContent();
  };
  assert.equal(await say('/order'), 'Как вас зовут?');
  assert.equal(await say('Анна'), 'Ваш телефон?');
  assert.match(await say('12345'), /Введите номер телефона/);
  assert.equal(await say('+7 912 000-11-22'), 'Спасибо, Анна! Заявка №0 принята.');
  assert.match(await page.textContent('[data-testid=try-panel]'), /Здесь будет создан лид: Анна, \+79120001122/);
  const leads = await s.api('GET', '/leads');
  assert.equal(leads.body.total, 0, '«Проверить» creates nothing');

  // Whoever edits a flow can't run script in the browser of whoever tries
  // it: the bot's text keeps Telegram's formatting and nothing else.
  await page.click('.flow-step[data-step=s1]');
  await page.fill('[data-testid=step-panel] [data-testid=step-text]', '<b>Готово</b><img src=x onerror="window.__xss=1">');
  await page.click('[data-testid=try-reset]');
  await say('/order');
  await say('Анна');
  const last = await say('+7 912 000-11-22');
  assert.match(last, /Готово<img src=x onerror/);
  assert.equal(await page.locator('[data-testid=try-chat] img').count(), 0, 'no element made from the text');
  assert.equal(await page.locator('[data-testid=try-bot] b', { hasText: 'Готово' }).count(), 1);
  assert.equal(await page.evaluate(() => window.__xss), undefined);

  // A flow that is no longer wanted is deleted from its editor.
  await page.click('[data-testid=new-flow]');
  await page.waitForSelector('[data-testid=flow-editor]');
  await page.fill('[data-testid=flow-name]', 'Лишний');
  await page.click('[data-testid=save-flow]');
  await page.waitForSelector('[data-flow="Лишний"]');
  page.once('dialog', (d) => d.accept());
  await page.click('[data-testid=delete-flow]');
  await page.waitForSelector('[data-flow="Лишний"]', { state: 'detached' });
  await page.waitForSelector('[data-testid=flow-editor]', { state: 'detached' });
  assert.ok(await page.$('[data-flow="Заявка из бота"]'), 'the other flows stay');
  await ctx.close();
});

test('a Telegram user goes through the published flow: the lead appears in the CRM, the inbox shows the chat live, an operator replies', async () => {
  const tg = s.telegram;
  const botId = (await bots('GET', '')).body[0].id;
  const { ctx, page } = await s.adminPage('/inbox');
  await tg.control(`bots/${BOT}/message`, { chat_id: 5551, text: '/order', first_name: 'Мария' });
  await tg.waitFor(BOT, 5551, /Как вас зовут/);
  // The chat shows up in the open inbox without a reload.
  await page.waitForSelector('.chat-row[data-chat="5551"]');
  await tg.control(`bots/${BOT}/message`, { chat_id: 5551, text: 'Мария' });
  await tg.waitFor(BOT, 5551, /Ваш телефон/);
  await tg.control(`bots/${BOT}/message`, { chat_id: 5551, text: '8 912 555-01-02' });
  const done = await tg.waitFor(BOT, 5551, /Заявка №\d+ принята/);
  const number = Number(done.match(/№(\d+)/)[1]);
  const lead = await s.api('GET', `/leads/${number}`);
  assert.equal(lead.status, 200);
  assert.equal(lead.body.lead.client_name, 'Мария');
  assert.equal(lead.body.lead.unsorted, true, 'a bot lead waits in the unsorted inbox');

  await page.click('.chat-row[data-chat="5551"]');
  await page.waitForFunction(() => /8 912 555-01-02/.test(document.querySelector('[data-testid=chat-history]')?.textContent || ''));
  // From here on the open chat only catches up from its tail.
  const reads = [];
  page.on('request', (r) => {
    if (new URL(r.url()).pathname.startsWith('/api/chat_history')) reads.push(r.postData() || '');
  });
  await page.fill('[data-testid=reply-text]', 'Мария, добрый день! Перезвоним через 5 минут.');
  await page.click('[data-testid=reply-send]');
  await tg.waitFor(BOT, 5551, /Перезвоним через 5 минут/);
  // The reply shows as delivered; the chat is now the operator's.
  await page.waitForSelector('[data-testid=msg-out][data-status=sent] >> text=Перезвоним');
  await page.waitForSelector('.chat-row[data-chat="5551"] [data-testid=waiting]');
  // While the operator holds the chat the bot stays quiet; new messages appear live.
  await tg.control(`bots/${BOT}/message`, { chat_id: 5551, text: 'Жду звонка' });
  await page.waitForFunction(() => /Жду звонка/.test(document.querySelector('[data-testid=chat-history]')?.textContent || ''));
  assert.ok(reads.length > 0 && reads.every((b) => /(^|&)since=\d+/.test(b)), `the chat was patched, not reloaded: ${reads.join(' | ')}`);
  const sent = await tg.sent(BOT, 5551);
  assert.equal(sent.filter(m => m.method === 'sendMessage').length, 4, 'three bot answers and one operator reply');
  // A file as the bot.
  await page.setInputFiles('[data-testid=reply-file]', { name: 'prices.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 prices') });
  await page.fill('[data-testid=file-form] input[name=caption]', 'Наши цены');
  await page.click('[data-testid=send-file]');
  for (let i = 0; i < 100 && !(await tg.sent(BOT, 5551)).some(m => m.method === 'sendDocument'); i++) await new Promise(r => setTimeout(r, 100));
  const doc = (await tg.sent(BOT, 5551)).find(m => m.method === 'sendDocument');
  assert.ok(doc, 'the file reached the mock');
  assert.equal(doc.document, 'upload:prices.pdf');
  assert.equal(doc.text, 'Наши цены');
  await page.waitForSelector('[data-testid=msg-out][data-status=sent] >> text=prices.pdf');
  // Files up to 20 MB go out whole; a bigger one is refused with the reason.
  await page.setInputFiles('[data-testid=reply-file]', { name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(20 * 1024 * 1024 + 1, 7) });
  await page.click('[data-testid=send-file]');
  await page.waitForSelector('[data-testid=file-form] ~ .alert.error >> text=Файл больше 20 МБ');
  const size = 20 * 1024 * 1024 - 4096;
  await page.setInputFiles('[data-testid=reply-file]', { name: 'scan.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(size, 7) });
  await page.click('[data-testid=send-file]');
  for (let i = 0; i < 300 && !(await tg.sent(BOT, 5551)).some(m => m.document === 'upload:scan.bin'); i++) await new Promise(r => setTimeout(r, 100));
  const big = (await tg.sent(BOT, 5551)).find(m => m.document === 'upload:scan.bin');
  assert.ok(big, 'the 20 MB file reached the mock');
  assert.equal(big.document_bytes, size, 'whole');
  // What the user sends: a photo and a document open from the inbox (fetched
  // from Telegram for a signed-in viewer); what they write stays text.
  await tg.control(`bots/${BOT}/message`, { chat_id: 5551, text: 'Паспорт', file: { kind: 'photo', content: 'JPEG-DATA' } });
  await tg.control(`bots/${BOT}/message`, { chat_id: 5551, file: { kind: 'document', name: 'справка.pdf', mime_type: 'text/html', content: '<script>1</script>' } });
  await tg.control(`bots/${BOT}/message`, { chat_id: 5551, text: '<img src=x onerror="window.__xss=1">' });
  await page.waitForSelector('[data-testid=msg-photo]');
  await page.waitForSelector('[data-testid=msg-file] >> text=справка.pdf');
  const photo = await page.request.get(`${s.server.url}${await page.getAttribute('[data-testid=msg-photo]', 'src')}`);
  assert.equal(photo.status(), 200);
  assert.equal(photo.headers()['content-type'], 'image/jpeg');
  assert.equal(await photo.text(), 'JPEG-DATA');
  const fileUrl = `${s.server.url}${await page.getAttribute('[data-testid=msg-file]', 'href')}`;
  const file = await page.request.get(fileUrl);
  assert.equal(await file.text(), '<script>1</script>');
  assert.equal(file.headers()['content-type'], 'application/octet-stream', 'never served as the sender\'s type');
  assert.match(file.headers()['content-disposition'], /^attachment/);
  assert.equal((await fetch(fileUrl)).status, 401, 'not without a session');
  await page.waitForFunction(() => /<img src=x onerror/.test(document.querySelector('[data-testid=chat-history]')?.textContent || ''));
  assert.equal(await page.evaluate(() => window.__xss), undefined, 'a user\'s text is never HTML');
  // A user who blocked the bot: the reply fails with the reason shown.
  await tg.control(`bots/${BOT}/block`, { chat_id: 5551 });
  await page.waitForSelector('.chat-row[data-chat="5551"] >> text=заблокировал бота');
  await page.fill('[data-testid=reply-text]', 'Вы на связи?');
  await page.click('[data-testid=reply-send]');
  await page.waitForSelector('[data-testid=msg-out][data-status=failed] >> text=Пользователь заблокировал бота');
  const stats = await bots('GET', `/${botId}/stats`);
  assert.equal(stats.body.blocked_users, 1);
  await ctx.close();
});

test('a flow hands a chat to a person: the operators\' bell rings with who is waiting', async () => {
  const tg = s.telegram;
  const botId = (await bots('GET', '')).body[0].id;
  const { ctx, page } = await s.adminPage(`/bots/${botId}`);
  await page.click('[data-testid=new-flow]');
  await page.waitForSelector('[data-testid=flow-editor]');
  await page.fill('[data-testid=flow-name]', 'Живой человек');
  await page.selectOption('[data-testid=triggers] .trigger select', 'keyword');
  await page.fill('[data-testid=trigger-value]', 'оператор');
  await page.dispatchEvent('[data-testid=trigger-value]', 'change');
  await page.click('.flow-step[data-step=s1]');
  await page.fill('[data-testid=step-panel] [data-testid=step-text]', 'Соединяю с оператором');
  await page.selectOption('[data-testid=step-kind]', 'handoff');
  await page.click('[data-testid=add-step]');
  await page.fill('[data-testid=step-panel] [data-testid=step-text]', 'Оператор ответит в течение 5 минут');
  await page.click('.flow-step[data-step=s1]');
  await pick(page, 'step-next', 's2');
  await page.click('[data-testid=save-flow]');
  await page.waitForSelector('[data-testid=publish-flow]:not([disabled])');
  await page.click('[data-testid=publish-flow]');
  await page.waitForFunction(() => /Опубликована версия 1/.test(document.querySelector('[data-testid=flow-notice]')?.textContent || ''));

  await page.goto(`${s.server.url}/inbox`);
  await hydrated(page);
  await tg.control(`bots/${BOT}/message`, { chat_id: 6661, text: 'оператор', first_name: 'Ольга' });
  await tg.waitFor(BOT, 6661, /Оператор ответит в течение 5 минут/);
  await page.waitForSelector('[data-testid=bell-count]');
  await page.click('.bell-button');
  const note = await page.waitForSelector('.bell-panel li:has-text("Чат ждёт оператора")');
  assert.match(await note.textContent(), new RegExp(`Ольга в @${USERNAME} просит живого человека`));
  await ctx.close();
});

test('a partner links Telegram through the deep link and hears of a status change of their lead', async () => {
  const tg = s.telegram;
  const { ctx: adminCtx, page: admin } = await s.adminPage('/bots');
  await admin.click(`tr[data-bot="${USERNAME}"] [data-testid=make-company]`);
  await admin.waitForSelector(`tr[data-bot="${USERNAME}"] [data-testid=company-badge]`);
  await adminCtx.close();

  const inv = await s.api('POST', '/invitations', { email: 'partner.tg@mak.test', role: 'partner' });
  assert.equal(inv.status, 201);
  const ctx = await s.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(inv.body.url);
  await hydrated(page);
  await page.fill('[data-testid=invite-form] input[name=full_name]', 'Партнёр Павел');
  await page.fill('[data-testid=invite-form] input[name=password]', 'partner-pass-1');
  await page.click('[data-testid=invite-form] button[type=submit]');
  await page.waitForURL('**/partner');
  await hydrated(page);
  await page.click('[data-testid=link-telegram]');
  const link = await page.getAttribute('[data-testid=telegram-deeplink]', 'href');
  assert.match(link, new RegExp(`^https://t.me/${USERNAME}\\?start=link_`));
  const payload = link.split('?start=')[1];
  await tg.control(`bots/${BOT}/message`, { chat_id: 7771, text: `/start ${payload}`, first_name: 'Павел' });
  await tg.waitFor(BOT, 7771, /Telegram привязан к аккаунту Партнёр Павел/);

  // The partner hands in a lead from the cabinet; the office changes its status.
  await page.fill('[data-testid=lead-form] input[name=client_name]', 'Клиент Павла');
  await page.fill('[data-testid=lead-form] input[name=phone]', '8 (912) 777-00-01');
  await page.check('[data-testid=lead-form] input[name=consent]');
  await page.click('[data-testid=lead-form] button.primary[type=submit]:not([name])');
  const created = (await (await page.waitForSelector('[data-testid=lead-created]')).textContent()).trim();
  const number = Number(created.match(/№(\d+)/)[1]);
  const lead = (await s.api('GET', `/leads/${number}`)).body.lead;
  const stages = (await s.api('GET', '/pipelines')).body;
  const stage = stages.flatMap(p => p.stages).find(st => st.kind === 'open' && st.id !== lead.stage_id);
  assert.equal((await s.api('POST', `/leads/${lead.id}/stage`, { stage_id: stage.id })).status, 204);
  await tg.waitFor(BOT, 7771, new RegExp(`Заявка №${number} \\(Клиент Павла\\): этап «${stage.name}»`));
  // The cabinet's bell rings too, live; on a phone its panel stays on screen.
  await page.setViewportSize({ width: 390, height: 800 });
  await page.waitForSelector('[data-testid=bell-count]');
  await page.click('.bell-button');
  const note = await page.waitForSelector(`.bell-panel li:has-text("Заявка №${number}")`);
  assert.match(await note.textContent(), new RegExp(`этап «${stage.name}»`));
  const box = await (await page.$('.bell-panel')).boundingBox();
  assert.ok(box.x >= 0 && box.x + box.width <= 390, `the panel fits the screen: ${JSON.stringify(box)}`);
  await ctx.close();
});

test('someone registers as a partner through the company bot, the office approves it, and /login signs them into the cabinet', async () => {
  const tg = s.telegram;
  const chat = 9901;
  const say = async (text, expect) => {
    await tg.control(`bots/${BOT}/message`, { chat_id: chat, text, first_name: 'Ольга' });
    return tg.waitFor(BOT, chat, expect);
  };
  // The registration page points to the company bot.
  const rctx = await s.browser.newContext();
  const reg = await rctx.newPage();
  await reg.goto(`${s.server.url}/register`);
  assert.equal(await (await reg.waitForSelector('[data-testid=register-in-telegram]')).getAttribute('href'), `https://t.me/${USERNAME}?start=register`);
  await rctx.close();
  // The deep link t.me/<bot>?start=register opens the web's questionnaire, checks included.
  await say('/start register', /Кем вы хотите работать/);
  await say('Партнёр', /Ваши ФИО/);
  await say('Смирнова Ольга Игоревна', /Ваш телефон/);
  await say('8 912 300-40-50', /Email для входа/);
  await say('smirnova@mak.test', /Ваш город/);
  await say('Самара', /Ваша ниша/);
  await say('Ипотечный брокер', /Правовая форма/);
  await say('Самозанятый', /^ИНН/);
  await say('1234', /Проверьте ИНН/);
  await say('500100732259', /Название компании/);
  await say('Смирнова О. И.', /Реферальный код/);
  await say('нет', /Анкета принята/);

  // The office sees the application among the pending ones and approves it.
  const { ctx: adminCtx, page: admin } = await s.adminPage('/admin/users');
  const row = admin.locator('tr[data-email="smirnova@mak.test"]');
  await row.waitFor({ timeout: 10000 });
  assert.equal(await row.getAttribute('data-status'), 'pending');
  await row.locator('[data-action=approve-partner]').click();
  await admin.waitForSelector('tr[data-email="smirnova@mak.test"][data-status=active]');
  await adminCtx.close();
  await tg.waitFor(BOT, chat, /Заявка на регистрацию одобрена: вы — партнёр/);

  // No password was asked in the chat: /login gives a one-time link.
  const msg = await say('/login', /\/auth\/link\//);
  const path = msg.match(/\/auth\/link\/[A-Za-z0-9_-]+/)[0];
  const ctx = await s.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${s.server.url}${path}`);
  await page.click('button[type=submit]');
  await page.waitForURL('**/partner');
  await page.waitForSelector('[data-testid=partner-cabinet]');
  // The link is used up.
  const again = await ctx.browser().newContext();
  const p2 = await again.newPage();
  await p2.goto(`${s.server.url}${path}`);
  await p2.click('button[type=submit]');
  await p2.waitForURL('**/login?**');
  assert.match(await (await p2.waitForSelector('.alert.error')).textContent(), /Ссылка для входа устарела/);
  await again.close();
  await ctx.close();
});
