// Screenshots of session 23's additions, at desktop and phone width, in
// Russian: the flow editor with a «Ответ ИИ» step selected (classifying into
// labels), «Проверить» with what the AI said, and the inbox with a reply
// the AI suggested in the reply box. Not part of the suite:
//   SHOTS_DIR=/tmp/shots AI_MOCK_BIN=… TG_MOCK_BIN=… MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session23.mjs
import { test, before, after } from 'node:test';
import { shoot } from './shots.mjs';
import { hydrated, startAiMock, suite } from './tests/helpers.mjs';

const s = suite({ telegram: true });
const BOT = 700300920;
const TOKEN = `${BOT}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlcz`;
const CHAT = 7200001;
let ai = null;

before(async () => { ai = await startAiMock(); });
after(() => ai?.stop());

test('the «Ответ ИИ» step and the suggested reply', async () => {
  const bot = await fetch(`${s.server.url}/api/bots`, {
    method: 'POST', headers: { Authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token: TOKEN }),
  }).then((r) => r.json());
  await s.api('PUT', `/bots/${bot.id}/assistant`, {
    enabled: false, base_url: `${ai.url}/v1`, api_key: 'sk-mock', model: 'gpt-4o-mini', temperature: 0.2,
    max_tokens: 300, history_messages: 4, trial_messages: 0, trial_days: 0, prompt: 'Ты помощник банка.',
  });
  const { page } = await s.adminPage(`/bots/${bot.id}`);
  await page.click('[data-testid=new-flow]');
  await page.waitForSelector('[data-testid=flow-editor]');
  await page.fill('[data-testid=flow-name]', 'Тема обращения');
  await page.fill('[data-testid=trigger-value]', 'topic');
  await page.dispatchEvent('[data-testid=trigger-value]', 'change');
  await page.click('.flow-step[data-step=s1]');
  await page.fill('[data-testid=step-panel] [data-testid=step-text]', 'Передаю ипотечному отделу');
  for (const kind of ['question', 'ai', 'condition', 'message']) {
    await page.selectOption('[data-testid=step-kind]', kind);
    await page.click('[data-testid=add-step]');
  }
  await page.fill('[data-testid=step-panel] [data-testid=step-text]', 'Тема: {topic}. Менеджер ответит здесь.');
  await page.click('.flow-step[data-step=s2]');
  await page.fill('[data-testid=step-panel] [data-testid=step-text]', 'О чём ваш вопрос?');
  await page.fill('[data-testid=step-panel] [data-testid=step-var]', 'q');
  await page.selectOption('[data-testid=step-panel] [data-testid=step-next]', 's3');
  await page.click('[data-testid=make-start]');
  await page.click('.flow-step[data-step=s4]');
  await page.fill('[data-testid=step-panel] [data-testid=rule-var]', 'topic');
  await page.dispatchEvent('[data-testid=step-panel] [data-testid=rule-var]', 'change');
  await page.fill('[data-testid=step-panel] [data-testid=rule-value]', 'Ипотека');
  await page.dispatchEvent('[data-testid=step-panel] [data-testid=rule-value]', 'change');
  await page.selectOption('[data-testid=step-panel] [data-testid=rule-next]', 's1');
  await page.selectOption('[data-testid=step-panel] [data-testid=rule-otherwise]', 's5');
  await page.click('.flow-step[data-step=s3]');
  await page.fill('[data-testid=step-panel] [data-testid=step-title]', 'Тема по ИИ');
  await page.fill('[data-testid=step-panel] [data-testid=step-prompt]', 'Определи тему обращения клиента {first_name}. Если сомневаешься — «Другое».');
  await page.fill('[data-testid=step-panel] [data-testid=step-labels]', 'Ипотека, Кредит, Другое');
  await page.fill('[data-testid=step-panel] [data-testid=step-var]', 'topic');
  await page.fill('[data-testid=step-panel] [data-testid=step-vars]', 'first_name, q');
  await page.uncheck('[data-testid=step-panel] [data-testid=step-send]');
  await page.selectOption('[data-testid=step-panel] [data-testid=step-next]', 's4');
  await page.click('[data-testid=save-flow]');
  await page.waitForSelector('[data-testid=unsaved]', { state: 'detached' });
  for (const text of ['/topic', 'Хочу ипотеку на дом']) {
    const n = await page.locator('[data-testid=try-bot]').count();
    await page.fill('[data-testid=try-input]', text);
    await page.click('[data-testid=try-send]');
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=try-bot]').length > n, n);
  }
  await page.click('.flow-step[data-step=s3]');
  await shoot(page, 'flow-ai-step', { phoneFull: true });

  await s.telegram.control(`bots/${BOT}/message`, { chat_id: CHAT, text: 'Добрый день! Одобрили ипотеку, когда можно подписать договор?', first_name: 'Вера' });
  await page.goto(`${s.server.url}/inbox`);
  await hydrated(page);
  await page.click(`.chat-row[data-chat="${CHAT}"]`);
  await page.waitForSelector('[data-testid=chat-history] >> text=Одобрили ипотеку');
  await page.click('[data-testid=suggest-reply]');
  await page.waitForFunction(() => /Ответ ИИ/.test(document.querySelector('[data-testid=reply-text]')?.value || ''));
  await shoot(page, 'inbox-suggested', { phoneFull: true });
});
