// Screenshots of session 18's pages, at desktop and phone width, in Russian:
// outgoing webhooks — empty, the editor's refusal, a subscription with its
// secret shown once, the delivery log with a failing receiver, a replay and
// a delivery's tries. Not part of the suite:
//   SHOTS_DIR=/tmp/shots MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session18.mjs
import { test } from 'node:test';
import { createServer } from 'node:http';
import { shoot } from './shots.mjs';
import { freePort, suite } from './tests/helpers.mjs';

const s = suite();

test('outgoing webhooks', async () => {
  const port = await freePort();
  let answer = 500;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => { res.writeHead(answer); res.end(answer === 200 ? 'ok' : 'Internal Server Error'); });
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));

  const { page } = await s.adminPage('/settings/webhooks');
  await page.waitForSelector('[data-testid=wh-none]');
  await shoot(page, 'webhooks-empty');
  await page.click('[data-testid=wh-add]');
  await page.fill('#wh-url', 'crm.partner.ru/hooks');
  await page.click('[data-testid=wh-save]');
  await page.waitForSelector('.field-error[data-field=url]');
  await shoot(page, 'webhooks-refused', { phoneFull: true });
  await page.fill('#wh-url', `http://127.0.0.1:${port}/hooks/mak`);
  await page.fill('#wh-description', 'CRM партнёра «Ипотека-Центр»');
  for (const e of ['lead.created', 'lead.stage_changed', 'lead.won', 'lead.lost']) {
    await page.check(`[data-testid=wh-event][value="${e}"]`);
  }
  await page.click('[data-testid=wh-save]');
  await page.waitForSelector('[data-testid=wh-secret]');
  await shoot(page, 'webhooks-created', { phoneFull: true });

  await s.api('POST', '/leads', { client_name: 'Иванов Иван', phone: '+7 916 700 10 01', consent: true });
  await page.click('[data-testid=wh-log]');
  await page.waitForSelector('[data-testid=wh-delivery][data-event="lead.created"]');
  await page.waitForFunction(() => document.querySelector('[data-testid=wh-delivery]')?.textContent.includes('500'));
  await page.locator('[data-testid=wh-log-panel]').scrollIntoViewIfNeeded();
  await shoot(page, 'webhooks-log-failing', { phoneFull: true });

  answer = 200;
  await s.api('POST', '/leads', { client_name: 'Петров Пётр', phone: '+7 916 700 10 02', consent: true });
  await page.click('[data-testid=wh-test]');
  await page.waitForSelector('[data-testid=wh-delivery][data-event="ping"][data-state=delivered]', { timeout: 15000 });
  await page.locator('[data-testid=wh-delivery][data-event="ping"] button', { hasText: 'Подробнее' }).click();
  await page.waitForSelector('[data-testid=wh-detail]');
  await page.locator('[data-testid=wh-log-panel]').scrollIntoViewIfNeeded();
  await shoot(page, 'webhooks-log-detail', { phoneFull: true });
  server.close();
});
