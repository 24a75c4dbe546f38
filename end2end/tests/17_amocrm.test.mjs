import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hydrated, suite } from './helpers.mjs';

// The mock account holds 30 deals, each with a contact (+7 916 000-00-NN,
// clientNN@amo.example), in «Первичный контакт», «Переговоры» and
// «Принимают решение».
const s = suite({ amocrm: { seed: 30 } });
const { api } = s;

test('an admin connects amoCRM through its consent page, maps it and imports every deal, merging known clients', async () => {
  // A client we already have: the mock's contact no. 5 by phone.
  const known = await api('POST', '/leads', { client_name: 'Известный Клиент', phone: '+7 916 000-00-05', consent: true });
  assert.equal(known.status, 201, JSON.stringify(known.body));

  const { ctx, page } = await s.adminPage('/settings/amocrm');
  await page.waitForSelector('[data-testid=amo-not-connected]');
  // Nothing entered: each field says what it needs.
  await page.click('[data-testid=amo-oauth-submit]');
  await page.waitForSelector('.field-error[data-field=subdomain]');
  assert.match(await page.textContent('.field-error[data-field=client_id]'), /ID интеграции/);

  await page.fill('#amo-subdomain', 'makbank');
  await page.fill('#amo-client-id', 'mock-client-id');
  await page.fill('#amo-secret', 'mock-client-secret');
  // Our callback is offered as the redirect address.
  assert.equal(await page.inputValue('#amo-redirect'), `${s.server.url}/integrations/amocrm/callback`);
  await page.click('[data-testid=amo-oauth-submit]');
  // amoCRM's consent page; «Разрешить» sends the browser back to us.
  await page.waitForURL(`${s.amo.url}/oauth**`);
  assert.match(await page.textContent('h1'), /Предоставить доступ/);
  await page.click('#allow');
  await page.waitForURL('**/settings/amocrm?connected=1');
  await hydrated(page);
  await page.waitForSelector('[data-testid=amo-connection][data-status=active]');
  assert.equal(await page.textContent('[data-testid=amo-account]'), 'МаК Банк');

  // Read the account: its pipeline, statuses, users and fields to map.
  await page.click('[data-testid=amo-mapping] [data-testid=amo-read]');
  await page.waitForSelector('[data-testid=amo-map-row][data-kind=status]');
  const row = (kind, remote) => page.locator(`[data-testid=amo-map-row][data-kind=${kind}][data-remote="${remote}"]`);
  // Suggested: won/lost by their numbers, the product list by name.
  assert.equal(await row('status', 142).locator('select option:checked').textContent(), 'Сделка');
  assert.equal(await row('status', 143).locator('select option:checked').textContent(), 'Отказ');
  assert.equal(await row('field', 601).locator('select option:checked').textContent(), 'Продукт');
  assert.equal(await row('enum', 6011).locator('select option:checked').textContent(), 'Ипотека');
  // Unmapped values are marked, never hidden.
  assert.ok(await row('field', 602).evaluate((tr) => tr.classList.contains('unmapped')));
  await row('status', 70002).locator('select').selectOption({ label: 'Консультация' });
  await row('status', 70003).locator('select').selectOption({ label: 'Сбор документов' });
  await row('status', 70004).locator('select').selectOption({ label: 'Одобрено банком' });
  await row('user', 9001).locator('select').selectOption({ label: 'Администратор' });
  await page.click('[data-testid=amo-mapping-save]');
  await page.waitForSelector('[data-testid=amo-mapping-saved]');

  // The import runs in the background; the page follows it live.
  await page.click('[data-testid=amo-import-start]');
  await page.waitForSelector('[data-testid=amo-import-state][data-status=done]', { timeout: 60000 });
  assert.equal(await page.textContent('[data-testid=amo-leads-created]'), '30');
  assert.equal(await page.textContent('[data-testid=amo-clients-merged]'), '1');
  // The city field had no mapping: listed with a sample.
  assert.match(await page.textContent('[data-testid=amo-unmapped]'), /Город[\s\S]*Москва/);
  await page.waitForSelector('[data-testid=amo-log-row][data-op="import.finish"]');

  // The deals are ours now: in their stages, the known client with two.
  const list = await api('GET', '/leads?q=' + encodeURIComponent('+79160000005'));
  assert.equal(list.body.total, 2, JSON.stringify(list.body));
  const board = await s.adminPage('/kanban');
  await board.page.locator('.lead-card', { hasText: 'Клиент амо 7' }).waitFor();
  const column = await board.page.locator('.lead-card', { hasText: 'Клиент амо 7' }).evaluate((c) => c.closest('.column').querySelector('h2,h3,header')?.textContent ?? '');
  assert.match(column, /Консультация/);
  await board.ctx.close();
  await ctx.close();
});

// The mock numbers its records in turn: deal no. N (1-based) is
// 10000000 + 2N, its contact the id before it.
const dealId = (n) => 10_000_000 + 2 * n;

test('a stage moved here reaches amoCRM, a status changed there moves the card live, and neither echoes back', async () => {
  const board = await s.adminPage('/kanban');
  await board.page.waitForSelector('[data-testid=live][data-state=on]');
  // «Клиент амо 1», not «Клиент амо 10».
  const card = (name) => board.page.locator('.lead-card', { hasText: new RegExp(`${name}(?!\\d)`) });
  const columnOf = (name) => card(name).evaluate((c) => c.closest('.column').querySelector('h3').textContent);
  await card('Клиент амо 1').waitFor();
  const stageId = async (label) => board.page.locator('.column', { has: board.page.locator('h3', { hasText: label }) }).getAttribute('data-stage');
  const before = (await s.amo.get('writes')).length;

  // Ours out: «Консультация» → «Сбор документов» is status 70003 there
  // (moved with the card's menu, as on a phone).
  await board.page.setViewportSize({ width: 390, height: 800 });
  const number = await card('Клиент амо 1').getAttribute('data-lead');
  await board.page.locator(`.lead-card[data-lead="${number}"] [data-testid=move-select]`).selectOption(await stageId('Сбор документов'));
  const until = Date.now() + 15000;
  let patch;
  while (!patch && Date.now() < until) {
    patch = (await s.amo.get('writes')).slice(before).find((w) => w.method === 'PATCH' && w.path === `/api/v4/leads/${dealId(1)}`);
    if (!patch) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(patch, 'the move reached amoCRM');
  assert.equal(patch.body.status_id, 70003);
  assert.equal((await s.amo.get(`leads/${dealId(1)}`)).status_id, 70003);

  // Theirs in: a manager moves deal no. 2 in amoCRM; its webhook moves the
  // card on the open board, no reload.
  assert.match(await columnOf('Клиент амо 2'), /Сбор документов/);
  await s.amo.control(`leads/${dealId(2)}/status`, { status_id: 70004 });
  await board.page.waitForFunction(
    () => [...document.querySelectorAll('.lead-card')].find((c) => /Клиент амо 2(?!\d)/.test(c.textContent))
      ?.closest('.column')?.querySelector('h3')?.textContent.includes('Одобрено банком'),
    null, { timeout: 15000 },
  );

  // Neither echoes: one write went to amoCRM in all (our move), and the
  // log shows our move's webhook read back and recognised.
  await board.page.waitForTimeout(2000);
  const writes = (await s.amo.get('writes')).slice(before);
  assert.deepEqual(writes.map((w) => `${w.method} ${w.path}`), [`PATCH /api/v4/leads/${dealId(1)}`]);
  const { ctx, page } = await s.adminPage('/settings/amocrm');
  await page.selectOption('#amo-direction', 'in');
  await page.waitForSelector('[data-testid=amo-log-row][data-op="webhook.lead"][data-result=skipped]');
  await page.waitForSelector('[data-testid=amo-log-row][data-op="webhook.lead"][data-result=ok]');
  assert.match(await page.textContent('[data-testid=amo-webhooks]'), /\d{2}\.\d{2}\.\d{4}/);

  // Reconciliation finds both sides alike.
  await page.click('[data-testid=amo-reconcile]');
  await page.waitForSelector('[data-testid=amo-done]');
  assert.match(await page.textContent('[data-testid=amo-done]'), /расхождений 0/);
  await page.waitForSelector('[data-testid=amo-diff-none]');
  await ctx.close();
  await board.ctx.close();
});
