// Screenshots of the pages a change touched, at desktop and phone width, in
// Russian — to be looked at by a person before calling the change done.
// Not part of the suite: run with the same environment as the browser tests,
//   SHOTS_DIR=/tmp/shots MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shoot as shootAt } from './shots.mjs';
import { hydrated, suite } from './tests/helpers.mjs';

const s = suite();
const shoot = (page, name) => shootAt(page, name, { phoneFull: true });

test('pages of the "Fix first" change', async () => {
  const inv = await s.api('POST', '/invitations', { email: 'partner@example.ru', role: 'partner' });
  const first = await s.api('POST', '/leads', { client_name: 'Смирнова Ольга Петровна', phone: '+7 (916) 123-45-67', amount: '1 500 000,50', consent: true });
  assert.equal(first.status, 201);
  await s.api('POST', '/leads', { client_name: 'Иванов Иван', phone: '+7 903 000 11 22', consent: true });

  const { ctx, page } = await s.adminPage(`/leads/${first.body.number}`);
  await page.waitForSelector('[data-testid=stage-form]');
  await page.selectOption('[data-testid=stage-form] select[name=stage_id]', { label: 'Отказ' });
  await page.click('[data-testid=stage-form] button[type=submit]');
  await page.waitForSelector('[data-testid=stage-form] .field-error');
  await shoot(page, 'lead-card');

  await page.goto(`${s.server.url}/clients/${first.body.client_id}`);
  await hydrated(page);
  await page.fill('[data-testid=client-edit] textarea[name=phones]', '+7 (916) 123-45-67\n8 903 000 11 22');
  await page.click('[data-testid=client-edit] button[type=submit]');
  await page.waitForSelector('[data-testid=client-edit] .field-error');
  await shoot(page, 'client-page');

  await page.goto(`${s.server.url}/kanban`);
  await hydrated(page);
  await page.waitForSelector('[data-testid=board]');
  await shoot(page, 'kanban');

  await page.goto(`${s.server.url}/admin/users`);
  await hydrated(page);
  await shoot(page, 'users');
  await page.goto(`${s.server.url}/admin/permissions`);
  await hydrated(page);
  await shoot(page, 'permissions');
  await ctx.close();

  // The partner: cabinet, and a known client sent to the office for review.
  const pctx = await s.browser.newContext();
  const p = await pctx.newPage();
  await p.goto(inv.body.url);
  await hydrated(p);
  await p.fill('[data-testid=invite-form] input[name=full_name]', 'Партнёр Пётр');
  await p.fill('[data-testid=invite-form] input[name=password]', 'partner-pass-1');
  await p.click('[data-testid=invite-form] button[type=submit]');
  await p.waitForURL('**/partner');
  await hydrated(p);
  await p.fill('[data-testid=lead-form] input[name=client_name]', 'Ольга');
  await p.fill('[data-testid=lead-form] input[name=phone]', '89161234567');
  await p.check('[data-testid=lead-form] input[name=consent]');
  await p.click('[data-testid=lead-form] button.primary[type=submit]:not([name])');
  const review = await (await p.waitForSelector('[data-testid=lead-review]')).textContent();
  await shoot(p, 'partner-review');
  const number = review.match(/№(\d+)/)[1];
  await p.goto(`${s.server.url}/leads/${number}`);
  await hydrated(p);
  await p.waitForSelector('[data-testid=lead-card]');
  await shoot(p, 'partner-card');
  await pctx.close();

  // A sign-in error address with made-up text.
  const ectx = await s.browser.newContext();
  const e = await ectx.newPage();
  await e.goto(`${s.server.url}/login?error=${encodeURIComponent('Ваш аккаунт взломан, позвоните')}`);
  await hydrated(e);
  await shoot(e, 'login-error');
  await ectx.close();
});
