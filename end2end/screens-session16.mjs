// Screenshots of the reports over other subjects and the funnel's
// drill-down links (session 16), at desktop and phone width, in Russian.
// Not part of the suite:
//   SHOTS_DIR=/tmp/shots MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session16.mjs
import { test } from 'node:test';
import { shoot } from './shots.mjs';
import { hydrated, suite } from './tests/helpers.mjs';

const s = suite();

test('a report over tasks and the dashboard funnel with its links', async () => {
  const pipelines = (await s.api('GET', '/pipelines')).body;
  const stages = pipelines[0].stages;
  for (let i = 0; i < 12; i++) {
    const r = await s.api('POST', '/leads', {
      client_name: `Клиент Задач ${i}`, phone: `+7 916 740 ${String(10 + i).padStart(2, '0')} 00`, consent: true,
    });
    await s.api('POST', `/leads/${r.body.id}/stage`, { stage_id: stages[Math.min(i % 4, stages.length - 1)].id });
  }
  const { page } = await s.adminPage('/dashboard');
  await page.waitForSelector('[data-testid=card-funnel] [data-testid=card-drill]');
  await page.locator('[data-testid=card-funnel]').scrollIntoViewIfNeeded();
  await shoot(page, 'dashboard-funnel-links', { phoneFull: true });
  await page.goto(`${s.server.url}/reports`);
  await hydrated(page);
  await page.selectOption('[data-testid=rb-subject]', 'clients');
  await page.selectOption('[data-testid=rb-row-0]', 'responsible');
  await page.click('[data-testid=rb-run]');
  await page.waitForSelector('[data-testid=report-table]');
  await shoot(page, 'report-clients', { phoneFull: true });
});
