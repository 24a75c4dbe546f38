import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hydrated, invitedPartner, suite } from './helpers.mjs';

const s = suite();
const { api } = s;

const partner = (email, name) => invitedPartner(s, email, name);

const fill = async (page, values) => {
  for (const [field, value] of Object.entries(values)) {
    const el = page.locator(`[data-testid=card-${field}]`);
    if ((await el.evaluate((e) => e.tagName)) === 'SELECT') await el.selectOption(value);
    else await el.fill(value);
  }
};

test('a partner fills the company card: wrong INN and account are refused with the reason, HQ hears of the bank', async () => {
  const { ctx, page } = await partner('ivanov@mak.test', 'Иванов Иван');
  await page.click('nav a[href="/company"]');
  await page.waitForURL('**/company');
  await hydrated(page);
  const publicId = (await page.textContent('[data-testid=company-public-id]')).trim();
  assert.match(publicId, /^P-\d{6}$/);
  await page.waitForSelector('[data-testid=company-incomplete]');

  await fill(page, {
    legal_form: 'ip', name: 'ИП Иванов Иван Иванович', inn: '500100732258', ogrn: '304500116000157',
    tax_regime: 'usn', legal_address: 'г. Казань, ул. Баумана, д. 1',
    bank_name: 'ПАО Сбербанк', bik: '044525225', settlement_account: '40702810938000000002',
    correspondent_account: '30101810400000000225', contact_email: 'ivanov@mak.test',
  });
  await page.click('[data-testid=company-save]');
  await page.waitForSelector('[data-field=inn]:has-text("Неверная контрольная сумма ИНН")');
  assert.match(await page.textContent('[data-field=settlement_account]'), /не сходится с БИК/);
  assert.equal(await page.locator('[data-testid=company-saved]').count(), 0);
  const stored = await api('GET', '/companies?q=' + encodeURIComponent(publicId));
  assert.equal(stored.body.items[0].inn, null, 'nothing was saved');

  await fill(page, { inn: '500100732259', settlement_account: '40702810938000000001' });
  await page.click('[data-testid=company-save]');
  await page.waitForSelector('[data-testid=company-saved]');
  await page.waitForSelector('[data-testid=company-complete]');
  await page.reload();
  await hydrated(page);
  assert.equal(await page.inputValue('[data-testid=card-inn]'), '500100732259');
  assert.equal(await page.inputValue('[data-testid=card-settlement_account]'), '40702810938000000001');

  // The REST twin answers with codes and fields.
  const own = await api('GET', `/companies/${stored.body.items[0].id}`);
  assert.equal(own.status, 200);
  assert.equal(own.body.card.ogrn, '304500116000157');
  const badPut = await api('PUT', `/companies/${own.body.id}`, { ...own.body.card, legal_form: 'ooo', kpp: '' });
  assert.equal(badPut.status, 400, JSON.stringify(badPut.body));
  assert.equal(badPut.body.code, 'validation');
  assert.deepEqual(badPut.body.fields.map((f) => f.field).sort(), ['inn', 'kpp', 'ogrn', 'signatory']);
  await ctx.close();

  // HQ: the bell says the bank changed; the list finds the card; the card opens.
  const hq = await s.adminPage('/companies');
  await hq.page.waitForSelector('[data-testid=bell-count]');
  await hq.page.fill('[data-testid=companies-search]', publicId);
  await hq.page.press('[data-testid=companies-search]', 'Enter');
  await hq.page.waitForSelector(`[data-testid=companies-list] a:has-text("${publicId}")`);
  assert.match(await hq.page.textContent('[data-testid=companies-list]'), /ИП Иванов Иван Иванович/);
  await hq.page.click(`[data-testid=companies-list] a:has-text("${publicId}")`);
  await hq.page.waitForSelector('[data-testid=company-form]');
  assert.equal(await hq.page.inputValue('[data-testid=card-bik]'), '044525225');
  await hq.ctx.close();
});

test('a partner cannot open another partner\'s card', async () => {
  const { ctx, page } = await partner('petrov@mak.test', 'Петров Пётр');
  const other = (await api('GET', '/companies?q=' + encodeURIComponent('Иванов'))).body.items[0];
  await page.goto(`${s.server.url}/companies/${other.id}`);
  await hydrated(page);
  await page.waitForSelector('[data-testid=company-error]');
  assert.equal(await page.locator('[data-testid=company-form]').count(), 0);
  assert.ok(!(await page.content()).includes('500100732259'));
  await ctx.close();
});
