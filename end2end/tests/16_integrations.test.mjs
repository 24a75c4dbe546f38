import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
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
