import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { apiToken, hydrated, signIn, suite } from './helpers.mjs';

const s = suite();
const { api } = s;

const PHONE_DIGITS = '9165551267';

/// Moves a lot's end into the past (its start an hour back), as if its time were up.
function expire(lot) {
  sql(`update lots set starts_at = now() - interval '1 hour', ends_at = now() - interval '1 second' where id = '${lot}'`);
}

function sql(query) {
  return execFileSync('psql', [s.db.url, '-qtAc', query]).toString().trim();
}

function franchisee(email, company) {
  execFileSync(process.env.MAK_BIN, ['create-franchisee', '--email', email, '--company', company,
    '--name', `Франчайзи ${company}`, '--password', 'franchisee-pass-1', '--deposit', '10000'],
  { env: { ...process.env, DATABASE_URL: s.db.url } });
}

async function cabinet(email) {
  const ctx = await s.browser.newContext();
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('pageerror:', e.message));
  await signIn(page, s.server.url, email, 'franchisee-pass-1');
  await page.waitForURL('**/franchisee');
  await page.goto(`${s.server.url}/auction`);
  await hydrated(page);
  return { ctx, page };
}

async function lotFor(name, phone, extra = {}) {
  const lead = await api('POST', '/leads', { client_name: name, phone, consent: true });
  assert.equal(lead.status, 201, JSON.stringify(lead.body));
  const lots = await api('POST', '/lots', { lead_ids: [lead.body.id], start_price: 1000, step: 100, ...extra });
  assert.equal(lots.status, 201, JSON.stringify(lots.body));
  return { lead: lead.body, lot: lots.body.lots[0].id };
}

const available = async (page) => (await page.textContent('[data-testid=available]')).replace(/\s/g, '');
const lotBox = (page, lot) => page.locator(`[data-testid=lot]:has(a[href="/auction/${lot}"])`);

let won;

test('two franchisees bid live: each sees the other, the outbid one is told, a late bid extends, the winner gets the client', async () => {
  franchisee('north@mak.test', 'Офис Север');
  franchisee('south@mak.test', 'Офис Юг');
  const { lead, lot } = await lotFor('Петров Иван Сергеевич', '+7 916 555 12 67');
  won = { lead, lot };
  const a = await cabinet('north@mak.test');
  const b = await cabinet('south@mak.test');

  // Masked on the page, in the API and in an export.
  assert.equal(await lotBox(a.page, lot).locator('[data-testid=lot-phone]').textContent(), '+7 (916) ***-**-67');
  assert.equal(await lotBox(a.page, lot).locator('[data-testid=lot-client]').textContent(), 'Петров И.');
  assert.ok(!(await a.page.content()).includes(PHONE_DIGITS.slice(3)), 'the page has no full phone');
  const token = await apiToken(s.db.url, 'north@mak.test');
  const asNorth = (path) => fetch(`${s.server.url}/api/v1${path}`, { headers: { Authorization: `Bearer ${token}` } });
  for (const path of ['/lots', `/lots/${lot}`, '/leads/export.csv', '/leads']) {
    const text = await (await asNorth(path)).text();
    assert.ok(!text.includes(PHONE_DIGITS.slice(3)) && !text.includes('Сергеевич'), `${path} leaks: ${text.slice(0, 200)}`);
  }

  // Bad input gets a Russian message and changes nothing.
  await lotBox(a.page, lot).locator('[data-testid=bid-amount]').fill('тысяча');
  await lotBox(a.page, lot).locator('[data-testid=bid]').click();
  await a.page.waitForSelector('[role=alert]:has-text("Сумма — число рублей")');
  await lotBox(a.page, lot).locator('[data-testid=bid-amount]').fill('500');
  await lotBox(a.page, lot).locator('[data-testid=bid]').click();
  await a.page.waitForSelector('[role=alert]:has-text("Ставка должна быть не меньше 1")');
  assert.equal(await lotBox(a.page, lot).locator('[data-testid=lot-bids]').textContent(), '0');
  await lotBox(a.page, lot).locator('[data-testid=bid-amount]').fill('1000');

  // North bids the start price; South sees it at once and outbids.
  await lotBox(a.page, lot).locator('[data-testid=bid]').click();
  await lotBox(a.page, lot).locator('[data-testid=leading]').waitFor();
  await b.page.waitForFunction((l) => document.querySelector(`[data-testid=lot]:has(a[href="/auction/${l}"]) [data-testid=lot-bids]`)?.textContent === '1', lot);
  assert.match(await lotBox(b.page, lot).locator('[data-testid=lot-price]').textContent(), /^1\s000\s₽$/);
  assert.equal(await available(a.page), '9000₽');
  assert.equal(await lotBox(b.page, lot).locator('[data-testid=bid-amount]').inputValue(), '1100');
  await lotBox(b.page, lot).locator('[data-testid=bid]').click();
  await lotBox(b.page, lot).locator('[data-testid=leading]').waitFor();
  // North: no longer leading, its money is whole again, and the bell rang.
  await a.page.waitForFunction((l) => !document.querySelector(`[data-testid=lot]:has(a[href="/auction/${l}"]) [data-testid=leading]`), lot);
  await a.page.waitForFunction(() => document.querySelector('[data-testid=available]')?.textContent.replace(/\s/g, '') === '10000₽');
  await a.page.waitForSelector('[data-testid=bell-count]');

  // A bid in the last minute moves the end to two minutes from now, for everyone.
  sql(`update lots set ends_at = now() + interval '40 seconds' where id = '${lot}'`);
  await lotBox(a.page, lot).locator('[data-testid=bid]').click();
  await lotBox(a.page, lot).locator('[data-testid=leading]').waitFor();
  await b.page.waitForFunction((l) => {
    const ends = Number(document.querySelector(`[data-testid=lot]:has(a[href="/auction/${l}"]) [data-testid=countdown]`)?.dataset.ends);
    return ends - Date.now() > 100_000 && ends - Date.now() < 125_000;
  }, lot);
  await b.page.waitForFunction((l) => /До конца: [12]:\d\d$/.test(
    document.querySelector(`[data-testid=lot]:has(a[href="/auction/${l}"]) [data-testid=countdown]`)?.textContent ?? ''), lot);

  // Time is up: the worker closes the lot; North gets the full client,
  // South's balance is whole.
  expire(lot);
  await a.page.waitForFunction((l) => !document.querySelector(`[data-testid=lot]:has(a[href="/auction/${l}"])`), lot, { timeout: 15000 });
  await b.page.waitForFunction(() => document.querySelector('[data-testid=available]')?.textContent.replace(/\s/g, '') === '10000₽');
  assert.equal(await available(a.page), '8800₽');
  await a.page.click('[data-testid=tab-won]');
  await a.page.locator('[data-testid=lot-lead]').click();
  await a.page.waitForURL(`**/leads/${lead.number}`);
  await hydrated(a.page);
  await a.page.waitForFunction(() => /555.?12.?67/.test(document.body.innerText), null, { timeout: 15000 });
  assert.equal((await (await asNorth(`/leads/${lead.number}`)).json()).lead.status, 'Куплен');
  const southToken = await apiToken(s.db.url, 'south@mak.test');
  const bySouth = await fetch(`${s.server.url}/api/v1/leads/${lead.number}`, { headers: { Authorization: `Bearer ${southToken}` } });
  assert.equal(bySouth.status, 403);
  await a.ctx.close();
  await b.ctx.close();
});

test('a return with a reason is approved by HQ and the money comes back', async () => {
  const a = await cabinet('north@mak.test');
  await a.page.click('[data-testid=tab-won]');
  await a.page.click('[data-testid=return-open]');
  await a.page.fill('[data-testid=return-lead]', String(won.lead.number));
  await a.page.selectOption('[data-testid=return-reason]', 'wrong_number');
  await a.page.fill('[data-testid=return-comment]', 'Номер не обслуживается');
  await a.page.click('[data-testid=return-submit]');
  await a.page.waitForSelector('[data-testid=return-done]');

  const { ctx, page } = await s.adminPage('/auction/returns');
  await page.waitForSelector('[data-testid=return-row][data-state=pending]');
  await page.click('[data-testid=approve-return]');
  await page.waitForSelector('[data-testid=return-row][data-state=approved]');
  await a.page.waitForFunction(() => document.querySelector('[data-testid=available]')?.textContent.replace(/\s/g, '') === '10000₽', null, { timeout: 15000 });
  const balance = await api('GET', `/franchisees/${sql("select team_id from franchisees f join teams t on t.id = f.team_id where t.name = 'Офис Север'")}/balance`);
  assert.deepEqual(balance.body, { balance: 10000, held: 0, available: 10000, ledger_sum: 10000 });
  await ctx.close();
  await a.ctx.close();
});

test('a lead nobody bought is re-listed cheaper, then handed to a franchisee in turn', async () => {
  sql('update auction_settings set relist_times = 1, relist_discount_percent = 20');
  const { lead, lot } = await lotFor('Сидорова Анна', '+7 916 555 12 68');
  const { ctx, page } = await s.adminPage('/auction');
  await lotBox(page, lot).waitFor();
  expire(lot);
  // The re-listed lot appears live on HQ's page, 20 % cheaper.
  const again = page.locator('[data-testid=lot]:has-text("Повторно: 1")');
  await again.waitFor({ timeout: 15000 });
  assert.match(await again.locator('[data-testid=lot-price]').textContent(), /^800\s₽$/);
  const relisted = sql(`select id from lots where lead_id = '${lead.id}' and state = 'open'`);
  expire(relisted);
  await page.waitForFunction(() => !document.querySelector('[data-testid=lot]'), null, { timeout: 15000 });
  const card = await api('GET', `/leads/${lead.number}`);
  assert.equal(card.body.lead.status, 'В работе');
  assert.match(card.body.lead.responsible_name, /Франчайзи Офис (Север|Юг)/);
  const steps = card.body.timeline.map((t) => t.kind);
  assert.ok(steps.includes('auction_assigned') && steps.filter((k) => k === 'auction_listed').length === 2, steps.join(','));
  await ctx.close();
});
