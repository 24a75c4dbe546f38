// A walk through the AI assistant as an admin meets it, page by page, at
// desktop and phone width, in Russian: a fresh bot's «ИИ-помощник» page
// before anything is set, the form filled from the page, a plan added, the
// page after a user tried it, paid and was refunded, and the flow editor's
// «Ответ ИИ» step with «Проверить». Whole pages, not sections, so the
// layout around each part is seen too. Not part of the suite:
//   SHOTS_DIR=/tmp/shots AI_MOCK_BIN=… TG_MOCK_BIN=… MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session25.mjs
import { test, before, after } from 'node:test';
import { whole } from './shots.mjs';
import { hydrated, startAiMock, suite } from './tests/helpers.mjs';

const s = suite({ telegram: true });
const BOT = 700300950;
const TOKEN = `${BOT}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlcz`;
const USER = 7300051;
let ai = null;

before(async () => { ai = await startAiMock(); });
after(() => ai?.stop());

const say = (text) => s.telegram.control(`bots/${BOT}/message`, { chat_id: USER, text, first_name: 'Ирина', username: 'irina_v' });
const press = (data) => s.telegram.control(`bots/${BOT}/callback`, { chat_id: USER, data });
const waitSent = (pred, what) => s.telegram.waitForMessage(BOT, USER, pred, what, 20000);

test('an admin walks through the assistant page and a flow\'s AI step', async () => {
  const bot = await fetch(`${s.server.url}/api/bots`, {
    method: 'POST', headers: { Authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token: TOKEN }),
  }).then((r) => r.json());
  const { page } = await s.adminPage(`/bots/${bot.id}`);
  await hydrated(page);
  await whole(page, 'walk-1-bot');
  await page.goto(`${s.server.url}/bots/${bot.id}/assistant`);
  await hydrated(page);
  await whole(page, 'walk-2-assistant-fresh');

  // Everything from the page's own form, as an admin types it.
  await page.check('[data-testid=ai-enabled]');
  await page.fill('[data-testid=ai-settings-form] input[name=base_url]', `${ai.url}/v1`);
  await page.fill('[data-testid=ai-settings-form] input[name=api_key]', 'sk-mock');
  await page.fill('[data-testid=ai-settings-form] input[name=model]', 'gpt-4o-mini');
  await page.fill('[data-testid=ai-trial-messages]', '1');
  await page.fill('[data-testid=ai-prompt]', 'Ты консультант агентства недвижимости. Отвечай коротко и по делу.');
  await page.fill('[data-testid=ai-knowledge]', 'Комиссия агентства — 2 % от цены.\n\nОфис на Тверской, 12, с 10 до 20.');
  await page.fill('[data-testid=ai-languages]', 'ru, en');
  await page.fill('[data-testid=ai-price-in]', '15');
  await page.fill('[data-testid=ai-price-out]', '60');
  await page.click('[data-testid=ai-save]');
  await page.waitForSelector('[data-testid=ai-saved]');
  await page.click('[data-testid=ai-plan-new] summary');
  await page.fill('[data-testid=ai-plan-form] input[name=title]', '30 вопросов');
  await page.fill('[data-testid=ai-plan-form] input[name=credits]', '30');
  await page.fill('[data-testid=ai-plan-form] input[name=stars]', '75');
  await page.click('[data-testid=ai-plan-save]');
  await page.waitForSelector('[data-testid=ai-plan][data-plan="30 вопросов"]');
  await whole(page, 'walk-3-assistant-set');

  // A Telegram user tries it, runs out, pays; one answer fails.
  await say('/start');
  await waitSent((m) => /ИИ-помощник/.test(m.text || ''), 'the menu');
  await press('ai:trial');
  await waitSent((m) => /Пробный период начался/.test(m.text || ''), 'the trial');
  await say('Какая комиссия у агентства?');
  await waitSent((m) => /Ответ ИИ/.test(m.text || ''), 'the answer');
  await say('А ипотеку поможете оформить?');
  await waitSent((m) => /^Вопросы закончились/.test(m.text || ''), 'the plans');
  await press('ai:buy');
  const invoice = await waitSent((m) => m.method === 'sendInvoice', 'an invoice');
  await s.telegram.control(`bots/${BOT}/pay`, { chat_id: USER, message_id: invoice.message_id });
  await waitSent((m) => /^Оплата получена/.test(m.text || ''), 'the receipt');
  await fetch(`${ai.url}/_mock/fail`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ status: 500, when: 'новостройк', times: 10 }),
  });
  await say('Есть новостройки у метро?');
  await waitSent((m) => /попробуйте/i.test(m.text || ''), 'the apology');
  await say('Сколько стоит оценка квартиры?');
  await waitSent((m) => /оценка/.test(m.text || '') && /Ответ ИИ/.test(m.text || ''), 'a paid answer');

  // The admin adds questions by hand and refunds the payment.
  await page.reload();
  await hydrated(page);
  const row = `[data-testid=ai-user][data-chat="${USER}"]`;
  await page.waitForSelector(row);
  await page.fill(`${row} input[name=delta]`, '3');
  await page.fill(`${row} input[name=reason]`, 'Извинение за сбой');
  await page.click(`${row} button[type=submit]`);
  await page.waitForSelector('[data-testid=ai-adjusted]');
  await page.click('[data-testid=ai-payment][data-state=paid] [data-testid=ai-refund]');
  await whole(page, 'walk-4-refund-confirm');
  await page.click('[data-testid=ai-refund-yes]');
  await page.waitForSelector('[data-testid=ai-payment][data-state=refunded]');
  await page.reload();
  await hydrated(page);
  await page.waitForSelector('[data-testid=ai-ledger-line]');
  await whole(page, 'walk-5-assistant-used');

  // A flow with a classifying «Ответ ИИ» step, tried in «Проверить».
  await page.goto(`${s.server.url}/bots/${bot.id}`);
  await hydrated(page);
  await page.click('[data-testid=new-flow]');
  await page.waitForSelector('[data-testid=flow-editor]');
  await page.fill('[data-testid=flow-name]', 'Что ищет клиент');
  await page.fill('[data-testid=trigger-value]', 'need');
  await page.dispatchEvent('[data-testid=trigger-value]', 'change');
  await page.click('.flow-step[data-step=s1]');
  await page.fill('[data-testid=step-panel] [data-testid=step-text]', 'Спасибо! Подберём варианты: {need}.');
  for (const kind of ['question', 'ai']) {
    await page.selectOption('[data-testid=step-kind]', kind);
    await page.click('[data-testid=add-step]');
  }
  await page.waitForSelector('.flow-step[data-step=s3]');
  await page.click('.flow-step[data-step=s2]');
  await page.fill('[data-testid=step-panel] [data-testid=step-text]', 'Что вы ищете: купить, снять или продать?');
  await page.fill('[data-testid=step-panel] [data-testid=step-var]', 'q');
  await page.selectOption('[data-testid=step-panel] [data-testid=step-next]', 's3');
  await page.click('[data-testid=make-start]');
  await page.click('.flow-step[data-step=s3]');
  await page.fill('[data-testid=step-panel] [data-testid=step-prompt]', 'Определи, что ищет клиент {first_name}.');
  await page.fill('[data-testid=step-panel] [data-testid=step-labels]', 'Купить, Снять, Продать');
  await page.fill('[data-testid=step-panel] [data-testid=step-var]', 'need');
  await page.uncheck('[data-testid=step-panel] [data-testid=step-send]');
  await page.selectOption('[data-testid=step-panel] [data-testid=step-next]', 's1');
  await whole(page, 'walk-6-flow-ai-step');
  await page.click('[data-testid=save-flow]');
  await page.waitForSelector('[data-testid=unsaved]', { state: 'detached' });
  await page.waitForSelector('[data-testid=publish-flow]:not([disabled])');
  await page.click('[data-testid=publish-flow]');
  await page.waitForFunction(() => /Опубликована версия 1/.test(document.querySelector('[data-testid=flow-notice]')?.textContent || ''));
  await page.fill('[data-testid=try-input]', '/need');
  await page.click('[data-testid=try-send]');
  await page.waitForSelector('[data-testid=try-bot]');
  await page.fill('[data-testid=try-input]', 'Хочу снять двушку');
  await page.click('[data-testid=try-send]');
  await page.waitForFunction(() => /ИИ ответил/.test(document.querySelector('[data-testid=try-panel]')?.textContent || ''));
  await whole(page, 'walk-7-flow-try');
});
