import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, freshDatabase, startServer, launch, signIn, hydrated } from './helpers.mjs';

let db, server, browser;
before(async () => { db = freshDatabase(); server = await startServer(db.url); browser = await launch(); });
after(async () => { await browser?.close(); await server?.stop(); db?.drop(); });

test('an invited employee is refused the audit log until the admin grants it in the matrix', async () => {
  const actx = await browser.newContext();
  const admin = await actx.newPage();
  await signIn(admin, server.url, ADMIN.email, ADMIN.password);
  await admin.waitForURL('**/admin/users');
  await hydrated(admin);

  await admin.fill('[data-testid=invite-user-form] input[name=email]', 'employee@mak-crm.test');
  await admin.selectOption('[data-testid=invite-user-form] select[name=role]', 'employee');
  await admin.click('[data-testid=invite-user-form] button[type=submit]');
  const link = (await (await admin.waitForSelector('[data-testid=invite-link]')).textContent()).trim();

  const ectx = await browser.newContext();
  const emp = await ectx.newPage();
  await emp.goto(link);
  await hydrated(emp);
  await emp.fill('[data-testid=invite-form] input[name=full_name]', 'Сидорова Анна');
  await emp.fill('[data-testid=invite-form] input[name=password]', 'employee-pass-1');
  await emp.click('[data-testid=invite-form] button[type=submit]');
  await emp.waitForURL('**/admin/users');

  await emp.goto(`${server.url}/admin/audit`);
  await emp.waitForSelector('[data-testid=forbidden]');

  await admin.goto(`${server.url}/admin/permissions`);
  await hydrated(admin);
  await admin.selectOption('select[data-cell="employee:audit:view"]', 'all');
  await admin.waitForSelector('select[data-cell="employee:audit:view"].scope-all');

  await emp.goto(`${server.url}/admin/audit`);
  await hydrated(emp);
  await emp.waitForSelector('[data-testid=audit-table]');
  const entries = await emp.$$eval('[data-testid=audit-table] tbody tr', (rows) => rows.map((r) => r.dataset.entity + ':' + r.dataset.action));
  assert.ok(entries.includes('permission:update'), `the matrix change itself is audited: ${entries}`);

  // The invitation link works once.
  const again = await (await browser.newContext()).newPage();
  await again.goto(link);
  await again.waitForSelector('.alert.error');
  assert.match(await again.textContent('.alert.error'), /Приглашение недействительно или уже использовано/);
  await actx.close();
  await ectx.close();
});

test('sent invitations are listed with their state, and a revoked link no longer opens', async () => {
  const ctx = await browser.newContext();
  const admin = await ctx.newPage();
  await signIn(admin, server.url, ADMIN.email, ADMIN.password);
  await admin.waitForURL('**/admin/users');
  await hydrated(admin);
  await admin.fill('[data-testid=invite-user-form] input[name=email]', 'revoked@mak-crm.test');
  await admin.selectOption('[data-testid=invite-user-form] select[name=role]', 'partner');
  await admin.click('[data-testid=invite-user-form] button[type=submit]');
  const link = (await (await admin.waitForSelector('[data-testid=invite-link]')).textContent()).trim();
  const row = 'tr[data-invitation="revoked@mak-crm.test"]';
  await admin.waitForSelector(`${row}[data-state=pending]`);
  assert.match(await admin.textContent(row), /ждёт ответа/);
  // The accepted one from the first test is listed as accepted, with no revoke button.
  await admin.waitForSelector('tr[data-invitation="employee@mak-crm.test"][data-state=accepted]');
  assert.equal(await admin.$('tr[data-invitation="employee@mak-crm.test"] [data-testid=revoke-invitation]'), null);
  await admin.click(`${row} [data-testid=revoke-invitation]`);
  await admin.waitForSelector(`${row}[data-state=revoked]`);
  const other = await (await browser.newContext()).newPage();
  await other.goto(link);
  await other.waitForSelector('.alert.error');
  assert.match(await other.textContent('.alert.error'), /Приглашение недействительно/);
  await ctx.close();
});

test('a user issues a personal API token on the profile page, uses it, and revokes it', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, server.url, ADMIN.email, ADMIN.password);
  await page.waitForURL('**/admin/users');
  await page.goto(`${server.url}/settings/profile`);
  await hydrated(page);
  await page.fill('[data-testid=issue-token-form] input[name=name]', 'Интеграция 1С');
  await page.click('[data-testid=issue-token-form] button[type=submit]');
  const token = (await (await page.waitForSelector('[data-testid=my-new-token]')).textContent()).trim();
  const me = await fetch(`${server.url}/api/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(me.status, 200);
  assert.equal((await me.json()).email, ADMIN.email);
  const row = page.locator('[data-testid=tokens-table] tr', { hasText: 'Интеграция 1С' });
  await row.locator('button').click();
  await row.locator('.tag').waitFor();
  const after = await fetch(`${server.url}/api/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(after.status, 401);
  await ctx.close();
});

test('the admin sets the company time zone, and times are shown in it', async () => {
  const ctx = await browser.newContext();
  const admin = await ctx.newPage();
  await signIn(admin, server.url, ADMIN.email, ADMIN.password);
  await admin.waitForURL('**/admin/users');
  await admin.goto(`${server.url}/admin/permissions`);
  await hydrated(admin);
  assert.equal(await admin.inputValue('[data-testid=time-zone]'), 'Europe/Moscow');
  await admin.selectOption('[data-testid=time-zone]', 'Asia/Vladivostok');

  // The choice is kept…
  let kept = '';
  for (let i = 0; i < 50 && kept !== 'Asia/Vladivostok'; i++) {
    await admin.waitForTimeout(100);
    await admin.reload();
    kept = await admin.inputValue('[data-testid=time-zone]');
  }
  assert.equal(kept, 'Asia/Vladivostok');

  // …and the audit log (like every page) shows Vladivostok time, UTC+10.
  await admin.goto(`${server.url}/admin/audit`);
  await hydrated(admin);
  const row = await admin.waitForSelector('[data-testid=audit-table] tbody tr[data-entity=app_setting]');
  const at = (await row.$eval('td', (td) => td.textContent)).trim();
  const m = at.match(/^(\d\d)\.(\d\d)\.(\d{4}) (\d\d):(\d\d)(?::\d\d)?$/);
  assert.ok(m, `a date and time: ${at}`);
  const shown = Date.UTC(+m[3], +m[2] - 1, +m[1], +m[4], +m[5]);
  const vladivostok = Date.now() + 10 * 3600 * 1000;
  assert.ok(Math.abs(shown - vladivostok) < 3 * 60 * 1000, `${at} is Vladivostok time now`);
  assert.match(await row.textContent(), /Asia\/Vladivostok/);
  await ctx.close();
});
