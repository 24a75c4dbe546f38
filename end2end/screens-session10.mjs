// Screenshots of the lead auction (session 10), at desktop and phone width,
// in Russian: the franchisee's lots with a bid and a countdown, a lot's page
// with its history, the balance with the ledger, HQ's auction page with the
// summary, the companies, returns. Not part of the suite:
//   SHOTS_DIR=/tmp/shots MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session10.mjs
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { shoot } from './shots.mjs';
import { apiToken, hydrated, signIn, suite } from './tests/helpers.mjs';

const s = suite();

function franchisee(email, company) {
  execFileSync(process.env.MAK_BIN, ['create-franchisee', '--email', email, '--company', company,
    '--name', `Франчайзи ${company}`, '--password', 'franchisee-pass-1', '--deposit', '250000'],
  { env: { ...process.env, DATABASE_URL: s.db.url } });
}

test('the auction, as its users see it', async () => {
  franchisee('kazan@mak.test', 'Офис Казань');
  franchisee('perm@mak.test', 'Офис Пермь');
  const people = [
    ['Петров Иван Сергеевич', '+7 916 555 12 67', '2 500 000'],
    ['Сидорова Анна Павловна', '+7 903 444 21 08', '850 000'],
    ['Кузнецов Олег', '+7 925 333 45 90', '4 100 000'],
  ];
  const ids = [];
  for (const [name, phone, amount] of people) {
    ids.push((await s.api('POST', '/leads', { client_name: name, phone, amount, consent: true })).body);
  }
  const lots = (await s.api('POST', '/lots', { lead_ids: ids.map((l) => l.id), start_price: 1500, step: 100, buy_now: 6000 })).body.lots;
  const ctx = await s.browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, s.server.url, 'kazan@mak.test', 'franchisee-pass-1');
  await page.waitForURL('**/franchisee');
  await page.goto(`${s.server.url}/auction`);
  await hydrated(page);
  await page.locator(`[data-testid=lot]:has(a[href="/auction/${lots[0].id}"]) [data-testid=bid]`).click();
  await page.waitForSelector('[data-testid=leading]');
  await shoot(page, 'auction-lots');
  await page.goto(`${s.server.url}/auction/${lots[0].id}`);
  await hydrated(page);
  await page.waitForSelector('[data-testid=bid-history] tbody tr');
  await shoot(page, 'auction-lot');
  await page.goto(`${s.server.url}/auction/balance`);
  await hydrated(page);
  await page.waitForSelector('[data-testid=ledger]');
  await shoot(page, 'auction-balance');
  // A lot bought at once and sent back, for the returns page.
  const token = await apiToken(s.db.url, 'kazan@mak.test');
  const asKazan = (method, path, body) => fetch(`${s.server.url}/api/v1${path}`, {
    method, headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body),
  });
  await asKazan('POST', `/lots/${lots[1].id}/buy-now`);
  const bought = (await (await asKazan('GET', `/lots/${lots[1].id}`)).json()).lead_number;
  const leadId = ids.find((l) => l.number === bought).id;
  await asKazan('POST', `/leads/${leadId}/return`, { reason: 'not_reachable', comment: 'Пять звонков за два дня, трубку не берут' });
  const admin = await s.adminPage('/auction');
  await admin.page.waitForSelector('[data-testid=auction-summary]');
  await shoot(admin.page, 'auction-hq');
  await admin.page.goto(`${s.server.url}/auction/franchisees`);
  await hydrated(admin.page);
  await admin.page.waitForSelector('[data-testid=companies]');
  await shoot(admin.page, 'auction-companies');
  await admin.page.goto(`${s.server.url}/auction/returns`);
  await hydrated(admin.page);
  await admin.page.waitForSelector('[data-testid=returns-page]');
  await shoot(admin.page, 'auction-returns');
  await admin.ctx.close();
  await ctx.close();
});
