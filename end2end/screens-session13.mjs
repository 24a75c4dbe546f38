// Screenshots of contracts, the client panel and cabinet analytics
// (session 13), at desktop and phone width, in Russian; the generated
// agreement and client contract PDFs are saved too, to be looked at as
// images (pdftoppm). Not part of the suite:
//   SHOTS_DIR=/tmp/shots MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… S3_…=… node --test screens-session13.mjs
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dir, shoot } from './shots.mjs';
import { apiToken, hydrated, invitedPartner, signIn, suite } from './tests/helpers.mjs';

const s = suite();
const sql = (q) => execFileSync('psql', [s.db.url, '-qtAc', q]).toString().trim();

async function as(token, method, path, body) {
  const r = await fetch(`${s.server.url}/api/v1${path}`, {
    method, headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  return r.json();
}

async function untilShown(page, selector) {
  for (let i = 0; i < 20 && !(await page.locator(selector).count()); i++) {
    await page.waitForTimeout(1000);
    await page.reload();
    await hydrated(page);
  }
}

test('contracts, the client panel and cabinet analytics, as their users see them', async () => {
  const hqId = sql("select id from company_cards where kind = 'hq'");
  await s.api('PUT', `/companies/${hqId}`, {
    legal_form: 'ooo', name: 'ООО «МаК Финанс»', inn: '7707083893', ogrn: '1027700132195', kpp: '773601001',
    legal_address: '117997, г. Москва, ул. Вавилова, д. 19', bank_name: 'ПАО Сбербанк', bik: '044525225',
    settlement_account: '40702810938000000001', correspondent_account: '30101810400000000225',
    signatory: 'Генеральный директор Маков Михаил Михайлович', signatory_basis: 'charter', tax_regime: 'vat',
  });
  const { page, ctx } = await invitedPartner(s, 'orlova@mak.test', 'Орлова Ольга');
  const token = await apiToken(s.db.url, 'orlova@mak.test');
  await as(token, 'PUT', '/company', {
    legal_form: 'ip', name: 'ИП Орлова Ольга Петровна', inn: '500100732259', ogrn: '304500116000157',
    legal_address: '420111, г. Казань, ул. Баумана, д. 1, оф. 5', bank_name: 'ПАО Сбербанк', bik: '044525225',
    settlement_account: '40702810938000000001', correspondent_account: '30101810400000000225', tax_regime: 'usn',
  });
  const products = ['Ипотека', 'Автокредит', 'Потребительский кредит'];
  for (let i = 0; i < 9; i++) {
    const lead = await as(token, 'POST', '/leads', { client_name: `Клиент ${i + 1}`, phone: `+7 916 310 00 ${10 + i}`, consent: true });
    const months = i % 4;
    const kind = i % 3 === 0 ? 'open' : i % 3 === 1 ? 'won' : 'lost';
    sql(`update leads set product_id = (select id from dictionary_items where kind = 'product' and name = '${products[i % 3]}'),
         stage_id = (select id from stages where kind = '${kind}' order by position limit 1),
         created_at = now() - interval '${months} month' where id = '${lead.id}'`);
    if (kind === 'won') {
      await s.api('POST', `/leads/${lead.id}/issue`, { issued_on: new Date().toISOString().slice(0, 10), bank: 'Банк ВТБ', amount: 1500000 + i * 250000 });
    }
  }
  // The agreement (the worker's) and the analytics in the cabinet.
  await untilShown(page, '[data-testid=agreements] [data-testid=contract-link]');
  await shoot(page, 'partner-cabinet', { phoneFull: true });
  const agreement = await page.getAttribute('[data-testid=agreements] [data-testid=contract-link]', 'href');
  writeFileSync(`${dir}/agreement.pdf`, await (await page.request.get(`${s.server.url}${agreement}`)).body());
  await ctx.close();

  // HQ: the company card with the agreement, and the template editor's contract tab.
  const cardId = sql("select c.id from company_cards c join users u on u.id = c.user_id where u.email = 'orlova@mak.test'");
  const hq = await s.adminPage(`/companies/${cardId}`);
  await hq.page.waitForSelector('[data-testid=agreements] [data-testid=contract]');
  await hq.page.click('[data-testid=agreement-reissue]');
  await hq.page.waitForSelector('[data-testid=agreements] .tag.state-superseded');
  await hq.page.locator('[data-testid=agreements]').scrollIntoViewIfNeeded();
  await shoot(hq.page, 'company-agreements');
  await hq.page.goto(`${s.server.url}/settings/templates?kind=partner_contract`);
  await hydrated(hq.page);
  await hq.page.click('[data-testid=template-preview]');
  await hq.page.waitForTimeout(2000);
  await shoot(hq.page, 'contract-template');

  // An office, its client with a deal, a generated contract and a scan.
  execFileSync(process.env.MAK_BIN, ['create-franchisee', '--email', 'kazan@mak.test', '--company', 'ООО «МаК Казань»',
    '--name', 'Сидоров Семён', '--password', 'franchisee-pass-1', '--deposit', '50000'], { env: { ...process.env, DATABASE_URL: s.db.url } });
  const ftoken = await apiToken(s.db.url, 'kazan@mak.test');
  const lead = await as(ftoken, 'POST', '/leads', { client_name: 'Смирнова Анна Петровна', phone: '+7 917 300 00 01', email: 'anna@example.ru', consent: true, amount: '3000000' });
  sql(`update leads set product_id = (select id from dictionary_items where kind = 'product' and name = 'Ипотека') where id = '${lead.id}'`);
  const fctx = await s.browser.newContext();
  const fpage = await fctx.newPage();
  await signIn(fpage, s.server.url, 'kazan@mak.test', 'franchisee-pass-1');
  await fpage.waitForURL('**/franchisee');
  await untilShown(fpage, '[data-testid=agreements] [data-testid=contract-link]');
  await shoot(fpage, 'franchisee-cabinet', { phoneFull: true });
  await fpage.goto(`${s.server.url}/clients/${lead.client_id}`);
  await hydrated(fpage);
  await fpage.selectOption('#contract-lead', String(lead.number));
  await fpage.fill('#contract-fee', '25 000');
  await fpage.click('[data-testid=contract-generate-submit]');
  await fpage.waitForSelector('[data-testid=client-contracts] [data-testid=contract-link]');
  const contract = await fpage.getAttribute('[data-testid=client-contracts] [data-testid=contract-link]', 'href');
  writeFileSync(`${dir}/client-contract.pdf`, await (await fpage.request.get(`${s.server.url}${contract}`)).body());
  await fpage.setInputFiles('#doc-file', { name: 'паспорт.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 scan') });
  await fpage.fill('#doc-title', 'Паспорт, разворот');
  await fpage.click('[data-testid=doc-upload-submit]');
  await fpage.waitForURL(/doc=ok/);
  await hydrated(fpage);
  await shoot(fpage, 'client-panel', { phoneFull: true });
  await fctx.close();
  await hq.ctx.close();
});
