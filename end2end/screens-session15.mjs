// Screenshots of the reports pages (session 15), at desktop and phone
// width, in Russian. Not part of the suite:
//   SHOTS_DIR=/tmp/shots MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session15.mjs
import { test } from 'node:test';
import { shoot } from './shots.mjs';
import { suite } from './tests/helpers.mjs';

const s = suite();

test('the report builder and the dashboard as their users see them', async () => {
  const all = (await s.api('GET', '/dictionaries')).body;
  const d = { sources: all.filter((x) => x.kind === 'source'), products: all.filter((x) => x.kind === 'product') };
  const pipelines = (await s.api('GET', '/pipelines')).body;
  const stages = pipelines[0].stages;
  for (let i = 0; i < 24; i++) {
    const r = await s.api('POST', '/leads', {
      client_name: `Клиент Экранов ${i}`, phone: `+7 916 730 ${String(10 + i).padStart(2, '0')} 00`,
      amount: String(150000 + i * 37000), consent: true,
    });
    await s.api('PATCH', `/leads/${r.body.number}`, {
      source_id: d.sources[i % 4].id, product_id: d.products[i % 3].id,
    });
    const stage = stages[Math.min(i % 5, stages.length - 1)];
    await s.api('POST', `/leads/${r.body.id}/stage`, { stage_id: stage.id });
  }
  const { page } = await s.adminPage('/dashboard');
  await page.waitForSelector('[data-testid=card-funnel]');
  await shoot(page, 'dashboard', { phoneFull: true });
  await page.goto(`${s.server.url}/reports`);
  await page.waitForSelector('[data-testid=report-builder]');
  await page.selectOption('[data-testid=rb-row-0]', 'source');
  await page.selectOption('[data-testid=rb-row-1]', 'product');
  await page.selectOption('[data-testid=rb-col-0]', 'created_at:month');
  await page.check('[data-testid=rb-m-conversion-won]');
  await page.click('[data-testid=rb-run]');
  await page.waitForSelector('[data-testid=report-table]');
  await shoot(page, 'report-builder', { phoneFull: true });
});
