// Screenshots of the broadcast pages (session 14), at desktop and phone
// width, in Russian. Not part of the suite:
//   SHOTS_DIR=/tmp/shots TG_MOCK_BIN=… MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session14.mjs
import { test } from 'node:test';
import { shoot } from './shots.mjs';
import { hydrated, suite } from './tests/helpers.mjs';

const s = suite({ telegram: true });
const BOT = 700700800;
const TOKEN = `${BOT}:AAF7-g0gYncWnm5IyfZlpPRqRRv6kNAGlao`;

test('the broadcast pages as their users see them', async () => {
  const r = await fetch(`${s.server.url}/api/bots`, {
    method: 'POST', headers: { Authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ token: TOKEN }),
  });
  const botId = (await r.json()).id;
  const names = ['Анна', 'Борис', 'Вера', 'Глеб', 'Дина', 'Егор', 'Жанна', 'Зоя'];
  for (const [i, name] of names.entries()) {
    await s.telegram.control(`bots/${BOT}/message`, { chat_id: 8001 + i, text: '/start', first_name: name });
  }
  await new Promise(r => setTimeout(r, 1500));
  await s.api('POST', `/bots/${botId}/segments`, {
    name: 'Постоянные клиенты', conditions: [{ field: 'tag', tag: 'vip' }], tags: [],
  });
  const csv = 'telegram_id;метки;город\n8001;vip;Казань\n8002;vip;Москва\n8003;vip;Казань\n999;vip;Омск\n';
  await fetch(`${s.server.url}/api/v1/bots/${botId}/contacts/import?name=list.csv`, {
    method: 'POST', headers: { Authorization: `Bearer ${s.token}` }, body: csv,
  });
  const done = await s.api('POST', `/bots/${botId}/broadcasts`, {
    title: 'Ноябрьская акция', text: 'Здравствуйте, {first_name|друг}! <b>Ставка от 5,9 %</b> до конца месяца.',
    buttons: [{ text: 'Сайт', url: 'https://example.ru' }], start: true,
  });
  await s.telegram.control(`bots/${BOT}/block`, { chat_id: 8008 });
  await s.api('POST', `/bots/${botId}/broadcasts`, {
    title: 'Декабрьская рассылка', text: 'Скоро праздники — {first_name|друг}, заглядывайте!', send_at: '2031-12-20T07:00:00Z', start: true,
  });
  for (let i = 0; i < 40; i++) {
    const b = await s.api('GET', `/broadcasts/${done.body.id}`);
    if (b.body.state === 'done') break;
    await new Promise(r => setTimeout(r, 500));
  }
  await s.telegram.control(`bots/${BOT}/message`, { chat_id: 8002, text: 'Интересно, расскажите подробнее', first_name: 'Борис' });

  const { page } = await s.adminPage(`/bots/${botId}/broadcasts`);
  await page.waitForSelector('[data-testid=broadcasts]');
  await shoot(page, 'broadcasts');
  await page.click('[data-testid=new-broadcast]');
  await page.waitForSelector('[data-testid=composer]');
  await page.fill('[data-testid=bc-title]', 'Приглашение на вебинар');
  await page.fill('[data-testid=bc-text]', 'Здравствуйте, {first_name|друг}!\nВ четверг — <b>вебинар об ипотеке</b>. Регистрация по кнопке.');
  await page.click('[data-testid=bc-add-button]');
  await page.fill('[data-testid=bc-button-text]', 'Записаться');
  await page.selectOption('[data-testid=bc-button-kind]', 'flow');
  await page.selectOption('[data-testid=bc-segment]', { label: 'Постоянные клиенты' });
  await page.waitForSelector('[data-testid=bc-count][data-reachable="3"]');
  await page.locator('[data-testid=composer]').scrollIntoViewIfNeeded();
  await shoot(page, 'broadcast-composer', { phoneFull: true });
  await page.click('[data-testid=new-segment]');
  await page.fill('[data-testid=segment-name]', 'Казань');
  await page.click('[data-testid=add-condition]');
  await page.selectOption('[data-testid=condition] >> nth=0 >> [data-testid=cond-field]', 'var');
  await page.fill('[data-testid=condition] >> nth=0 >> [data-testid=cond-a]', 'город');
  await page.dispatchEvent('[data-testid=condition] >> nth=0 >> [data-testid=cond-a]', 'change');
  await page.fill('[data-testid=condition] >> nth=0 >> [data-testid=cond-b]', 'Казань');
  await page.dispatchEvent('[data-testid=condition] >> nth=0 >> [data-testid=cond-b]', 'change');
  await page.waitForSelector('[data-testid=segment-live-count][data-reachable="2"]');
  await page.locator('[data-testid=segments]').scrollIntoViewIfNeeded();
  await shoot(page, 'broadcast-segments', { phoneFull: true });

  await page.goto(`${s.server.url}/broadcasts/${done.body.id}`);
  await hydrated(page);
  await page.waitForSelector('[data-testid=bc-stats]');
  await shoot(page, 'broadcast-stats', { phoneFull: true });
});
