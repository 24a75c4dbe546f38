import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiToken, hydrated, invitedPartner, signIn, suite } from './helpers.mjs';

const s = suite();
const flat = (t) => (t || '').replace(/\s/g, '');

function sql(query) {
  return execFileSync('psql', [s.db.url, '-qtAc', query]).toString().trim();
}

function pdfText(bytes) {
  const dir = mkdtempSync(join(tmpdir(), 'contract-'));
  const file = join(dir, 'contract.pdf');
  writeFileSync(file, bytes);
  return execFileSync('pdftotext', ['-layout', file, '-']).toString();
}

function franchisee(email, company) {
  execFileSync(process.env.MAK_BIN, ['create-franchisee', '--email', email, '--company', company,
    '--name', `Франчайзи ${company}`, '--password', 'franchisee-pass-1'],
  { env: { ...process.env, DATABASE_URL: s.db.url } });
}

async function cabinet(email) {
  const ctx = await s.browser.newContext();
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('pageerror:', e.message));
  await signIn(page, s.server.url, email, 'franchisee-pass-1');
  await page.waitForURL('**/franchisee');
  await hydrated(page);
  return { ctx, page };
}

/// Reloads until `selector` shows up: the agreement worker runs every 2 s.
async function waitAfterReload(page, selector, tries = 20) {
  for (let i = 0; i < tries; i++) {
    if (await page.locator(selector).count()) return;
    await page.waitForTimeout(1000);
    await page.reload();
    await hydrated(page);
  }
  await page.waitForSelector(selector, { timeout: 1000 });
}

test('an approved partner finds their agreement in the cabinet; HQ reissues it after the card changes', async () => {
  const { page } = await invitedPartner(s, 'dogovor@mak.test', 'Договоров Денис');
  await waitAfterReload(page, '[data-testid=agreements] [data-testid=contract-link]');
  assert.equal(await page.locator('[data-testid=agreement-reissue]').count(), 0, 'a partner cannot reissue');
  const href = await page.getAttribute('[data-testid=contract-link]', 'href');
  const pdf = await page.request.get(`${s.server.url}${href}`);
  assert.equal(pdf.status(), 200);
  const text = pdfText(await pdf.body());
  assert.match(text, /Договор № \d+\/\d{4}/);
  assert.match(flat(text), /ДоговоровДенис/);

  // HQ opens the partner's card and generates the agreement again.
  const cardId = sql("select c.id from company_cards c join users u on u.id = c.user_id where u.email = 'dogovor@mak.test'");
  const hq = await s.adminPage(`/companies/${cardId}`);
  await hq.page.waitForSelector('[data-testid=agreements] [data-testid=contract]');
  await hq.page.click('[data-testid=agreement-reissue]');
  await hq.page.waitForSelector('[data-testid=agreements] .tag.state-superseded');
  assert.equal(await hq.page.locator('[data-testid=agreements] [data-testid=contract]').count(), 2);
  assert.match(await hq.page.textContent('[data-testid=agreements]'), /Взамен договора/);
});

test("a franchisee's client card shows deals, its generated contract and documents; another office cannot open it", async () => {
  franchisee('kazan@mak.test', 'Офис Казань');
  franchisee('samara@mak.test', 'Офис Самара');
  const token = await apiToken(s.db.url, 'kazan@mak.test');
  const r = await fetch(`${s.server.url}/api/v1/leads`, {
    method: 'POST', headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Смирнова Анна Петровна', phone: '+7 917 300 00 01', consent: true, amount: '2500000' }),
  });
  assert.equal(r.status, 201);
  const lead = await r.json();
  const client = sql(`select client_id from leads where id = '${lead.id}'`);

  const kazan = await cabinet('kazan@mak.test');
  // The office's own agreement is in its cabinet too.
  await waitAfterReload(kazan.page, '[data-testid=agreements] [data-testid=contract-link]');
  await kazan.page.goto(`${s.server.url}/clients/${client}`);
  await hydrated(kazan.page);
  await kazan.page.waitForSelector('[data-testid=client-deal]');
  assert.match(flat(await kazan.page.textContent('[data-testid=client-deal]')), new RegExp(`№${lead.number}.*2500000₽`));
  assert.equal(flat(await kazan.page.textContent('[data-testid=stat-deals]')), '1');

  // A wrong fee is refused with the reason; then the contract is generated.
  await kazan.page.selectOption('#contract-lead', String(lead.number));
  await kazan.page.fill('#contract-fee', 'много');
  await kazan.page.click('[data-testid=contract-generate-submit]');
  await kazan.page.waitForSelector('[data-field=fee]');
  await kazan.page.fill('#contract-fee', '15 000');
  await kazan.page.click('[data-testid=contract-generate-submit]');
  await kazan.page.waitForSelector('[data-testid=contract-generated]');
  await kazan.page.waitForSelector('[data-testid=client-contracts] [data-testid=contract-link]');
  const href = await kazan.page.getAttribute('[data-testid=client-contracts] [data-testid=contract-link]', 'href');
  const pdf = await kazan.page.request.get(`${s.server.url}${href}`);
  assert.equal(pdf.status(), 200);
  const text = pdfText(await pdf.body());
  for (const needle of ['Смирнова Анна Петровна', 'Офис Казань', '15 000,00', `по заявке № ${lead.number}`]) {
    assert.ok(text.includes(needle), `the contract holds «${needle}»:\n${text}`);
  }

  // A scan uploaded to the client is listed with its documents.
  await kazan.page.setInputFiles('#doc-file', { name: 'passport.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 scan') });
  await kazan.page.fill('#doc-title', 'Паспорт');
  await kazan.page.click('[data-testid=doc-upload-submit]');
  await kazan.page.waitForURL(/doc=ok/);
  await hydrated(kazan.page);
  await kazan.page.waitForSelector('[data-testid=client-document]:has-text("Паспорт")');
  await kazan.page.waitForSelector('[data-testid=client-history]:has-text("договор")');

  // The other office: the page is forbidden and so is the file.
  const samara = await cabinet('samara@mak.test');
  // (The page's HTTP status is 403 only when «нет доступа» renders before the
  // stream starts; what it shows, and the data paths below, are what matter.)
  await samara.page.goto(`${s.server.url}/clients/${client}`);
  await samara.page.waitForSelector('[data-testid=forbidden]');
  assert.equal(await samara.page.locator('[data-testid=client-contracts]').count(), 0);
  const stolen = await samara.page.request.get(`${s.server.url}${href}`);
  assert.equal(stolen.status(), 403);
  const papers = await samara.page.request.get(`${s.server.url}/api/v1/clients/${client}`);
  assert.equal(papers.status(), 403, 'nor the client through the API');
});
