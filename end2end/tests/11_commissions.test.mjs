import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { apiToken, hydrated, invitedPartner, signIn, suite } from './helpers.mjs';

const s = suite();
const { api } = s;
const flat = (t) => (t || '').replace(/\s/g, '');

function sql(query) {
  return execFileSync('psql', [s.db.url, '-qtAc', query]).toString().trim();
}

const partnerCabinet = (email, name) => invitedPartner(s, email, name);

/// A lead the partner hands in (through the API with their token), made a
/// won mortgage deal.
async function wonDeal(token, phone, clientName = 'Клиент Партнёра') {
  const r = await fetch(`${s.server.url}/api/v1/leads`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: clientName, phone, consent: true }),
  });
  const lead = await r.json();
  assert.equal(r.status, 201, JSON.stringify(lead));
  sql(`update leads set product_id = (select id from dictionary_items where kind = 'product' and name = 'Ипотека'),
       stage_id = (select id from stages where kind = 'won' order by position limit 1) where id = '${lead.id}'`);
  return lead;
}

test('a partner sees the grade and calculates; HQ records an issue and the accrual appears; a recomputation promotes', async () => {
  const { ctx, page } = await partnerCabinet('sidorov@mak.test', 'Сидоров Семён');
  assert.equal(await page.textContent('[data-testid=grade-name]'), 'Старт');

  // The calculator: bad input is named, a good one shows both grades.
  await page.fill('[data-testid=calc-amount]', 'много');
  await page.click('[data-testid=calc-go]');
  await page.waitForSelector('[data-field=product]');
  await page.selectOption('[data-testid=calc-product]', { label: 'Ипотека' });
  await page.fill('[data-testid=calc-amount]', '1 000 000');
  await page.click('[data-testid=calc-go]');
  await page.waitForSelector('[data-testid=calc-now]');
  assert.equal(flat(await page.textContent('[data-testid=calc-now]')), '5000₽');
  assert.equal(flat(await page.textContent('[data-testid=calc-next]')), '7500₽');

  // HQ records the loan issue on the lead card.
  const token = await apiToken(s.db.url, 'sidorov@mak.test');
  const deal = await wonDeal(token, '+7 916 700 00 01');
  const hq = await s.adminPage(`/leads/${deal.number}`);
  await hq.page.waitForSelector('[data-testid=issue-form]');
  await hq.page.fill('[data-testid=issue-bank]', 'ПАО Сбербанк');
  await hq.page.fill('[data-testid=issue-amount]', 'миллион');
  await hq.page.click('[data-testid=issue-save]');
  await hq.page.waitForSelector('[data-field=amount]');
  await hq.page.fill('[data-testid=issue-amount]', '1 000 000');
  await hq.page.click('[data-testid=issue-save]');
  await hq.page.waitForSelector('[data-testid=issue-recorded]');
  assert.match(flat(await hq.page.textContent('[data-testid=issue-accruals]')), /Своясделка.*0,5%5000₽/);
  await hq.page.reload();
  await hydrated(hq.page);
  await hq.page.waitForSelector('[data-testid=timeline]:has-text("Выдача кредита записана")');
  assert.match(flat(await hq.page.textContent('[data-testid=timeline]')), /ПАОСбербанк.*1000000₽/);
  const again = await api('POST', `/leads/${deal.id}/issue`, { issued_on: '2026-11-30', bank: 'Банк', amount: 5 });
  assert.equal(again.status, 409, 'an issue is recorded once');

  await page.reload();
  await hydrated(page);
  await page.waitForSelector('[data-testid=accrual]');
  assert.match(flat(await page.textContent('[data-testid=accrual]')), /5000₽/);
  assert.equal(flat(await page.textContent('[data-testid=earned]')), '5000₽');

  // Two more deals reach «Серебро» (3 deals, 3 000 000 ₽); HQ recomputes.
  for (const phone of ['+7 916 700 00 02', '+7 916 700 00 03']) {
    const d = await wonDeal(token, phone);
    const r = await api('POST', `/leads/${d.id}/issue`, { issued_on: '2026-11-30', bank: 'ВТБ', amount: 1000000 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  await hq.page.goto(`${s.server.url}/settings/grades`);
  await hydrated(hq.page);
  await hq.page.click('[data-testid=recompute]');
  await hq.page.waitForSelector('[data-testid=recomputed]');
  assert.match(await hq.page.textContent('[data-testid=recomputed]'), /1/);
  await hq.page.waitForSelector('[data-testid=grade-changes]:has-text("Старт → Серебро")');
  await hq.ctx.close();

  await page.reload();
  await hydrated(page);
  assert.equal(await page.textContent('[data-testid=grade-name]'), 'Серебро');
  await page.waitForSelector('[data-testid=grade-history]:has-text("Пересчёт по запросу")');
  await ctx.close();
});

/// Registers through `/register?ref=CODE` in a fresh browser and is approved as a partner.
async function registerThrough(code, email, name) {
  const ctx = await s.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(`${s.server.url}/register?ref=${code}`);
  await hydrated(page);
  assert.equal(await page.inputValue('[data-testid=register-form] input[name=referral_code]'), code);
  const fields = { full_name: name, email, password: 'partner-pass-1', phone: '8 (999) 555-44-3' + email.length % 10,
    city: 'Казань', niche: 'Ипотека', inn: '500100732259', company_name: name };
  for (const [k, v] of Object.entries(fields)) await page.fill(`[data-testid=register-form] input[name=${k}]`, v);
  await page.click('[data-testid=register-form] button[type=submit]');
  await page.waitForURL('**/pending');
  await ctx.close();
  const id = sql(`select id from users where email = '${email}'`);
  const ok = await api('POST', `/users/${id}/approve`, { role: 'partner' });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  return id;
}

test('referrals registered through the link show on two levels and the level-2 share is accrued', async () => {
  const code = sql("select referral_code from users where email = 'sidorov@mak.test'");
  assert.ok(code, 'the partner has a referral code');
  await registerThrough(code, 'first@mak.test', 'Первый Уровень');
  const firstCode = sql("select referral_code from users where email = 'first@mak.test'");
  await registerThrough(firstCode, 'second@mak.test', 'Второй Уровень');

  // The level-2 partner's deal is issued: 0.5 % of 2 000 000 = 10 000 ₽; level 2 gets 5 % of it.
  const token = await apiToken(s.db.url, 'second@mak.test');
  const deal = await wonDeal(token, '+7 916 700 00 09', 'Тайнова Вера Игоревна');
  const r = await api('POST', `/leads/${deal.id}/issue`, { issued_on: '2026-11-30', bank: 'Альфа-Банк', amount: '2 000 000' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(r.body.accruals.map((a) => [a.level, a.amount]), [[0, 10000], [1, 1000], [2, 500]]);

  const ctx = await s.browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, s.server.url, 'sidorov@mak.test', 'partner-pass-1');
  await page.waitForURL('**/partner');
  await hydrated(page);
  assert.match(await page.textContent('[data-testid=referral-link]'), new RegExp(`/register\\?ref=${code}$`));
  const rows = await page.$$eval('[data-testid=referral]', (rs) => rs.map((r) => [r.dataset.level, r.textContent.replace(/\s/g, '')]));
  assert.equal(rows.length, 2, JSON.stringify(rows));
  assert.equal(rows[0][0], '1');
  assert.match(rows[0][1], /ПервыйУровень.*Активен/);
  assert.equal(rows[1][0], '2');
  assert.match(rows[1][1], /ВторойУровень.*2000000₽500₽$/);
  const html = await page.content();
  assert.ok(!html.includes('700-00-09') && !html.includes('Тайнова'), 'no client personal data of referrals');
  await ctx.close();
});
