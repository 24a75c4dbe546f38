import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, freshDatabase, startServer, launch, open, signIn, hydrated } from './helpers.mjs';

let db, a, b, browser;
before(async () => {
  db = freshDatabase();
  a = await startServer(db.url);
  b = await startServer(db.url); // a second instance on the same database
  browser = await launch();
});
after(async () => { await browser?.close(); await a?.stop(); await b?.stop(); db?.drop(); });

async function adminOnUsersPage() {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, a.url, ADMIN.email, ADMIN.password);
  await page.waitForURL('**/admin/users');
  await hydrated(page);
  await page.waitForSelector('[data-testid=live][data-state=on]');
  return { ctx, page };
}

async function fillRegistration(page, fields) {
  for (const [name, value] of Object.entries(fields)) {
    await page.fill(`[data-testid=register-form] input[name=${name}]`, value);
  }
}

test('a partner registers, the admin sees it live, approves it, and the partner lands in the cabinet', async () => {
  const admin = await adminOnUsersPage();

  // The partner registers through the *other* server instance.
  const pctx = await browser.newContext();
  const partner = await open(pctx, `${b.url}/register`);
  await fillRegistration(partner, {
    full_name: 'Петров Пётр', email: 'petrov@example.ru', password: 'short', phone: '12',
    city: 'Казань', niche: 'Ипотека', inn: '7707083894', company_name: 'ООО Петров',
  });
  await partner.click('[data-testid=register-form] button[type=submit]');
  await partner.waitForSelector('[data-field=inn]');
  assert.equal((await partner.textContent('[data-field=inn]')).trim(), 'Неверная контрольная сумма ИНН');
  assert.equal((await partner.textContent('[data-field=password]')).trim(), 'Пароль должен быть не короче 8 символов');
  assert.equal((await partner.textContent('[data-field=phone]')).trim(), 'Некорректный номер телефона');
  await fillRegistration(partner, { password: 'partner-pass-1', phone: '8 (999) 555-44-33', inn: '7707083893' });
  await partner.click('[data-testid=register-form] button[type=submit]');
  await partner.waitForURL('**/pending');
  await hydrated(partner);
  await partner.waitForSelector('[data-testid=pending]');
  await partner.waitForSelector('[data-testid=live][data-state=on]');

  // The admin's page shows the application without a reload, and the bell rings.
  const row = admin.page.locator('tr[data-email="petrov@example.ru"]');
  await row.waitFor({ timeout: 10000 });
  assert.equal(await row.getAttribute('data-status'), 'pending');
  await admin.page.waitForSelector('[data-testid=bell-count]');

  await row.locator('[data-action=approve-partner]').click();
  await admin.page.waitForSelector('tr[data-email="petrov@example.ru"][data-status=active]');

  // The waiting partner is taken to the partner cabinet by itself.
  await partner.waitForURL('**/partner', { timeout: 10000 });
  await partner.waitForSelector('[data-testid=partner-cabinet]');
  assert.match(await partner.textContent('[data-testid=referral-code]'), /^[A-Z0-9]{8}$/);

  // Admin pages are closed to the partner.
  for (const path of ['/admin/users', '/admin/permissions', '/admin/audit']) {
    const res = await partner.goto(`${a.url}${path}`);
    await partner.waitForSelector('[data-testid=forbidden]');
    assert.match(await partner.textContent('[data-testid=forbidden] h1'), /Нет доступа/);
    assert.ok(res.status() === 200 || res.status() === 403);
  }
  await pctx.close();
  await admin.ctx.close();
});

test('a block made through the second instance reaches the open page, also after a restart', async () => {
  const admin = await adminOnUsersPage();
  const row = admin.page.locator('tr[data-email="petrov@example.ru"]');
  await row.waitFor();

  // Restart instance A on the same port; the page reconnects by itself.
  const port = a.port;
  await a.stop();
  await admin.page.waitForSelector('[data-testid=live][data-state=off]', { timeout: 30000 });
  a = await startServer(db.url, port);
  await admin.page.waitForSelector('[data-testid=live][data-state=on]', { timeout: 30000 });

  // An admin acting on instance B blocks the partner.
  const bctx = await browser.newContext();
  const other = await bctx.newPage();
  await signIn(other, b.url, ADMIN.email, ADMIN.password);
  await other.waitForURL('**/admin/users');
  await hydrated(other);
  await other.locator('tr[data-email="petrov@example.ru"] [data-action=block]').click();

  await admin.page.waitForSelector('tr[data-email="petrov@example.ru"].blocked', { timeout: 10000 });
  await bctx.close();
  await admin.ctx.close();
});
