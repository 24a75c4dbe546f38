// The AI assistant from the browser, against the mock Bot API and the mock
// AI: an admin turns a bot into an assistant and sells a pack of questions
// for Stars; a Telegram user tries it, runs out, pays and asks again; the
// admin sees the user, the question log and the takings, adds questions by
// hand, and refunds the payment, which takes back what it bought; the
// credits ledger shows every move, narrowed and exported.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { hydrated, startAiMock, suite } from './helpers.mjs';

const s = suite({ telegram: true });
const BOT = 700300900;
const TOKEN = `${BOT}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlbx`;
const USER = 7007001;
let ai = null;

before(async () => { ai = await startAiMock(); });
after(() => ai?.stop());

async function bots(method, path, body) {
  const r = await fetch(`${s.server.url}/api/bots${path}`, {
    method, headers: { Authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: r.status, body: r.status === 204 ? null : await r.json() };
}

/// The first message to the user for which `pred` holds.
const waitSent = (pred, what) => s.telegram.waitForMessage(BOT, USER, pred, what, 20000);

const say = (text) => s.telegram.control(`bots/${BOT}/message`, { chat_id: USER, text, first_name: 'Олег', username: 'oleg_k' });
const press = (data) => s.telegram.control(`bots/${BOT}/callback`, { chat_id: USER, data });

test('an admin makes a bot an assistant with a plan; a user tries it, pays in Stars, and the admin sees, adjusts and refunds', async () => {
  const connected = await bots('POST', '', { token: TOKEN });
  assert.equal(connected.status, 201, JSON.stringify(connected.body));
  const botId = connected.body.id;
  const { ctx, page } = await s.adminPage(`/bots/${botId}/assistant`);

  // The mode: a wrong number is refused on its field, nothing is lost.
  await page.check('[data-testid=ai-enabled]');
  await page.fill('[data-testid=ai-settings-form] input[name=base_url]', `${ai.url}/v1`);
  await page.fill('[data-testid=ai-settings-form] input[name=api_key]', 'sk-mock');
  await page.fill('[data-testid=ai-settings-form] input[name=model]', 'gpt-4o-mini');
  await page.fill('[data-testid=ai-trial-messages]', 'два');
  await page.fill('[data-testid=ai-prompt]', 'Ты помощник автосалона. Отвечай коротко.');
  await page.fill('[data-testid=ai-knowledge]', 'ТО стоит от 9 900 ₽.\n\nСервис открыт\nс 9 до 21.');
  await page.click('[data-testid=ai-save]');
  await page.waitForSelector('[data-testid=ai-settings-form] .field-error[data-field=trial_messages]');
  assert.equal(await page.inputValue('[data-testid=ai-prompt]'), 'Ты помощник автосалона. Отвечай коротко.');
  await page.fill('[data-testid=ai-trial-messages]', '1');
  await page.fill('[data-testid=ai-price-in]', 'дорого');
  await page.click('[data-testid=ai-save]');
  await page.waitForSelector('[data-testid=ai-settings-form] .field-error[data-field=price_in]');
  await page.fill('[data-testid=ai-price-in]', '15');
  await page.fill('[data-testid=ai-price-out]', '60,5');
  await page.fill('[data-testid=ai-languages]', 'ru, английский');
  await page.click('[data-testid=ai-save]');
  await page.waitForSelector('[data-testid=ai-settings-form] .field-error[data-field=languages]');
  await page.fill('[data-testid=ai-languages]', 'ru, en');
  await page.click('[data-testid=ai-save]');
  await page.waitForSelector('[data-testid=ai-saved]');
  const api = await s.api('GET', `/bots/${botId}/assistant`);
  assert.equal(api.status, 200);
  assert.deepEqual(api.body.knowledge, ['ТО стоит от 9 900 ₽.', 'Сервис открыт\nс 9 до 21.']);
  assert.deepEqual(api.body.languages, ['ru', 'en']);
  assert.deepEqual([api.body.price_in_kopecks, api.body.price_out_kopecks], [1500, 6050]);
  assert.equal(api.body.enabled, true);
  assert.equal(api.body.has_key, true);
  assert.ok(!JSON.stringify(api.body).includes('sk-mock'), 'the key never comes back');
  assert.ok(!(await page.content()).includes('sk-mock'), 'nor reaches the page');
  // Reloaded and saved again, the knowledge and languages stay as they were.
  await page.reload();
  await hydrated(page);
  assert.equal(await page.inputValue('[data-testid=ai-knowledge]'), 'ТО стоит от 9 900 ₽.\n\nСервис открыт\nс 9 до 21.');
  assert.equal(await page.inputValue('[data-testid=ai-languages]'), 'ru, en');
  await page.click('[data-testid=ai-save]');
  await page.waitForSelector('[data-testid=ai-saved]');
  const resaved = (await s.api('GET', `/bots/${botId}/assistant`)).body;
  assert.deepEqual([resaved.knowledge.length, resaved.languages, resaved.has_key], [2, ['ru', 'en'], true]);

  // A plan: refused without a price, then on sale.
  await page.click('[data-testid=ai-plan-new] summary');
  await page.fill('[data-testid=ai-plan-form] input[name=title]', '20 вопросов');
  await page.fill('[data-testid=ai-plan-form] input[name=credits]', '20');
  await page.click('[data-testid=ai-plan-save]');
  await page.waitForSelector('[data-testid=ai-plan-form] .field-error[data-field=stars]');
  await page.fill('[data-testid=ai-plan-form] input[name=stars]', '50');
  await page.click('[data-testid=ai-plan-save]');
  await page.waitForSelector('[data-testid=ai-plan][data-plan="20 вопросов"]');

  // The Telegram user: the trial's one question, then the plans.
  await say('/start');
  await waitSent(m => /ИИ-помощник/.test(m.text || ''), 'the menu');
  await press('ai:trial');
  await waitSent(m => /Пробный период начался/.test(m.text || ''), 'the trial');
  await say('Сколько стоит ТО?');
  await waitSent(m => /Сколько стоит ТО\?/.test(m.text || '') && /Ответ ИИ/.test(m.text || ''), 'the answer');
  await say('А шиномонтаж?');
  await waitSent(m => /^Вопросы закончились/.test(m.text || ''), 'the offer of plans');
  await press('ai:buy');
  const invoice = await waitSent(m => m.method === 'sendInvoice', 'an invoice');
  assert.equal(invoice.invoice.total_amount, 50);
  const paid = await s.telegram.control(`bots/${BOT}/pay`, { chat_id: USER, message_id: invoice.message_id });
  assert.equal(paid.pre_checkout, 'ok', JSON.stringify(paid));
  await waitSent(m => /^Оплата получена/.test(m.text || ''), 'the receipt');

  // The admin sees the user with 20 questions, the log and the takings.
  await page.reload();
  await hydrated(page);
  await page.waitForSelector(`[data-testid=ai-user][data-chat="${USER}"]`);
  assert.equal((await page.textContent(`[data-testid=ai-user][data-chat="${USER}"] [data-testid=ai-user-credits]`)).trim(), '20');
  assert.match(await page.textContent(`[data-testid=ai-user][data-chat="${USER}"]`), /Олег \(@oleg_k\)/);
  assert.equal((await page.textContent('[data-testid=ai-tile-stars]')).replace(/\s/g, ''), '50★');
  await page.fill('[data-testid=ai-log-search]', 'ТО');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=ai-log-line]').length === 1);
  assert.match(await page.textContent('[data-testid=ai-log-line]'), /Сколько стоит ТО\?/);
  // Its cost at the bot's prices, and the month's spend.
  assert.match(await page.textContent('[data-testid=ai-log-line]'), /gpt-4o-mini · \d+ \/ \d+ · \d+ мс · ≈ 0,\d{4} ₽/);
  assert.match(await page.textContent('[data-testid=ai-tile-cost]'), /^≈ 0,\d{4} ₽$/);
  const href = await page.getAttribute('[data-testid=ai-log-export]', 'href');
  const csv = await page.evaluate(async (h) => (await fetch(h)).text(), href);
  assert.match(csv, /Сколько стоит ТО\?/);

  // By hand: a take below zero is refused, an addition with a reason goes in.
  const row = `[data-testid=ai-user][data-chat="${USER}"]`;
  await page.fill(`${row} input[name=delta]`, '-100');
  await page.fill(`${row} input[name=reason]`, 'ошибка');
  await page.click(`${row} button[type=submit]`);
  await page.waitForSelector('#ai-users .alert.error >> text=Столько вопросов на балансе нет');
  await page.fill(`${row} input[name=delta]`, '5');
  await page.fill(`${row} input[name=reason]`, 'компенсация за сбой');
  await page.click(`${row} button[type=submit]`);
  await page.waitForSelector('[data-testid=ai-adjusted] >> text=25');

  // The refund: Telegram gives the Stars back, the questions bought go.
  await page.click('[data-testid=ai-payment][data-state=paid] [data-testid=ai-refund]');
  await page.click('[data-testid=ai-refund-yes]');
  await page.waitForSelector('[data-testid=ai-payment][data-state=refunded]');
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent.trim() === '5', `${row} [data-testid=ai-user-credits]`);
  const charges = await (await fetch(`${s.telegram.url}/_mock/bots/${BOT}/charges`)).json();
  assert.equal(charges[0].refunded, true);
  const again = await s.api('POST', `/payments/${(await s.api('GET', `/bots/${botId}/payments`)).body.items[0].id}/refund`);
  assert.equal(again.status, 409);
  assert.equal(again.body.code, 'conflict');

  // The ledger: the pack bought, the questions added by hand, the refund
  // taking the pack back (the trial's question cost no credit).
  const ledger = () => page.$$eval('[data-testid=ai-ledger-line]', (rows) => rows.map((r) => [r.dataset.reason, r.querySelector('[data-testid=ai-ledger-delta]').textContent.replace(/\s/g, '')]));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=ai-ledger-line]').length === 3);
  assert.deepEqual(await ledger(), [['refund_payment', '−20'], ['manual', '+5'], ['purchase', '+20']]);
  assert.equal((await page.textContent('[data-testid=ai-ledger-credited]')).replace(/\s/g, ''), '+25');
  assert.equal((await page.textContent('[data-testid=ai-ledger-debited]')).replace(/\s/g, ''), '−20');
  await page.selectOption('[data-testid=ai-ledger-reason]', 'manual');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=ai-ledger-line]').length === 1);
  assert.match(await page.textContent('[data-testid=ai-ledger-line]'), /Вручную.*компенсация за сбой — /);
  await page.selectOption('[data-testid=ai-ledger-reason]', '');
  await page.fill('[data-testid=ai-ledger-search]', 'oleg_k');
  await page.waitForFunction(() => document.querySelector('[data-testid=ai-ledger-total]')?.textContent.trim() === '3');
  await page.fill('[data-testid=ai-ledger-search]', 'никто');
  await page.waitForSelector('[data-testid=ai-no-ledger]');
  await page.fill('[data-testid=ai-ledger-search]', '');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=ai-ledger-line]').length === 3);
  const ledgerCsv = await page.evaluate(async (h) => (await fetch(h)).text(), await page.getAttribute('[data-testid=ai-ledger-export]', 'href'));
  const lines = ledgerCsv.replace(/^\uFEFF/, '').trim().split(/\r?\n/);
  assert.equal(lines.length, 4, ledgerCsv);
  assert.match(lines[2], /;\+5;Вручную;.*;компенсация за сбой$/);
  assert.match(lines[1], /;-20;Возврат платежа;;20 вопросов;50;/);
  const fromApi = await s.api('GET', `/bots/${botId}/ledger?reason=purchase`);
  assert.equal(fromApi.status, 200);
  assert.equal(fromApi.body.total, 1);
  assert.equal(fromApi.body.items[0].delta, 20);
  for (const query of ['reason=gift', 'from=2026-13-01', 'from=2026-12-05&to=2026-12-01']) {
    const refused = await s.api('GET', `/bots/${botId}/ledger?${query}`);
    assert.equal(refused.status, 400, query);
    assert.equal(refused.body.code, 'validation', query);
  }
  await ctx.close();
});

const BOT2 = 700300901;
const TOKEN2 = `${BOT2}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlby`;
const CLIENT = 7007002;
const say2 = (text) => s.telegram.control(`bots/${BOT2}/message`, { chat_id: CLIENT, text, first_name: 'Вера' });
const waitSent2 = (pred, what) => s.telegram.waitForMessage(BOT2, CLIENT, pred, what, 20000);

async function pick(page, testid, value) {
  await page.selectOption(`[data-testid=step-panel] [data-testid=${testid}]`, value);
}

async function type(page, selector, value) {
  await page.fill(selector, value);
  await page.dispatchEvent(selector, 'change');
}

test('a flow\'s «Ответ ИИ» step classifies a message and routes it; an operator inserts a suggested reply', async () => {
  const connected = await bots('POST', '', { token: TOKEN2 });
  assert.equal(connected.status, 201, JSON.stringify(connected.body));
  const botId = connected.body.id;
  // Not an assistant: only its flows and its operators use the AI.
  const set = await s.api('PUT', `/bots/${botId}/assistant`, {
    enabled: false, base_url: `${ai.url}/v1`, api_key: 'sk-mock', model: 'gpt-4o-mini', temperature: 0.2,
    max_tokens: 300, history_messages: 4, trial_messages: 0, trial_days: 0, prompt: 'Ты помощник банка.',
  });
  assert.equal(set.status, 200, JSON.stringify(set.body));

  const { ctx, page } = await s.adminPage(`/bots/${botId}`);
  await page.click('[data-testid=new-flow]');
  await page.waitForSelector('[data-testid=flow-editor]');
  await page.fill('[data-testid=flow-name]', 'Тема обращения');
  await type(page, '[data-testid=trigger-value]', 'topic');
  await page.click('.flow-step[data-step=s1]');
  await page.fill('[data-testid=step-panel] [data-testid=step-text]', 'Передаю ипотечному отделу');
  for (const kind of ['question', 'ai', 'condition', 'message']) {
    await page.selectOption('[data-testid=step-kind]', kind);
    await page.click('[data-testid=add-step]');
  }
  await page.waitForSelector('.flow-step[data-step=s5]');
  await page.fill('[data-testid=step-panel] [data-testid=step-text]', 'Тема: {topic}. Менеджер ответит здесь.');
  await page.click('.flow-step[data-step=s2]');
  await page.fill('[data-testid=step-panel] [data-testid=step-text]', 'О чём ваш вопрос?');
  await page.fill('[data-testid=step-panel] [data-testid=step-var]', 'q');
  await pick(page, 'step-next', 's3');
  await page.click('[data-testid=make-start]');
  // «Ответ ИИ»: classify into three labels, keep the label, send nothing.
  await page.click('.flow-step[data-step=s3]');
  assert.match(await page.textContent('[data-testid=step-panel] h3'), /Ответ ИИ/);
  await page.fill('[data-testid=step-panel] [data-testid=step-prompt]', 'Определи тему обращения клиента {first_name}.');
  await page.fill('[data-testid=step-panel] [data-testid=step-labels]', 'Ипотека, Кредит, Другое');
  await page.fill('[data-testid=step-panel] [data-testid=step-var]', 'topic');
  await page.uncheck('[data-testid=step-panel] [data-testid=step-send]');
  await pick(page, 'step-next', 's4');
  await page.click('.flow-step[data-step=s4]');
  await type(page, '[data-testid=step-panel] [data-testid=rule-var]', 'topic');
  await type(page, '[data-testid=step-panel] [data-testid=rule-value]', 'Ипотека');
  await pick(page, 'rule-next', 's1');
  await pick(page, 'rule-otherwise', 's5');
  await page.waitForSelector('.flow-edge[data-from=s3][data-to=s4]', { state: 'attached' });
  await page.click('[data-testid=save-flow]');
  await page.waitForSelector('[data-testid=unsaved]', { state: 'detached' });
  await page.waitForSelector('[data-testid=publish-flow]:not([disabled])');
  await page.click('[data-testid=publish-flow]');
  await page.waitForFunction(() => /Опубликована версия 1/.test(document.querySelector('[data-testid=flow-notice]')?.textContent || ''));

  // «Проверить» asks the AI for real and shows what it said.
  const tryIt = async (text) => {
    const n = await page.locator('[data-testid=try-bot]').count();
    await page.fill('[data-testid=try-input]', text);
    await page.click('[data-testid=try-send]');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=try-bot]').length > n, n);
    return page.locator('[data-testid=try-bot]').last().textContent();
  };
  assert.equal(await tryIt('/topic'), 'О чём ваш вопрос?');
  assert.equal(await tryIt('Хочу ипотеку на дом'), 'Передаю ипотечному отделу');
  assert.match(await page.textContent('[data-testid=try-panel]'), /ИИ ответил за .* «Ипотека»/);

  // A Telegram user: the AI classifies, the condition routes.
  await say2('/topic');
  await waitSent2(m => m.text === 'О чём ваш вопрос?', 'the question');
  await say2('Нужен кредит на машину');
  await waitSent2(m => m.text === 'Тема: Кредит. Менеджер ответит здесь.', 'the credit route');
  const asked = (await (await fetch(`${ai.url}/_mock/requests`)).json()).at(-1);
  assert.match(asked.body.messages[0].content, /Метки: Ипотека \| Кредит \| Другое/);
  await say2('/topic');
  await say2('Ипотечный кредит на квартиру');
  await waitSent2(m => m.text === 'Передаю ипотечному отделу', 'the mortgage route');

  // The operator: «Подсказать ответ» drafts from the conversation; edited and sent.
  await say2('Когда мне перезвонят?');
  await page.goto(`${s.server.url}/inbox`);
  await hydrated(page);
  await page.click(`.chat-row[data-chat="${CLIENT}"]`);
  await page.waitForSelector('[data-testid=chat-history] >> text=Когда мне перезвонят?');
  await page.click('[data-testid=suggest-reply]');
  await page.waitForFunction(() => /Ответ ИИ на «Когда мне перезвонят\?»/.test(document.querySelector('[data-testid=reply-text]')?.value || ''));
  const draft = await page.inputValue('[data-testid=reply-text]');
  assert.ok(!draft.includes('**'), `plain text: ${draft}`);
  await page.fill('[data-testid=reply-text]', `${draft}\nМенеджер Анна`);
  await page.click('[data-testid=reply-send]');
  const sent = await waitSent2(m => /Менеджер Анна$/.test(m.text || ''), 'the edited suggestion');
  assert.match(sent.text, /^Ответ ИИ на «Когда мне перезвонят\?»/);

  // The flow's asks are in the bot's AI log, with the flow they came from.
  await page.goto(`${s.server.url}/bots/${botId}/assistant`);
  await hydrated(page);
  await page.selectOption('[data-testid=ai-log-source]', 'flow');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=ai-log-line][data-source=flow]').length === 2);
  assert.match(await page.textContent('[data-testid=ai-log-line]'), /Сценарий «Тема обращения».*Ипотечный кредит на квартиру.*Ипотека/s);
  await page.selectOption('[data-testid=ai-log-source]', 'question');
  await page.waitForSelector('[data-testid=ai-no-log]');
  await ctx.close();
});
