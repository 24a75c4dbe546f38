import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hydrated, suite } from './helpers.mjs';

const s = suite();
const { api } = s;

test('a kanban move the matrix does not allow is refused with a message and the card stays where it was', async () => {
  // Employees may see every lead but edit only their own.
  assert.equal((await api('PUT', '/permissions', { role: 'employee', resource: 'leads', action: 'edit', scope: 'own' })).status, 204);
  const lead = await api('POST', '/leads', { client_name: 'Чужой Клиент', phone: '+7 918 400 00 01', consent: true });
  assert.equal(lead.status, 201);
  const number = lead.body.number;
  const before = (await api('GET', `/leads/${number}`)).body.lead.stage_id;

  const inv = await api('POST', '/invitations', { email: 'viewer@mak.test', role: 'employee' });
  const ctx = await s.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(inv.body.url);
  await hydrated(page);
  await page.fill('[data-testid=invite-form] input[name=full_name]', 'Наблюдатель Никита');
  await page.fill('[data-testid=invite-form] input[name=password]', 'viewer-pass-1');
  await page.click('[data-testid=invite-form] button[type=submit]');
  await page.waitForURL((u) => !u.pathname.startsWith('/invite'));
  await page.goto(`${s.server.url}/kanban`);
  await hydrated(page);
  await page.waitForSelector(`.lead-card[data-lead="${number}"]`);
  const columns = await page.$$eval('.column[data-stage]', (els) => els.map((e) => e.dataset.stage).filter(Boolean));
  const target = columns.find((c) => c !== before);
  await page.locator(`.lead-card[data-lead="${number}"]`).dragTo(page.locator(`.column[data-stage="${target}"]`));
  await page.waitForSelector('[data-testid=move-error]');
  assert.match(await page.textContent('[data-testid=move-error]'), /Нет доступа/);
  assert.equal(await page.$(`.column[data-stage="${target}"] .lead-card[data-lead="${number}"]`), null);
  assert.ok(await page.$(`.column[data-stage="${before}"] .lead-card[data-lead="${number}"]`), 'the card is back in its column');
  assert.equal((await api('GET', `/leads/${number}`)).body.lead.stage_id, before, 'nothing changed on the server');
  await ctx.close();
});

test('a franchisee hands in a lead from the cabinet and sees only its own leads and clients there', async () => {
  assert.equal((await api('POST', '/leads', { client_name: 'Клиент Центрального Офиса', phone: '+7 918 400 00 09', consent: true })).status, 201);
  const inv = await api('POST', '/invitations', { email: 'office@mak.test', role: 'franchisee' });
  assert.equal(inv.status, 201);
  const ctx = await s.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(inv.body.url);
  await hydrated(page);
  await page.fill('[data-testid=invite-form] input[name=full_name]', 'Офис Тверь');
  await page.fill('[data-testid=invite-form] input[name=password]', 'office-pass-1');
  await page.click('[data-testid=invite-form] button[type=submit]');
  await page.waitForURL('**/franchisee');
  await hydrated(page);
  await page.fill('[data-testid=lead-form] input[name=client_name]', 'Тверской Клиент');
  await page.fill('[data-testid=lead-form] input[name=phone]', '8 (918) 400-00-10');
  await page.check('[data-testid=lead-form] input[name=consent]');
  await page.click('[data-testid=lead-form] button.primary[type=submit]:not([name])');
  const created = (await (await page.waitForSelector('[data-testid=lead-created]')).textContent()).trim();
  const number = created.match(/№(\d+)/)[1];
  await page.waitForSelector(`[data-testid=my-leads] tr[data-lead="${number}"]`);
  await page.waitForFunction(() => /Тверской Клиент/.test(document.querySelector('[data-testid=my-clients]')?.textContent || ''));
  const clients = await page.$$eval('[data-testid=my-clients] tbody tr', (rows) => rows.map((r) => r.textContent));
  assert.equal(clients.length, 1, clients.join(' | '));
  assert.match(clients[0], /\+7 \(918\) 400-00-10/);
  const leads = await page.$$eval('[data-testid=my-leads] tbody tr', (rows) => rows.length);
  assert.equal(leads, 1);
  await ctx.close();
});
