// Screenshots of session 22's page, at desktop and phone width, in Russian:
// the AI assistant of a bot — new (nothing set), a refused save, and in use
// (plans, figures, users, a paid and a refunded payment, the log with an
// answer and a failure). Not part of the suite:
//   SHOTS_DIR=/tmp/shots AI_MOCK_BIN=… TG_MOCK_BIN=… MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session22.mjs
import { test, before, after } from 'node:test';
import { shoot } from './shots.mjs';
import { hydrated, startAiMock, suite } from './tests/helpers.mjs';

const s = suite({ telegram: true });
const BOT = 700300910;
const TOKEN = `${BOT}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlbz`;
let ai = null;

before(async () => { ai = await startAiMock(); });
after(() => ai?.stop());

const waitSent = (chat, re) => s.telegram.waitFor(BOT, chat, re, 20000);

test('the AI assistant page', async () => {
  const bot = await fetch(`${s.server.url}/api/bots`, {
    method: 'POST', headers: { Authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token: TOKEN }),
  }).then((r) => r.json());
  const { page } = await s.adminPage(`/bots/${bot.id}/assistant`);
  await shoot(page, 'assistant-new', { phoneFull: true });
  await page.fill('[data-testid=ai-settings-form] input[name=temperature]', 'тёплая');
  await page.click('[data-testid=ai-save]');
  await page.waitForSelector('.field-error[data-field=temperature]');
  await shoot(page, 'assistant-refused');

  await s.api('PUT', `/bots/${bot.id}/assistant`, {
    enabled: true, base_url: `${ai.url}/v1`, api_key: 'sk-mock', model: 'gpt-4o-mini', temperature: 0.5,
    max_tokens: 500, history_messages: 6, trial_messages: 2, trial_days: 7,
    terms: 'Звёзды возвращаем в течение 14 дней по /paysupport.',
    prompt: 'Ты помощник автосалона «Север». Отвечай коротко и по делу.',
  });
  await s.api('POST', `/bots/${bot.id}/plans`, { kind: 'pack', title: '20 вопросов', stars: 50, credits: 20 });
  await s.api('POST', `/bots/${bot.id}/plans`, { kind: 'subscription', title: 'Месяц без забот', stars: 300, days: 30, daily_limit: 20, monthly_limit: 300 });
  await ai.control('fail', { status: 401, when: 'сломай' });
  const people = [[7100001, 'Олег', 'oleg_k'], [7100002, 'Марина', 'marina_s'], [7100003, 'Алексей', null]];
  for (const [chat, name, username] of people) {
    await s.telegram.control(`bots/${BOT}/message`, { chat_id: chat, text: '/start', first_name: name, username });
    await waitSent(chat, /ИИ-помощник/);
    await s.telegram.control(`bots/${BOT}/callback`, { chat_id: chat, data: 'ai:trial' });
    await waitSent(chat, /Пробный период начался/);
  }
  await s.telegram.control(`bots/${BOT}/message`, { chat_id: 7100001, text: 'Сколько стоит ТО для Kia Rio 2019 года?' });
  await waitSent(7100001, /Kia Rio/);
  await s.telegram.control(`bots/${BOT}/message`, { chat_id: 7100002, text: 'Есть ли скидка на зимнюю резину? сломай' });
  await waitSent(7100002, /не получилось|Не получилось|извин/i);
  await s.telegram.control(`bots/${BOT}/message`, { chat_id: 7100003, text: 'Можно записаться на субботу?' });
  await waitSent(7100003, /субботу/);
  for (const chat of [7100001, 7100002]) {
    await s.telegram.control(`bots/${BOT}/callback`, { chat_id: chat, data: 'ai:buy' });
    const invoice = await s.telegram.waitForMessage(BOT, chat, (m) => m.method === 'sendInvoice', 'an invoice', 20000);
    await s.telegram.control(`bots/${BOT}/pay`, { chat_id: chat, message_id: invoice.message_id });
    await waitSent(chat, /^Оплата получена/);
  }
  const payments = (await s.api('GET', `/bots/${bot.id}/payments`)).body.items;
  await s.api('POST', `/payments/${payments[payments.length - 1].id}/refund`);

  await page.reload();
  await hydrated(page);
  await page.waitForSelector('[data-testid=ai-user]');
  await page.waitForSelector('[data-testid=ai-log-line][data-state=failed]');
  await shoot(page, 'assistant-in-use', { phoneFull: true });
});
