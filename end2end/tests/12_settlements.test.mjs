import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiToken, hydrated, invitedPartner, suite } from './helpers.mjs';

const s = suite();
const { api } = s;
const flat = (t) => (t || '').replace(/\s/g, '');

function sql(query) {
  return execFileSync('psql', [s.db.url, '-qtAc', query]).toString().trim();
}

/// The text of a PDF, read with pdftotext (poppler-utils).
function pdfText(bytes) {
  const dir = mkdtempSync(join(tmpdir(), 'act-'));
  const file = join(dir, 'act.pdf');
  writeFileSync(file, bytes);
  return execFileSync('pdftotext', ['-layout', file, '-']).toString();
}

const partnerCard = {
  legal_form: 'ip', name: 'ИП Актов Андрей Андреевич', inn: '500100732259', ogrn: '304500116000157',
  legal_address: 'г. Казань, ул. Баумана, д. 1', bank_name: 'ПАО Сбербанк', bik: '044525225',
  settlement_account: '40702810938000000001', correspondent_account: '30101810400000000225', tax_regime: 'usn',
};
const hqCard = {
  legal_form: 'ooo', name: 'ООО «МаК Финанс»', inn: '7707083893', ogrn: '1027700132195', kpp: '773601001',
  legal_address: '117997, г. Москва, ул. Вавилова, д. 19', bank_name: 'ПАО Сбербанк', bik: '044525225',
  settlement_account: '40702810938000000001', correspondent_account: '30101810400000000225',
  signatory: 'Генеральный директор Маков М. М.', signatory_basis: 'charter', tax_regime: 'vat',
};

async function as(token, method, path, body) {
  const r = await fetch(`${s.server.url}/api/v1${path}`, {
    method, headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

test('HQ issues the act, the partner downloads it, signs it and is paid in two parts', async () => {
  const { ctx, page } = await invitedPartner(s, 'aktov@mak.test', 'Актов Андрей');
  const token = await apiToken(s.db.url, 'aktov@mak.test');
  assert.equal((await as(token, 'PUT', '/company', partnerCard)).status, 200);
  const hqId = sql("select id from company_cards where kind = 'hq'");
  const put = await api('PUT', `/companies/${hqId}`, hqCard);
  assert.equal(put.status, 200, JSON.stringify(put.body));

  // A won mortgage deal issued for 1 000 000 ₽: 0,5 % at «Старт» = 5 000 ₽.
  const lead = await as(token, 'POST', '/leads', { client_name: 'Клиент Акта', phone: '+7 916 800 00 01', consent: true });
  assert.equal(lead.status, 201, JSON.stringify(lead.body));
  sql(`update leads set product_id = (select id from dictionary_items where kind = 'product' and name = 'Ипотека'),
       stage_id = (select id from stages where kind = 'won' order by position limit 1) where id = '${lead.body.id}'`);
  const today = new Date().toISOString().slice(0, 10);
  const issued = await api('POST', `/leads/${lead.body.id}/issue`, { issued_on: today, bank: 'Банк ВТБ', amount: 1000000 });
  assert.equal(issued.status, 201, JSON.stringify(issued.body));

  // HQ's register: the period waits for its act; HQ issues it.
  const hq = await s.adminPage('/settlements');
  await hq.page.waitForSelector('[data-testid=settlement-row]');
  assert.match(flat(await hq.page.textContent('[data-testid=settlement-row]')), /АктовАндрей.*5000₽.*Начислено/);
  await hq.page.click('[data-testid=issue-act]');
  await hq.page.waitForSelector('[data-testid=settlement-state]:has-text("Акт выставлен")');

  // The partner downloads the PDF from the cabinet: both requisites and the total in words.
  await page.reload();
  await hydrated(page);
  await page.waitForSelector('[data-testid=my-act]');
  const href = await page.getAttribute('[data-testid=my-act]', 'href');
  const pdf = await page.request.get(`${s.server.url}${href}`);
  assert.equal(pdf.status(), 200);
  assert.equal(pdf.headers()['content-type'], 'application/pdf');
  const text = pdfText(await pdf.body());
  for (const needle of ['ИП Актов Андрей Андреевич', '500100732259', '304500116000157', 'ООО «МаК Финанс»', '7707083893',
    '773601001', 'Пять тысяч рублей 00 копеек', 'Без НДС']) {
    assert.ok(text.includes(needle), `the act holds «${needle}»:\n${text}`);
  }
  const sha = pdf.headers()['x-content-sha256'];
  assert.match(sha, /^[0-9a-f]{64}$/);

  // Another partner can't open it.
  await invitedPartner(s, 'chuzhoy@mak.test', 'Чужой Партнёр').then((o) => o.ctx.close());
  const stranger = await apiToken(s.db.url, 'chuzhoy@mak.test');
  const docId = href.split('/').pop();
  const denied = await fetch(`${s.server.url}/api/v1/documents/${docId}`, { headers: { Authorization: `Bearer ${stranger}` } });
  assert.equal(denied.status, 403);

  // The partner uploads the signed scan on the period's page.
  await page.click('[data-testid=my-settlement] a');
  await page.waitForURL('**/settlements/*');
  await hydrated(page);
  await page.setInputFiles('[data-testid=signed-file]', { name: 'skan.exe', mimeType: 'application/x-msdownload', buffer: Buffer.from('MZ') });
  await page.click('[data-testid=signed-upload]');
  await page.waitForSelector('[data-testid=signed-message]:has-text("PDF, JPG или PNG")');
  await hydrated(page);
  await page.setInputFiles('[data-testid=signed-file]', { name: 'подписанный.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 signed scan') });
  await page.click('[data-testid=signed-upload]');
  await page.waitForSelector('[data-testid=signed-message]:has-text("загружен")');
  await page.waitForSelector('[data-testid=settlement-state]:has-text("Акт подписан")');
  await page.waitForSelector('[data-testid=signed-scan]');
  assert.equal(await page.$('[data-testid=payment-form]'), null, 'a partner records no payments');

  // HQ records a payment too large (refused), then two parts.
  const url = page.url().replace(s.server.url, '');
  await hq.page.goto(`${s.server.url}${url}`);
  await hydrated(hq.page);
  await hq.page.fill('[data-testid=pay-amount]', '6000');
  await hq.page.click('[data-testid=pay-save]');
  await hq.page.waitForSelector('[data-field=amount]:has-text("Больше, чем осталось оплатить")');
  await hq.page.fill('[data-testid=pay-amount]', '2000');
  await hq.page.click('[data-testid=pay-save]');
  await hq.page.waitForSelector('[data-testid=settlement-state]:has-text("Оплачено частично")');
  assert.equal(flat(await hq.page.textContent('[data-testid=settlement-due]')), '3000₽');
  // The form offers what is left.
  await hq.page.waitForFunction(() => document.querySelector('[data-testid=pay-amount]')?.value === '3000');
  await hq.page.click('[data-testid=pay-save]');
  await hq.page.waitForSelector('[data-testid=settlement-state]:text-is("Оплачено")');
  assert.equal((await hq.page.$$('[data-testid=payments] tbody tr')).length, 2);
  assert.equal(sql(`select balance_kopecks from ledger_accounts a join users u on u.id = a.owner_id
                    where a.kind = 'partner_commission' and u.email = 'aktov@mak.test'`), '0');

  // The register exports as XLSX; the API lists the period as paid.
  const xlsx = await hq.page.request.get(`${s.server.url}/api/v1/settlements/register.xlsx`);
  assert.equal(xlsx.status(), 200);
  assert.equal((await xlsx.body()).subarray(0, 2).toString(), 'PK');
  const list = await as(token, 'GET', '/settlements');
  assert.deepEqual(list.body.items.map((i) => [i.state, i.paid, i.due]), [['paid', 5000, 0]]);
  const again = await api('POST', `/settlements/${list.body.items[0].id}/act`);
  assert.equal(again.status, 409, 'an act is issued once');

  await page.reload();
  await hydrated(page);
  await page.waitForSelector('[data-testid=settlement-state]:text-is("Оплачено")');
  await ctx.close();
  await hq.ctx.close();
});

test('the act template is edited with a preview; a broken one is refused with its line', async () => {
  const { ctx, page } = await s.adminPage('/settings/templates');
  await page.waitForSelector('[data-testid=template-body]');
  assert.match(await page.textContent('[data-testid=template-variables]'), /d\.total_words/);
  await page.fill('[data-testid=template-body]', '= Акт № #d.number\nИтого: #d.total_words\n#d.nope.deeper');
  await page.click('[data-testid=template-preview]');
  const frame = page.frame({ name: 'template-preview' });
  await frame.waitForSelector('[data-testid=template-error]');
  assert.match(await frame.textContent('body'), /строка 3/);
  await page.click('[data-testid=template-save]');
  await page.waitForSelector('.alert.error, [data-testid=form-error]');
  assert.match(await page.textContent('section.card'), /строка 3/);
  assert.match(await page.textContent('[data-testid=template-version]'), /версия 0/);

  await page.fill('[data-testid=template-body]', '= Акт № #d.number\nИтого: #d.total_words');
  await page.click('[data-testid=template-save]');
  await page.waitForSelector('[data-testid=template-saved]');
  await page.waitForSelector('[data-testid=template-version]:has-text("версия 1")');
  await page.click('[data-testid=template-reset]');
  await page.waitForSelector('[data-testid=template-version]:has-text("версия 2")');
  assert.match(await page.inputValue('[data-testid=template-body]'), /Акт № #d.number от #d.date/);
  await ctx.close();
});
