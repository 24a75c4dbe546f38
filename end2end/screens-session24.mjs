// Screenshots of session 24's additions, at desktop and phone width, in
// Russian: the assistant's settings with the knowledge and languages, its credits ledger (a pack bought, questions
// paid, one given back after the AI failed, an adjustment by hand) and the
// AI log with a flow's «Ответ ИИ» asks beside the users' questions. Not
// part of the suite:
//   SHOTS_DIR=/tmp/shots AI_MOCK_BIN=… TG_MOCK_BIN=… MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session24.mjs
import { execFileSync } from 'node:child_process';
import { test, before, after } from 'node:test';
import { dir } from './shots.mjs';
import { hydrated, startAiMock, suite } from './tests/helpers.mjs';

const s = suite({ telegram: true });
const BOT = 700300930;
const TOKEN = `${BOT}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlcy`;
const USER = 7300001;
let ai = null;

before(async () => { ai = await startAiMock(); });
after(() => ai?.stop());

const say = (text) => s.telegram.control(`bots/${BOT}/message`, { chat_id: USER, text, first_name: 'Олег', last_name: 'Котов', username: 'oleg_k' });
const press = (data) => s.telegram.control(`bots/${BOT}/callback`, { chat_id: USER, data });
const waitSent = (pred, what) => s.telegram.waitForMessage(BOT, USER, pred, what, 20000);

/// One section of the page at 1366 and 390 px.
async function section(page, selector, name) {
  for (const [suffix, width] of [['desktop', 1366], ['phone', 390]]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(300);
    await page.locator(selector).screenshot({ path: `${dir}/${name}-${suffix}.png` });
  }
}

test('the credits ledger and the AI log with flow steps', async () => {
  const bot = await fetch(`${s.server.url}/api/bots`, {
    method: 'POST', headers: { Authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token: TOKEN }),
  }).then((r) => r.json());
  await s.api('PUT', `/bots/${bot.id}/assistant`, {
    enabled: true, base_url: `${ai.url}/v1`, api_key: 'sk-mock', model: 'gpt-4o-mini', temperature: 0.2,
    max_tokens: 300, history_messages: 4, trial_messages: 1, trial_days: 0, prompt: 'Ты помощник автосалона.',
    knowledge: ['ТО стоит от 9 900 ₽.', 'Сервис открыт с 9 до 21, без выходных.'], languages: ['ru', 'en'],
    price_in_kopecks: 1500, price_out_kopecks: 6000,
  });
  await s.api('POST', `/bots/${bot.id}/plans`, { kind: 'pack', title: '20 вопросов', stars: 50, credits: 20, active: true });

  await say('/start');
  await waitSent((m) => /ИИ-помощник/.test(m.text || ''), 'the menu');
  await press('ai:trial');
  await waitSent((m) => /Пробный период начался/.test(m.text || ''), 'the trial');
  await say('Сколько стоит ТО?');
  await waitSent((m) => /Ответ ИИ/.test(m.text || ''), 'the answer');
  await press('ai:buy');
  const invoice = await waitSent((m) => m.method === 'sendInvoice', 'an invoice');
  await s.telegram.control(`bots/${BOT}/pay`, { chat_id: USER, message_id: invoice.message_id });
  await waitSent((m) => /^Оплата получена/.test(m.text || ''), 'the receipt');
  await say('А шиномонтаж зимой?');
  await waitSent((m) => /шиномонтаж/.test(m.text || '') && /Ответ ИИ/.test(m.text || ''), 'a paid answer');
  await fetch(`${ai.url}/_mock/fail`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 500, when: 'гарантия', times: 10 }),
  });
  await say('Какая гарантия на двигатель?');
  await waitSent((m) => /не удалось|Не удалось|попробуйте/i.test(m.text || ''), 'the apology');
  await s.api('POST', `/bots/${bot.id}/users/${USER}/credits`, { delta: 5, reason: 'Компенсация за сбой ИИ' });

  // Two asks of a flow's «Ответ ИИ» step, as the worker leaves them.
  const sql = `
    with f as (insert into bot_flows (bot_id, name, draft) values ('${bot.id}', 'Тема обращения', '{}') returning id)
    insert into flow_ai_asks (bot_id, chat_id, flow_id, step_id, messages, state, answer, model, tokens_in, tokens_out, latency_ms, error, cost_micro_rub, created_at, finished_at)
    select '${bot.id}', ${USER}, f.id, 's3', m.messages::jsonb, m.state, m.answer, m.model, m.ti, m.tout, m.lat, m.err, (m.ti * 1500 + m.tout * 6000) / 100, now() - m.ago, now() - m.ago
    from f, (values
      ('[{"role":"system","content":"Определи тему"},{"role":"user","content":"Нужен кредит на машину"}]', 'answered', 'Кредит', 'gpt-4o-mini', 61, 2, 840, null, interval '3 minutes'),
      ('[{"role":"system","content":"Определи тему"},{"role":"user","content":"Хочу ипотеку на дом"}]', 'failed', null, null, null, null, null, 'ИИ не ответил: 500 Internal Server Error', interval '2 minutes')
    ) as m(messages, state, answer, model, ti, tout, lat, err, ago)`;
  execFileSync('psql', [s.db.url, '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql]);

  const { page } = await s.adminPage(`/bots/${bot.id}/assistant`);
  await hydrated(page);
  await page.waitForSelector('[data-testid=ai-ledger-line]');
  await section(page, '#ai-ledger', 'ai-ledger');
  await page.selectOption('[data-testid=ai-ledger-reason]', 'manual');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=ai-ledger-line]').length === 1);
  await section(page, '#ai-ledger', 'ai-ledger-manual');
  await section(page, '#ai-log', 'ai-log');
  await section(page, '#ai-settings', 'ai-settings');
  await section(page, '#ai-stats', 'ai-stats');
});
