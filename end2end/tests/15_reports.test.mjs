import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateRawSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { apiToken, hydrated, invitedPartner, suite } from './helpers.mjs';

const s = suite();
const { api } = s;

/// The files of a zip (an XLSX), by name, inflated.
function unzip(buf) {
  const files = {};
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  for (let i = 0; i < count; i++) {
    const method = buf.readUInt16LE(p + 10);
    const size = buf.readUInt32LE(p + 20);
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const local = buf.readUInt32LE(p + 42);
    const name = buf.subarray(p + 46, p + 46 + nameLen).toString();
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const data = buf.subarray(start, start + size);
    files[name] = (method === 8 ? inflateRawSync(data) : data).toString();
    p += 46 + nameLen + extraLen + commentLen;
  }
  return files;
}

async function sourceIds() {
  return (await api('GET', '/dictionaries')).body.filter((x) => x.kind === 'source');
}

async function lead(name, phone, amount, sourceId) {
  const r = await api('POST', '/leads', { client_name: name, phone, amount, consent: true });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const p = await api('PATCH', `/leads/${r.body.number}`, { source_id: sourceId });
  assert.ok(p.status < 300, JSON.stringify(p.body));
  return r.body;
}

test('source × month with count and sum: chart, drill-down to exactly those leads, XLSX read back, shared with employees', async () => {
  const sources = await sourceIds();
  const [a, b] = [sources[0], sources[1]];
  await lead('Отчётный Первый', '+7 916 700 00 01', '100000', a.id);
  await lead('Отчётный Второй', '+7 916 700 00 02', '200000', a.id);
  await lead('Отчётный Третий', '+7 916 700 00 03', '50000', b.id);

  const { ctx, page } = await s.adminPage('/reports');
  await page.selectOption('[data-testid=rb-row-0]', 'source');
  await page.selectOption('[data-testid=rb-col-0]', 'created_at:month');
  await page.click('[data-testid=rb-run]');
  await page.waitForSelector('[data-testid=report-chart] svg rect');
  const row = page.locator('[data-testid=report-row]', { hasText: a.name });
  await row.waitFor();
  const text = await row.textContent();
  assert.match(text, /2/);
  assert.match(text.replace(/\s/g, ''), /300000₽/);
  assert.match(await page.textContent('tfoot'), /350\s000\s₽/);

  // The cell opens the lead list with exactly its two leads.
  await row.locator('[data-testid=drill]').first().click();
  await page.waitForURL(/\/leads\?.*source_id=/);
  await hydrated(page);
  await page.waitForFunction(() => document.querySelector('[data-testid=leads-total]')?.textContent === '2');
  const names = await page.textContent('[data-testid=leads-table] tbody');
  assert.match(names, /Отчётный Первый/);
  assert.match(names, /Отчётный Второй/);
  assert.doesNotMatch(names, /Отчётный Третий/);
  await page.goBack();
  await hydrated(page);

  // The same run as XLSX: real numbers, the source's name, a native chart.
  await page.goto(`${s.server.url}/reports`);
  await hydrated(page);
  await page.click('[data-testid=rb-run]');
  await page.waitForSelector('[data-testid=report-table]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=report-xlsx]')]);
  const files = unzip(readFileSync(await download.path()));
  assert.ok(files['xl/sharedStrings.xml'].includes(a.name), 'the source is named');
  assert.match(files['xl/worksheets/sheet1.xml'], /<v>300000<\/v>/, 'the sum is a number');
  assert.ok(Object.keys(files).some((f) => f.startsWith('xl/charts/chart')), 'a native chart');

  // Saved and shared with employees.
  await page.fill('[data-testid=rb-name]', 'Источники по месяцам');
  await page.check('[data-testid=rb-share-employee]');
  await page.click('[data-testid=rb-save]');
  await page.waitForURL(/\/reports\/[0-9a-f-]{36}$/);
  const id = page.url().split('/').pop();
  const saved = await api('GET', `/reports/${id}`);
  assert.deepEqual(saved.body.shared_roles, ['employee']);
  const run = await api('GET', `/reports/${id}/run`);
  assert.equal(run.body.totals.count, 3);
  assert.equal(run.body.totals['sum:amount'], 350000);
  await ctx.close();

  // An employee opens it and sees the same numbers (their scope is all).
  const inv = await api('POST', '/invitations', { email: 'analyst@mak.test', role: 'employee' });
  assert.equal(inv.status, 201, JSON.stringify(inv.body));
  const ectx = await s.browser.newContext();
  const epage = await ectx.newPage();
  await epage.goto(inv.body.url);
  await hydrated(epage);
  await epage.fill('[data-testid=invite-form] input[name=full_name]', 'Аналитик Анна');
  await epage.fill('[data-testid=invite-form] input[name=password]', 'employee-pass-1');
  await epage.click('[data-testid=invite-form] button[type=submit]');
  await epage.waitForURL((u) => !u.pathname.startsWith('/invite'));
  await epage.goto(`${s.server.url}/reports`);
  await hydrated(epage);
  await epage.click(`[data-testid=saved-report]:has-text("Источники по месяцам")`);
  await epage.waitForURL(`**/reports/${id}`);
  await hydrated(epage);
  await epage.waitForSelector('[data-testid=report-table]');
  assert.match(await epage.textContent('tfoot'), /350\s000\s₽/);
  await ectx.close();
});

test("a partner's dashboard shows only their numbers, as the API says", async () => {
  const { ctx, page } = await invitedPartner(s, 'dash@mak.test', 'Дашбордов Денис');
  const token = await apiToken(s.db.url, 'dash@mak.test');
  const as = async (method, path, body) => {
    const r = await fetch(`${s.server.url}/api/v1${path}`, {
      method, headers: { Authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: await r.json() };
  };
  for (const [name, phone] of [['Партнёрский Один', '+7 916 710 00 01'], ['Партнёрский Два', '+7 916 710 00 02']]) {
    assert.equal((await as('POST', '/leads', { client_name: name, phone, consent: true })).status, 201);
  }
  const d = await as('GET', '/dashboards/partner');
  assert.equal(d.status, 200, JSON.stringify(d.body));
  const statuses = d.body.cards.find((c) => c.key === 'statuses');
  assert.equal(statuses.series[0].values.reduce((x, y) => x + y, 0), 2, 'their two leads, none of HQ\'s');
  assert.equal((await as('GET', '/dashboards/admin')).status, 403);

  await page.goto(`${s.server.url}/dashboard`);
  await hydrated(page);
  await page.waitForSelector('[data-testid=card-statuses] svg path, [data-testid=card-statuses] svg circle');
  const legend = await page.textContent('[data-testid=card-statuses] .legend');
  for (const [i, label] of statuses.labels.entries()) {
    if (statuses.series[0].values[i] > 0) assert.ok(legend.includes(label), `${label} in ${legend}`);
  }
  assert.equal(await page.locator('[data-testid=card-kpi]').count(), 0, 'no HQ cards');
  await ctx.close();
});

test("a lead moved to won updates the admin's funnel live", async () => {
  const pipelines = (await api('GET', '/pipelines')).body;
  const won = pipelines[0].stages.find((st) => st.kind === 'won');
  const created = await api('POST', '/leads', { client_name: 'Живой Воронкин', phone: '+7 916 720 00 01', consent: true });
  assert.equal(created.status, 201);
  const { ctx, page } = await s.adminPage('/dashboard');
  await page.waitForSelector('[data-testid=card-funnel] [data-testid=funnel-value]');
  const last = async () => {
    const values = await page.locator('[data-testid=card-funnel] [data-testid=funnel-value]').allTextContents();
    return parseInt(values[values.length - 1], 10);
  };
  const before = await last();
  const moved = await api('POST', `/leads/${created.body.id}/stage`, { stage_id: won.id });
  assert.equal(moved.status, 204);
  await page.waitForFunction(
    (b) => {
      const v = [...document.querySelectorAll('[data-testid=card-funnel] [data-testid=funnel-value]')].map((e) => parseInt(e.textContent, 10));
      return v[v.length - 1] === b + 1;
    },
    before,
    { timeout: 15000 },
  );
  assert.equal(await last(), before + 1);
  await ctx.close();
});

test("reports over other subjects: clients by month, as the API counts them", async () => {
  const expected = await api('POST', '/reports/run', { subject: 'clients', rows: ['created_at:month'], measures: ['count'] });
  assert.equal(expected.status, 200, JSON.stringify(expected.body));
  assert.ok(expected.body.totals.count > 0);
  const refused = await api('POST', '/reports/run', { subject: 'clients', rows: ['stage'], measures: ['sum:amount'] });
  assert.equal(refused.status, 400, JSON.stringify(refused.body));
  assert.equal(refused.body.code, 'validation');
  const subjects = await api('GET', '/reports/subjects');
  assert.deepEqual(subjects.body.items.map((x) => x.key), ['leads', 'clients', 'tasks', 'accruals', 'lots', 'bids', 'broadcasts']);

  const { ctx, page } = await s.adminPage('/reports');
  await page.selectOption('[data-testid=rb-subject]', 'clients');
  await page.waitForSelector('[data-testid=rb-filter]', { state: 'detached' });
  await page.selectOption('[data-testid=rb-row-0]', 'created_at:month');
  await page.selectOption('[data-testid=rb-col-0]', '');
  assert.equal(await page.locator('[data-testid=rb-m-sum-amount]').count(), 0, 'clients carry no amount');
  await page.click('[data-testid=rb-run]');
  await page.waitForSelector('[data-testid=report-table]');
  const total = (await page.textContent('[data-testid=report-total]')).replace(/\s/g, '');
  assert.equal(total, String(expected.body.totals.count));
  assert.equal(await page.locator('[data-testid=report-table] [data-testid=drill]').count(), 0, 'no lead list to drill into');
  await ctx.close();
});

test("a funnel step opens the leads that reached it", async () => {
  const { ctx, page } = await s.adminPage('/dashboard');
  await page.waitForSelector('[data-testid=card-funnel] [data-testid=funnel-value]');
  const first = parseInt(await page.locator('[data-testid=card-funnel] [data-testid=funnel-value]').first().textContent(), 10);
  await page.locator('[data-testid=card-funnel] [data-testid=card-drill]').first().click();
  await page.waitForURL(/\/leads\?.*reached=/);
  await hydrated(page);
  await page.waitForFunction((n) => document.querySelector('[data-testid=leads-total]')?.textContent === String(n), first);
  await ctx.close();
});

test('dashboard and report pages fit a phone', async () => {
  const { ctx, page } = await s.adminPage('/dashboard');
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForSelector('[data-testid=card-funnel]');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no sideways scroll (${overflow}px)`);
  await ctx.close();
});

