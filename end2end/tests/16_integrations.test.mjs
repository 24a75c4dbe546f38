import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { freePort, hydrated, suite } from './helpers.mjs';

const s = suite();
const { api } = s;

/// A stand-in for the company's website: one page with the pasted HTML.
async function website(port, html) {
  const server = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Ипотека</title></head><body><h1>Ипотека под 6 %</h1>${html}</body></html>`);
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return server;
}

test('a form made in the settings, pasted into a site, drops a lead into the unsorted inbox live', async () => {
  const { ctx, page } = await s.adminPage('/settings/forms');
  await page.waitForSelector('[data-testid=wf-none]');
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;

  await page.fill('[data-testid=wf-editor] input[name=name]', 'Ипотека — лендинг');
  await page.selectOption('[data-testid=wf-editor] select[name=source_id]', { label: 'Лидогенерация' });
  await page.fill('[data-testid=wf-editor] textarea[name=origins]', 'not a site');
  await page.click('[data-testid=wf-save]');
  await page.waitForSelector('.field-error[data-field=allowed_origins]');
  assert.match(await page.textContent('.field-error[data-field=allowed_origins]'), /не адрес сайта/);
  await page.fill('[data-testid=wf-editor] textarea[name=origins]', `${origin}/`);
  await page.click('[data-testid=wf-save]');
  const card = page.locator('[data-testid=wf-card]');
  await card.waitFor();
  assert.match(await card.textContent(), /Ипотека — лендинг/);
  assert.match(await card.textContent(), /Лидогенерация/);
  const snippet = await page.inputValue('[data-testid=wf-snippet]');
  const url = await page.textContent('[data-testid=wf-url]');
  assert.ok(snippet.includes(`action="${url}"`), snippet);

  // The site, on the origin the form lists, with the snippet pasted as is.
  const server = await website(port, snippet);

  const board = await s.adminPage('/kanban');
  await board.page.waitForSelector('[data-testid=live][data-state=on]');

  const visitor = await s.browser.newContext();
  const v = await visitor.newPage();
  await v.goto(`${origin}/?utm_source=yandex&utm_campaign=ipoteka-dec`);
  await v.fill('input[name=name]', 'Сайтова Ольга');
  await v.fill('input[name=phone]', '8 916 321-00-77');
  await v.check('input[name=consent]');
  await v.click('button[type=submit]');
  await v.waitForSelector('text=Спасибо! Заявка принята');

  // The admin's open board shows it in «Неразобранное» without a reload.
  const unsorted = board.page.locator('.column[data-stage=""]');
  await unsorted.locator('.lead-card', { hasText: 'Сайтова Ольга' }).waitFor({ timeout: 10000 });
  const number = await unsorted.locator('.lead-card', { hasText: 'Сайтова Ольга' }).getAttribute('data-lead');
  const lead = await api('GET', `/leads/${number}`);
  assert.equal(lead.status, 200, JSON.stringify(lead.body));
  assert.equal(lead.body.lead.unsorted, true);
  assert.deepEqual(lead.body.lead.tags, ['source:yandex', 'campaign:ipoteka-dec']);
  assert.match(lead.body.comment, /utm_source=yandex/);
  assert.match(lead.body.consent_text_version, /^form:.+:v1$/);

  // A script on another site is refused; one on the listed site is let in.
  const refused = await fetch(url, {
    method: 'POST', headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
    body: JSON.stringify({ name: 'Чужой', phone: '+79160000001', consent: true }),
  });
  assert.equal(refused.status, 403);
  assert.equal((await refused.json()).code, 'forbidden');
  const pre = await fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), origin);
  const bad = await fetch(url, {
    method: 'POST', headers: { 'content-type': 'application/json', origin },
    body: JSON.stringify({ name: 'Без согласия', phone: '+79160000002' }),
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get('access-control-allow-origin'), origin);
  const body = await bad.json();
  assert.equal(body.code, 'validation');
  assert.ok(body.fields.some((f) => f.field === 'consent'), JSON.stringify(body));

  // The settings page counts the lead and the refusal.
  await page.reload();
  await hydrated(page);
  await page.waitForSelector('[data-testid=wf-leads]');
  assert.equal((await page.textContent('[data-testid=wf-leads]')).trim(), '1');
  // Rendered by the server, the snippet stays text: its own </textarea>
  // does not end the box and its form and script don't become the page's.
  assert.equal(await page.inputValue('[data-testid=wf-snippet]'), snippet);
  assert.equal(await page.locator('form.mak-form').count(), 0);

  server.close();
  await visitor.close();
  await board.ctx.close();
  await ctx.close();
});

test('an admin issues a token that may only read leads; a write with it is refused with its code', async () => {
  const { ctx, page } = await s.adminPage('/admin/users');
  const row = page.locator('tr[data-email="admin@mak-crm.test"]');
  await row.locator('[data-action=token]').click();
  await page.waitForSelector('[data-testid=token-form]');
  await page.fill('#token-name', 'Лендинг: чтение');
  assert.equal(await page.isChecked('[data-scope="leads:read"]'), true, 'reading leads is ticked by default');
  await page.check('[data-scope="reports:read"]');
  await page.click('[data-testid=token-issue]');
  const secret = (await (await page.waitForSelector('[data-testid=issued-token]')).textContent()).trim();
  assert.match(secret, /^mak_/);

  const call = (method, path, body) => fetch(`${s.server.url}/api/v1${path}`, {
    method, headers: { Authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  assert.equal((await call('GET', '/leads')).status, 200);
  assert.equal((await call('GET', '/dashboards/admin')).status, 200);
  const write = await call('POST', '/leads', { client_name: 'Нельзя', phone: '+79160000055', consent: true });
  assert.equal(write.status, 403);
  const body = await write.json();
  assert.equal(body.code, 'token_scope');
  assert.match(body.message, /leads:write/);

  const me = (await api('GET', '/me')).body;
  const listed = (await api('GET', `/users/${me.id}/tokens`)).body;
  const mine = listed.find((t) => t.name === 'Лендинг: чтение');
  assert.deepEqual(mine.scopes, ['leads:read', 'reports:read']);
  await ctx.close();
});

/// The README's JavaScript verification snippet, exactly as documented.
function documentedVerifier() {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const m = readme.match(/<!-- webhook-verify:js -->\s*```js\n([\s\S]*?)```/);
  assert.ok(m, 'the README holds the snippet');
  return new Function('require', `${m[1]}\nreturn verifyMakSignature;`)(createRequire(import.meta.url));
}

/// A partner's system that takes webhooks: keeps each request's headers and raw body.
async function receiver(port) {
  const got = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      got.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { server, got, url: `http://127.0.0.1:${port}/hooks/mak` };
}

async function until(what, check, timeout = 15000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('a webhook subscribed in the settings gets a signed lead event, checked with the README snippet, and a replay from the log', async () => {
  const verify = documentedVerifier();
  const rx = await receiver(await freePort());
  const { ctx, page } = await s.adminPage('/settings/webhooks');
  await page.waitForSelector('[data-testid=wh-none]');
  await page.click('[data-testid=wh-add]');
  await page.click('[data-testid=wh-save]');
  await page.waitForSelector('.field-error[data-field=url]');
  assert.match(await page.textContent('.field-error[data-field=url]'), /Укажите адрес/);
  assert.match(await page.textContent('.field-error[data-field=events]'), /хотя бы одно событие/);
  // A refusal keeps what was typed and ticked.
  await page.fill('#wh-url', 'crm.partner.example/hooks');
  await page.check('[data-testid=wh-event][value="lead.created"]');
  await page.click('[data-testid=wh-save]');
  await page.waitForFunction(() => document.querySelector('.field-error[data-field=url]')?.textContent.includes('Нужен полный адрес'));
  assert.equal(await page.inputValue('#wh-url'), 'crm.partner.example/hooks');
  assert.equal(await page.isChecked('[data-testid=wh-event][value="lead.created"]'), true);
  assert.equal(await page.locator('.field-error[data-field=events]').count(), 0);
  await page.fill('#wh-url', rx.url);
  await page.fill('#wh-description', 'CRM партнёра');
  await page.check('[data-testid=wh-event][value="lead.won"]');
  await page.click('[data-testid=wh-save]');
  const secret = (await (await page.waitForSelector('[data-testid=wh-secret]')).textContent()).trim();
  assert.match(secret, /^whsec_/);
  const card = page.locator('[data-testid=wh-card]');
  await card.waitFor();
  assert.match(await card.textContent(), /Лид создан, Сделка выиграна/);
  assert.equal((await page.textContent('[data-testid=wh-state]')).trim(), 'Активна');

  // The log, open before anything happens, follows deliveries live.
  await page.click('[data-testid=wh-log]');
  await page.waitForSelector('[data-testid=wh-log-empty]');

  const created = await api('POST', '/leads', { client_name: 'Вебхуков Иван', phone: '+79163330011', consent: true });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const first = await until('the lead.created delivery', () => rx.got[0]);
  assert.equal(first.headers['x-mak-event'], 'lead.created');
  assert.equal(verify(secret, first.headers['x-mak-signature'], first.body), true, 'the documented snippet accepts it');
  assert.equal(verify(secret, first.headers['x-mak-signature'], Buffer.from(first.body.toString().replace('lead.created', 'lead.won'))), false,
    'and refuses a changed body');
  assert.equal(verify('whsec_wrong', first.headers['x-mak-signature'], first.body), false, 'and a wrong secret');
  const event = JSON.parse(first.body.toString());
  assert.equal(event.type, 'lead.created');
  assert.equal(event.data.lead.number, created.body.number);
  assert.ok(!first.body.toString().includes('Вебхуков'), 'no client name in the body');

  const row = page.locator('[data-testid=wh-delivery][data-event="lead.created"][data-state=delivered]');
  await row.waitFor({ timeout: 10000 });
  await row.locator('[data-testid=wh-replay]').click();
  const replayed = page.locator('[data-testid=wh-delivery][data-state=delivered]:not([data-replay-of=""])');
  await replayed.waitFor({ timeout: 10000 });
  const second = await until('the replayed delivery', () => rx.got[1]);
  assert.equal(second.headers['x-mak-event-id'], first.headers['x-mak-event-id'], 'a replay carries the same event id');
  assert.equal(verify(secret, second.headers['x-mak-signature'], second.body), true);
  assert.equal(await replayed.getAttribute('data-event-id'), first.headers['x-mak-event-id']);

  // The tries of a delivery, with what the receiver answered.
  const original = page.locator('[data-testid=wh-delivery][data-event="lead.created"][data-replay-of=""]');
  await original.locator('button', { hasText: 'Подробнее' }).click();
  await page.waitForSelector('[data-testid=wh-detail]');
  assert.match(await page.textContent('[data-testid=wh-detail]'), /200 OK/);
  await page.reload();
  await hydrated(page);
  assert.equal((await page.textContent('[data-testid=wh-delivered]')).trim(), '2');

  rx.server.close();
  await ctx.close();
});

test('a developer opens the API reference from the profile and calls the lead list from it with a token', async () => {
  const { ctx, page } = await s.adminPage('/settings/profile');
  const link = page.locator('[data-testid=api-docs-link]');
  assert.equal(await link.textContent(), 'Справочник API');
  const href = await link.getAttribute('href');
  const secret = (await api('POST', `/users/${(await api('GET', '/me')).body.id}/tokens`, { name: 'Справочник', scopes: ['leads:read'] })).body.secret;

  const outside = [];
  page.on('request', (r) => { if (!r.url().startsWith(s.server.url)) outside.push(r.url()); });
  await page.goto(`${s.server.url}${href}`);
  await page.waitForSelector('.swagger-ui .info .title');
  assert.match(await page.textContent('.swagger-ui .info .title'), /MaK CRM API/);
  await page.waitForSelector('.opblock-tag:has-text("Лиды и клиенты")');

  // The token goes into the bearer scheme (the other one is the session cookie).
  await page.click('.btn.authorize');
  const bearer = page.locator('.modal-ux .auth-container', { hasText: 'Bearer' });
  await bearer.locator('input').fill(secret);
  await bearer.locator('.btn.modal-btn.auth.authorize').click();
  await page.locator('.modal-ux .btn-done, .modal-ux .close-modal').first().click();

  await page.click('.opblock-tag:has-text("Лиды и клиенты")');
  const op = page.locator('[id="operations-Лиды_и_клиенты-list_leads"]');
  await op.locator('.opblock-summary').click();
  assert.match(await op.locator('.opblock-summary-description').textContent(), /Список лидов/);
  await op.locator('.btn.execute').click();
  const status = op.locator('.live-responses-table tbody .response-col_status').first();
  await status.waitFor();
  assert.equal((await status.textContent()).trim(), '200');
  assert.match(await op.locator('.live-responses-table tbody .response-col_description').first().textContent(), /"per_page"/);
  assert.deepEqual(outside, [], 'the page loads nothing from outside the app');
  await ctx.close();
});
