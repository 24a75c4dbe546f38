import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { hydrated, suite } from './helpers.mjs';

const s = suite();
const { api, adminPage } = s;

test('an admin adds a product and extra fields; the lead form and card use them, with checked values and readable history', async () => {
  const { ctx, page } = await adminPage('/admin/fields');
  await page.fill('[data-dictionary=product] [data-new-item=product]', 'Лизинг');
  await page.click('[data-dictionary=product] button[type=submit]:has-text("Добавить")');
  await page.waitForSelector('[data-dictionary=product] li[data-item="Лизинг"]');

  await page.fill('[data-testid=add-field] input[name=label]', 'Регион');
  await page.selectOption('[data-testid=add-field] select[name=kind]', 'choice');
  await page.click('[data-testid=add-field] button[type=submit]');
  await page.waitForSelector('[data-testid=add-field] .field-error');
  assert.match(await page.textContent('[data-testid=add-field]'), /Перечислите варианты через запятую/);
  await page.fill('[data-testid=add-field] input[name=options]', 'Москва, Тверь');
  await page.click('[data-testid=add-field] button[type=submit]');
  await page.waitForSelector('[data-testid=custom-fields] tr[data-field=cf_1]');
  await page.fill('[data-testid=add-field] input[name=label]', 'Доход');
  await page.selectOption('[data-testid=add-field] select[name=kind]', 'number');
  await page.fill('[data-testid=add-field] input[name=options]', '');
  await page.click('[data-testid=add-field] button[type=submit]');
  await page.waitForSelector('[data-testid=custom-fields] tr[data-field=cf_2]');
  assert.doesNotMatch(await page.innerText('[data-testid=custom-fields]'), /cf_\d/, 'internal keys stay out of sight');

  await page.goto(`${s.server.url}/leads/new`);
  await hydrated(page);
  await page.waitForSelector('[data-testid=lead-form] select[name="extra[cf_1]"]');
  await page.fill('[data-testid=lead-form] input[name=client_name]', 'Тверской Тимофей');
  await page.fill('[data-testid=lead-form] input[name=phone]', '+7 915 000 11 22');
  await page.selectOption('[data-testid=lead-form] select[name=product_id]', { label: 'Лизинг' });
  await page.selectOption('[data-testid=lead-form] select[name="extra[cf_1]"]', 'Тверь');
  await page.fill('[data-testid=lead-form] input[name="extra[cf_2]"]', 'сто тысяч');
  await page.check('[data-testid=lead-form] input[name=consent]');
  await page.click('[data-testid=lead-form] button.primary[type=submit]:not([name])');
  await page.waitForSelector('[data-testid=lead-form] .field-error');
  assert.match(await page.textContent('[data-testid=lead-form]'), /Введите число/);
  await page.fill('[data-testid=lead-form] input[name="extra[cf_2]"]', '150 000');
  await page.click('[data-testid=lead-form] button.primary[type=submit]:not([name])');
  await page.waitForURL(/\/leads\/\d+$/);
  await hydrated(page);
  await page.waitForSelector('[data-testid=lead-edit]');
  assert.equal(await page.inputValue('[data-testid=lead-edit] input[name="extra[cf_2]"]'), '150000');
  assert.equal(await page.inputValue('[data-testid=lead-edit] select[name="extra[cf_1]"]'), 'Тверь');

  await page.fill('[data-testid=lead-edit] input[name="extra[cf_2]"]', '200000');
  await page.fill('[data-testid=lead-edit] input[name=tags]', 'VIP, лизинг');
  await page.selectOption('[data-testid=lead-edit] select[name=status_id]', { label: 'В работе' });
  await page.click('[data-testid=lead-edit] button[type=submit]');
  await page.waitForFunction(() => /Доход: 150000 → 200000/.test(document.querySelector('[data-testid=timeline]')?.textContent || ''));
  const history = await page.textContent('[data-testid=timeline]');
  assert.match(history, /Статус: Новый → В работе/);
  assert.match(history, /Теги: — → vip, лизинг/);
  await ctx.close();
});

test('filters on extra fields, chosen columns and a shared saved view; the export follows the view', async () => {
  const fields = (await api('GET', '/custom-fields')).body;
  let region = fields.find((f) => f.label === 'Регион');
  if (!region) region = (await api('POST', '/custom-fields', { label: 'Регион', kind: 'choice', options: ['Москва', 'Тверь'] })).body;
  for (const [name, phone, r] of [['Видов Виктор', '+7 916 200 00 01', 'Тверь'], ['Видова Вера', '+7 916 200 00 02', 'Тверь'], ['Московский Марк', '+7 916 200 00 03', 'Москва']]) {
    const res = await api('POST', '/leads', { client_name: name, phone, consent: true, extra: { [region.key]: r } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
  const bad = await api('POST', '/leads', { client_name: 'Ошибка', phone: '+7 916 200 00 09', consent: true, extra: { [region.key]: 'Сочи' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'validation');

  const { ctx, page } = await adminPage('/leads');
  await page.fill('[data-testid=lead-search]', 'видов');
  await page.waitForSelector(`select[data-filter=${region.key}]`);
  await page.selectOption(`select[data-filter=${region.key}]`, 'Тверь');
  await page.waitForFunction(() => document.querySelector('[data-testid=leads-total]')?.textContent === '2');
  await page.click('[data-testid=columns] summary');
  await page.uncheck('[data-testid=columns] input[data-column=phone]');
  await page.check(`[data-testid=columns] input[data-column=${region.key}]`);
  await page.waitForSelector(`[data-testid=leads-table] th[data-column=${region.key}]`);
  assert.equal(await page.$('[data-testid=leads-table] th[data-column=phone]'), null);
  const cells = await page.$$eval(`[data-testid=leads-table] td[data-column=${region.key}]`, (tds) => tds.map((t) => t.textContent));
  assert.deepEqual(cells, ['Тверь', 'Тверь']);

  await page.fill('[data-testid=save-view] input[name=name]', 'Тверские');
  await page.check('[data-testid=save-view] input[name=shared]');
  await page.click('[data-testid=save-view] button[type=submit]');
  await page.waitForSelector('[data-testid=view-saved]');

  // Another admin session opens the list fresh and picks the shared view.
  const { ctx: ctx2, page: other } = await adminPage('/leads');
  await other.waitForFunction(() => [...document.querySelectorAll('[data-testid=views] option')].some((o) => o.textContent.includes('Тверские')));
  const total = await other.textContent('[data-testid=leads-total]');
  assert.notEqual(total, '2', 'unfiltered at first');
  const viewId = await other.$eval('[data-testid=views]', (s) => [...s.options].find((o) => o.textContent.includes('Тверские')).value);
  await other.selectOption('[data-testid=views]', viewId);
  await other.waitForFunction(() => document.querySelector('[data-testid=leads-total]')?.textContent === '2');
  assert.equal(await other.inputValue('[data-testid=lead-search]'), 'видов');
  assert.ok(await other.$(`[data-testid=leads-table] th[data-column=${region.key}]`));
  assert.equal(await other.$('[data-testid=leads-table] th[data-column=phone]'), null);

  const [download] = await Promise.all([other.waitForEvent('download'), other.click('[data-testid=export-csv]')]);
  const lines = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '').trim().split('\n');
  assert.match(lines[0], /;Регион/);
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.ok(lines.slice(1).every((l) => /Видов/.test(l) && /Тверь/.test(l)));
  await ctx2.close();
  await ctx.close();
});

test('an employee cannot share a view; a bad date filter gets a Russian message, not an error page', async () => {
  const inv = await api('POST', '/invitations', { email: 'manager@mak.test', role: 'employee' });
  assert.equal(inv.status, 201);
  const ctx = await s.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(inv.body.url);
  await hydrated(page);
  await page.fill('[data-testid=invite-form] input[name=full_name]', 'Менеджер Мария');
  await page.fill('[data-testid=invite-form] input[name=password]', 'manager-pass-1');
  await page.click('[data-testid=invite-form] button[type=submit]');
  await page.waitForURL((u) => !u.pathname.startsWith('/invite'));
  await page.goto(`${s.server.url}/leads`);
  await hydrated(page);
  await page.fill('[data-testid=save-view] input[name=name]', 'Мой общий');
  await page.check('[data-testid=save-view] input[name=shared]');
  await page.click('[data-testid=save-view] button[type=submit]');
  await page.waitForSelector('[data-testid=save-view] .alert');
  assert.match(await page.textContent('[data-testid=save-view] .alert'), /Нет доступа/);
  await page.uncheck('[data-testid=save-view] input[name=shared]');
  await page.click('[data-testid=save-view] button[type=submit]');
  await page.waitForSelector('[data-testid=view-saved]');

  const r = await fetch(`${s.server.url}/api/v1/leads?created_from=${encodeURIComponent('позавчера')}`, { headers: { Authorization: `Bearer ${s.token}` } });
  assert.equal(r.status, 400);
  const body = await r.json();
  assert.equal(body.code, 'validation');
  await ctx.close();
});

test('a file uploaded on the lead card shows in its timeline and downloads with the same bytes; strangers get no file', async () => {
  const res = await api('POST', '/leads', { client_name: 'Документов Денис', phone: '+7 917 300 00 01', consent: true });
  assert.equal(res.status, 201);
  const { ctx, page } = await adminPage(`/leads/${res.body.number}`);
  await page.waitForSelector('[data-testid=file-form]');
  const content = 'Договор №17 — подписан';
  await page.setInputFiles('[data-testid=file-form] input[type=file]', { name: 'договор.txt', mimeType: 'text/plain', buffer: Buffer.from(content) });
  await page.click('[data-testid=file-form] button[type=submit]');
  await page.waitForSelector('[data-testid=timeline] a[data-file^="договор.txt"]');
  await hydrated(page);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=timeline] a[data-file^="договор.txt"]')]);
  assert.equal(download.suggestedFilename(), 'договор.txt');
  assert.equal(readFileSync(await download.path(), 'utf8'), content);
  const href = await page.getAttribute('[data-testid=timeline] a[data-file^="договор.txt"]', 'href');
  const anonymous = await fetch(`${s.server.url}${href}`);
  assert.equal(anonymous.status, 401);

  // An empty file is refused with a Russian message, and the card stays as it was.
  await page.setInputFiles('[data-testid=file-form] input[type=file]', { name: 'пусто.txt', mimeType: 'text/plain', buffer: Buffer.alloc(0) });
  await page.click('[data-testid=file-form] button[type=submit]');
  await page.waitForSelector('[data-testid=file-error]');
  assert.match(await page.textContent('[data-testid=file-error]'), /Выберите непустой файл/);
  assert.equal(await page.$$eval('[data-testid=timeline] a[data-file]', (a) => a.length), 1);
  await ctx.close();
});

test('the list pages forward and back on the server', async () => {
  for (let i = 0; i < 55; i++) {
    const r = await api('POST', '/leads', { client_name: `Страничный ${i}`, phone: `+7 919 500 ${String(i).padStart(4, '0')}`.replace(/(\d{2})(\d{2})$/, '$1 $2'), consent: true });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const { ctx, page } = await adminPage('/leads');
  await page.fill('[data-testid=lead-search]', 'страничный');
  await page.waitForFunction(() => document.querySelector('[data-testid=leads-total]')?.textContent === '55');
  assert.equal((await page.textContent('[data-testid=pager-next]')).trim(), 'Вперёд');
  assert.equal(await page.$$eval('[data-testid=leads-table] tbody tr', (r) => r.length), 50);
  await page.click('[data-testid=pager-next]');
  await page.waitForFunction(() => document.querySelector('[data-testid=pager-at]')?.textContent.startsWith('2'));
  assert.equal(await page.$$eval('[data-testid=leads-table] tbody tr', (r) => r.length), 5);
  assert.ok(await page.isDisabled('[data-testid=pager-next]'));
  await page.click('[data-testid=pager-prev]');
  await page.waitForFunction(() => document.querySelector('[data-testid=pager-at]')?.textContent.startsWith('1'));

  // Any column sorts on the server, e.g. the phone: descending first, then ascending.
  await page.click('[data-testid=leads-table] th[data-sort=phone]');
  await page.waitForFunction(() => document.querySelector('[data-testid=leads-table] tbody tr td[data-column=phone]')?.textContent === '+7 (919) 500-00-54');
  await page.click('[data-testid=leads-table] th[data-sort=phone]');
  await page.waitForFunction(() => document.querySelector('[data-testid=leads-table] tbody tr td[data-column=phone]')?.textContent === '+7 (919) 500-00-00');
  await ctx.close();
});
