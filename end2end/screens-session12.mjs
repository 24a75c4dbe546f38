// Screenshots of settlements (session 12), at desktop and phone width, in
// Russian: HQ's register, a period with its act, scan and payments, the
// partner's cabinet list and the act template editor; the act PDF is saved
// too, to be looked at as an image (pdftoppm). Not part of the suite:
//   SHOTS_DIR=/tmp/shots MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… S3_…=… node --test screens-session12.mjs
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dir, shoot } from './shots.mjs';
import { apiToken, hydrated, invitedPartner, suite } from './tests/helpers.mjs';

const s = suite();
const sql = (q) => execFileSync('psql', [s.db.url, '-qtAc', q]).toString().trim();

async function as(token, method, path, body) {
  const r = await fetch(`${s.server.url}/api/v1${path}`, {
    method, headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return r.json();
}

test('settlements, as their users see them', async () => {
  const hqId = sql("select id from company_cards where kind = 'hq'");
  await s.api('PUT', `/companies/${hqId}`, {
    legal_form: 'ooo', name: 'ООО «МаК Финанс»', inn: '7707083893', ogrn: '1027700132195', kpp: '773601001',
    legal_address: '117997, г. Москва, ул. Вавилова, д. 19', bank_name: 'ПАО Сбербанк', bik: '044525225',
    settlement_account: '40702810938000000001', correspondent_account: '30101810400000000225',
    signatory: 'Генеральный директор Маков Михаил Михайлович', signatory_basis: 'charter', tax_regime: 'vat',
  });
  const partners = [['orlova@mak.test', 'Орлова Ольга', 'ИП Орлова Ольга Петровна'], ['petrov@mak.test', 'Петров Павел', 'ИП Петров Павел Ильич']];
  let page; let ctx;
  for (const [i, [email, name, company]] of partners.entries()) {
    const p = await invitedPartner(s, email, name);
    const token = await apiToken(s.db.url, email);
    await as(token, 'PUT', '/company', {
      legal_form: 'ip', name: company, inn: '500100732259', ogrn: '304500116000157',
      legal_address: '420111, г. Казань, ул. Баумана, д. 1, оф. 5', bank_name: 'ПАО Сбербанк', bik: '044525225',
      settlement_account: '40702810938000000001', correspondent_account: '30101810400000000225', tax_regime: 'usn',
    });
    for (const [client, phone, amount] of [['Орлов Пётр', `+7 916 300 00 1${i}`, 2500000], ['Белова Анна', `+7 916 301 00 1${i}`, 4200000]]) {
      const lead = await as(token, 'POST', '/leads', { client_name: client, phone, consent: true });
      sql(`update leads set product_id = (select id from dictionary_items where kind = 'product' and name = 'Ипотека'),
           stage_id = (select id from stages where kind = 'won' order by position limit 1) where id = '${lead.id}'`);
      await s.api('POST', `/leads/${lead.id}/issue`, { issued_on: new Date().toISOString().slice(0, 10), bank: 'Банк ВТБ', amount });
    }
    if (!page) { page = p.page; ctx = p.ctx; } else await p.ctx.close();
  }

  const hq = await s.adminPage('/settlements');
  await hq.page.waitForSelector('[data-testid=settlement-row]');
  await shoot(hq.page, 'settlements-register');
  await hq.page.click('[data-testid=issue-act]');
  await hq.page.waitForSelector('[data-testid=settlement-state]:has-text("Акт выставлен")');

  await page.reload();
  await hydrated(page);
  await page.waitForSelector('[data-testid=my-act]');
  await page.locator('[data-testid=partner-settlements]').scrollIntoViewIfNeeded();
  await shoot(page, 'partner-settlements', { phoneFull: true });
  const href = await page.getAttribute('[data-testid=my-act]', 'href');
  writeFileSync(`${dir}/act.pdf`, await (await page.request.get(`${s.server.url}${href}`)).body());

  await page.click('[data-testid=my-settlement] a');
  await page.waitForURL('**/settlements/*');
  await hydrated(page);
  await page.setInputFiles('[data-testid=signed-file]', { name: 'подписанный.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 scan') });
  await page.click('[data-testid=signed-upload]');
  await page.waitForSelector('[data-testid=signed-scan]');
  await shoot(page, 'settlement-partner', { phoneFull: true });

  await hq.page.goto(page.url());
  await hydrated(hq.page);
  await hq.page.fill('[data-testid=pay-amount]', '10000');
  await hq.page.click('[data-testid=pay-save]');
  await hq.page.waitForSelector('[data-testid=settlement-state]:has-text("Оплачено частично")');
  await shoot(hq.page, 'settlement-hq', { phoneFull: true });

  await hq.page.goto(`${s.server.url}/settings/templates`);
  await hydrated(hq.page);
  await hq.page.click('[data-testid=template-preview]');
  await hq.page.waitForTimeout(1500);
  await shoot(hq.page, 'act-template');
  await ctx.close();
  await hq.ctx.close();
});
