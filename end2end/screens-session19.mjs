// Screenshots of session 19's page, at desktop and phone width, in Russian:
// amoCRM — not connected (the connect form and its refusal), connected with
// the account read (the mapping), after the import (progress, report, what
// had no mapping, the log, sync state and differences), and a lead's
// timeline with a conflict. Not part of the suite:
//   SHOTS_DIR=/tmp/shots AMOCRM_MOCK_BIN=… MAK_BIN=… E2E_PG_BASE=… LEPTOS_SITE_ROOT=… node --test screens-session19.mjs
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { shoot } from './shots.mjs';
import { hydrated, suite } from './tests/helpers.mjs';

const s = suite({ amocrm: { seed: 40 } });

test('amoCRM', async () => {
  await s.api('POST', '/leads', { client_name: 'Известный Клиент', phone: '+7 916 000-00-05', consent: true });
  const { page } = await s.adminPage('/settings/amocrm');
  await page.waitForSelector('[data-testid=amo-not-connected]');
  await shoot(page, 'amocrm-empty', { phoneFull: true });
  await page.fill('#amo-subdomain', 'мой банк');
  await page.click('[data-testid=amo-oauth-submit]');
  await page.waitForSelector('.field-error[data-field=subdomain]');
  await shoot(page, 'amocrm-refused', { phoneFull: true });
  await page.fill('#amo-subdomain', 'makbank');
  await page.fill('#amo-client-id', 'mock-client-id');
  await page.fill('#amo-secret', 'mock-client-secret');
  await page.click('[data-testid=amo-oauth-submit]');
  await page.waitForURL(`${s.amo.url}/oauth**`);
  await page.click('#allow');
  await page.waitForURL('**/settings/amocrm?connected=1');
  await hydrated(page);
  await page.click('[data-testid=amo-mapping] [data-testid=amo-read]');
  await page.waitForSelector('[data-testid=amo-map-row][data-kind=status]');
  await shoot(page, 'amocrm-mapping', { phoneFull: true });
  const row = (kind, remote) => page.locator(`[data-testid=amo-map-row][data-kind=${kind}][data-remote="${remote}"] select`);
  await row('status', 70002).selectOption({ label: 'Консультация' });
  await row('status', 70003).selectOption({ label: 'Сбор документов' });
  await row('user', 9001).selectOption({ label: 'Администратор' });
  await page.click('[data-testid=amo-mapping-save]');
  await page.waitForSelector('[data-testid=amo-mapping-saved]');
  await page.click('[data-testid=amo-import-start]');
  await page.waitForSelector('[data-testid=amo-import-state][data-status=done]', { timeout: 60000 });
  // A difference made behind the sync's back, for the reconciliation to find.
  execFileSync('psql', [s.db.url, '-qtAc', "update leads set amount_kopecks = 100 where comment like '%Сделка амо 3»%'"]);
  await page.click('[data-testid=amo-reconcile]');
  await page.waitForSelector('[data-testid=amo-done]');
  await page.waitForTimeout(500);
  await shoot(page, 'amocrm-imported', { phoneFull: true });
  await page.goto(`${s.server.url}/leads`);
  await hydrated(page);
  await shoot(page, 'amocrm-leads');
});
