// Screenshots of counterparties and commissions (session 11), at desktop and
// phone width, in Russian: a partner's company card (with a refused INN), HQ's
// list of counterparties, the partner cabinet with grade, calculator, accruals
// and referrals, the issue panel on a won lead, HQ's grades page. Not part of
// the suite:
//   SHOTS_DIR=/tmp/shots MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session11.mjs
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { shoot } from './shots.mjs';
import { apiToken, hydrated, suite } from './tests/helpers.mjs';

const s = suite();
const sql = (q) => execFileSync('psql', [s.db.url, '-qtAc', q]).toString().trim();

test('counterparties and commissions, as their users see them', async () => {
  const inv = await s.api('POST', '/invitations', { email: 'ivanova@mak.test', role: 'partner' });
  const ctx = await s.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(inv.body.url);
  await hydrated(page);
  await page.fill('[data-testid=invite-form] input[name=full_name]', 'Иванова Мария');
  await page.fill('[data-testid=invite-form] input[name=password]', 'partner-pass-1');
  await page.click('[data-testid=invite-form] button[type=submit]');
  await page.waitForURL('**/partner');
  await page.goto(`${s.server.url}/company`);
  await hydrated(page);
  const fill = async (values) => {
    for (const [f, v] of Object.entries(values)) {
      const el = page.locator(`[data-testid=card-${f}]`);
      if ((await el.evaluate((e) => e.tagName)) === 'SELECT') await el.selectOption(v); else await el.fill(v);
    }
  };
  await fill({ legal_form: 'ip', name: 'ИП Иванова Мария Сергеевна', inn: '500100732258', ogrn: '304500116000157',
    tax_regime: 'usn', legal_address: '420111, г. Казань, ул. Баумана, д. 1, оф. 5', bank_name: 'ПАО Сбербанк',
    bik: '044525225', settlement_account: '40702810938000000001', correspondent_account: '30101810400000000225',
    contact_phone: '+7 916 123 45 67', contact_email: 'ivanova@mak.test' });
  await page.click('[data-testid=company-save]');
  await page.waitForSelector('[data-field=inn]');
  await shoot(page, 'company-card-error');
  await fill({ inn: '500100732259' });
  await page.click('[data-testid=company-save]');
  await page.waitForSelector('[data-testid=company-saved]');
  await shoot(page, 'company-card', { phoneFull: true });

  // Deals: two issued through HQ's API, one on the lead card below.
  const token = await apiToken(s.db.url, 'ivanova@mak.test');
  const deals = [];
  for (const [name, phone] of [['Орлов Пётр', '+7 916 300 00 01'], ['Белова Анна', '+7 916 300 00 02'], ['Серов Илья', '+7 916 300 00 03']]) {
    const r = await fetch(`${s.server.url}/api/v1/leads`, { method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ client_name: name, phone, consent: true }) });
    const lead = await r.json();
    sql(`update leads set product_id = (select id from dictionary_items where kind = 'product' and name = 'Ипотека'),
         stage_id = (select id from stages where kind = 'won' order by position limit 1) where id = '${lead.id}'`);
    deals.push(lead);
  }
  for (const d of deals.slice(0, 2)) {
    await s.api('POST', `/leads/${d.id}/issue`, { issued_on: '2026-11-20', bank: 'ВТБ', amount: 2500000 });
  }
  const hq = await s.adminPage(`/leads/${deals[2].number}`);
  await hq.page.waitForSelector('[data-testid=issue-form]');
  await hq.page.fill('[data-testid=issue-bank]', 'ПАО Сбербанк');
  await hq.page.fill('[data-testid=issue-amount]', '1 800 000');
  await hq.page.click('[data-testid=issue-save]');
  await hq.page.waitForSelector('[data-testid=issue-recorded]');
  await shoot(hq.page, 'lead-issue');
  await hq.page.goto(`${s.server.url}/companies`);
  await hydrated(hq.page);
  await hq.page.waitForSelector('[data-testid=companies-list]');
  await shoot(hq.page, 'companies');
  await hq.page.goto(`${s.server.url}/settings/grades`);
  await hydrated(hq.page);
  await hq.page.click('[data-testid=recompute]');
  await hq.page.waitForSelector('[data-testid=recomputed]');
  await shoot(hq.page, 'grades');

  await page.goto(`${s.server.url}/partner`);
  await hydrated(page);
  await page.selectOption('[data-testid=calc-product]', { label: 'Ипотека' });
  await page.fill('[data-testid=calc-amount]', '3 000 000');
  await page.click('[data-testid=calc-go]');
  await page.waitForSelector('[data-testid=calc-now]');
  await shoot(page, 'partner-earnings', { phoneFull: true });
  await hq.ctx.close();
  await ctx.close();
});
