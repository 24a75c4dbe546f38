import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN, freshDatabase, startServer, launch, open, signIn, hydrated, totp } from './helpers.mjs';

let db, server, browser;
before(async () => { db = freshDatabase(); server = await startServer(db.url); browser = await launch(); });
after(async () => { await browser?.close(); await server?.stop(); db?.drop(); });

test('the first admin signs in and a wrong password is refused in Russian', async () => {
  const ctx = await browser.newContext();
  const page = await open(ctx, `${server.url}/login`);
  await signIn(page, server.url, ADMIN.email, 'wrong-password');
  await page.waitForSelector('[role=alert]');
  assert.equal((await page.textContent('[data-testid=login-form] [role=alert]')).trim(), 'Неверный email или пароль');
  await signIn(page, server.url, ADMIN.email, ADMIN.password);
  await page.waitForURL('**/admin/users');
  await hydrated(page);
  assert.match(await page.textContent('[data-testid=whoami]'), /Администратор/);
  await page.waitForSelector(`tr[data-email="${ADMIN.email}"]`);
  await ctx.close();
});

test('an admin turns on 2FA, then signs in with a TOTP code and once with a recovery code', async () => {
  const ctx = await browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, server.url, ADMIN.email, ADMIN.password);
  await page.waitForURL('**/admin/users');
  await page.goto(`${server.url}/settings/security`);
  await hydrated(page);
  await page.click('[data-testid=start-2fa]');
  await page.waitForSelector('.qr svg');
  const secret = (await page.textContent('[data-testid=totp-secret]')).trim();
  await page.fill('[data-testid=confirm-2fa-form] input[name=code]', '000000' === totp(secret) ? '111111' : '000000');
  await page.click('[data-testid=confirm-2fa-form] button[type=submit]');
  await page.waitForSelector('[data-testid=confirm-2fa-form] .field-error, [data-testid=confirm-2fa-form] [role=alert]');
  assert.match(await page.textContent('[data-testid=confirm-2fa-form]'), /Неверный код/);
  await page.fill('[data-testid=confirm-2fa-form] input[name=code]', totp(secret));
  await page.click('[data-testid=confirm-2fa-form] button[type=submit]');
  await page.waitForSelector('[data-testid=recovery-codes] li');
  const codes = await page.$$eval('[data-testid=recovery-codes] li', (els) => els.map((e) => e.textContent.trim()));
  assert.equal(codes.length, 10);
  await ctx.close();

  // Sign in again: the password is followed by a code.
  const ctx2 = await browser.newContext();
  const p2 = await ctx2.newPage();
  await signIn(p2, server.url, ADMIN.email, ADMIN.password);
  await p2.waitForSelector('[data-testid=code-form]');
  await p2.fill('[data-testid=code-form] input[name=code]', '12345');
  await p2.click('[data-testid=code-form] button[type=submit]');
  await p2.waitForSelector('[data-testid=code-form] [role=alert]');
  assert.equal((await p2.textContent('[data-testid=code-form] [role=alert]')).trim(), 'Неверный код подтверждения');
  await p2.fill('[data-testid=code-form] input[name=code]', totp(secret));
  await p2.click('[data-testid=code-form] button[type=submit]');
  await p2.waitForURL('**/admin/users');
  await ctx2.close();

  // And once with a recovery code, which then stops working.
  for (const expectOk of [true, false]) {
    const c = await browser.newContext();
    const p = await c.newPage();
    await signIn(p, server.url, ADMIN.email, ADMIN.password);
    await p.waitForSelector('[data-testid=code-form]');
    await p.fill('[data-testid=code-form] input[name=code]', codes[0]);
    await p.click('[data-testid=code-form] button[type=submit]');
    if (expectOk) {
      await p.waitForURL('**/admin/users');
    } else {
      await p.waitForSelector('[data-testid=code-form] [role=alert]');
      assert.equal((await p.textContent('[data-testid=code-form] [role=alert]')).trim(), 'Неверный код подтверждения');
    }
    await c.close();
  }
});
