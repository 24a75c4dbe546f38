// Screenshots of session 17's pages, at desktop and phone width, in Russian:
// website forms (empty, filled, the editor's refusal), the token grants on
// the users page and the profile, the dashboard and a report after the
// layout fixes. Not part of the suite:
//   SHOTS_DIR=/tmp/shots MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session17.mjs
import { test } from 'node:test';
import { shoot } from './shots.mjs';
import { hydrated, suite } from './tests/helpers.mjs';

const s = suite();

test('website forms, token grants, dashboard figures', async () => {
  const { page } = await s.adminPage('/settings/forms');
  await page.waitForSelector('[data-testid=wf-none]');
  await shoot(page, 'forms-empty', { phoneFull: true });
  await page.fill('[data-testid=wf-editor] input[name=name]', 'Ипотека — главная страница');
  await page.fill('[data-testid=wf-editor] textarea[name=origins]', 'mak-bank.ru/form');
  await page.click('[data-testid=wf-save]');
  await page.waitForSelector('.field-error[data-field=allowed_origins]');
  await shoot(page, 'forms-refused');
  await page.fill('[data-testid=wf-editor] textarea[name=origins]', 'https://mak-bank.ru\nhttps://ipoteka.mak-bank.ru');
  await page.selectOption('[data-testid=wf-editor] select[name=source_id]', { label: 'Лидогенерация' });
  await page.selectOption('[data-testid=wf-editor] select[name=product_id]', { label: 'Ипотека' });
  await page.fill('[data-testid=wf-editor] input[name=success_url]', 'https://mak-bank.ru/spasibo');
  await page.click('[data-testid=wf-save]');
  await page.waitForSelector('[data-testid=wf-card]');
  await page.click('[data-testid=wf-card] summary');
  await shoot(page, 'forms-one', { phoneFull: true });

  await page.goto(`${s.server.url}/admin/users`);
  await hydrated(page);
  await page.locator('tr[data-email="admin@mak-crm.test"] [data-action=token]').click();
  await page.waitForSelector('[data-testid=token-form]');
  await page.check('[data-scope="reports:read"]');
  await shoot(page, 'users-token-grants', { phoneFull: true });

  await page.goto(`${s.server.url}/settings/profile`);
  await hydrated(page);
  await page.locator('[data-testid=issue-token-form]').scrollIntoViewIfNeeded();
  await shoot(page, 'profile-token-grants', { phoneFull: true });

  for (let i = 0; i < 6; i++) {
    await s.api('POST', '/leads', { client_name: `Клиент ${i}`, phone: `+7 916 760 ${String(10 + i).padStart(2, '0')} 00`, amount: String(4_250_000_000 + i), consent: true });
  }
  await page.goto(`${s.server.url}/dashboard`);
  await hydrated(page);
  await page.waitForSelector('[data-testid=card-funnel]');
  await shoot(page, 'dashboard-figures');
});
