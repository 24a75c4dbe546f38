import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, signIn, hydrated, suite } from './helpers.mjs';

const s = suite();

// Windows-1251 by hand: Cyrillic А..я map to 0xC0..0xFF, Ё/ё to 0xA8/0xB8.
function cp1251(text) {
  const out = [];
  for (const ch of text) {
    const c = ch.codePointAt(0);
    if (c < 0x80) out.push(c);
    else if (c >= 0x410 && c <= 0x44f) out.push(c - 0x410 + 0xc0);
    else if (c === 0x401) out.push(0xa8);
    else if (c === 0x451) out.push(0xb8);
    else out.push(0x3f);
  }
  return Buffer.from(out);
}

test('a Windows-1251 semicolon CSV with three duplicate rows imports with a progress bar and a report naming them', async () => {
  const known = await fetch(`${s.server.url}/api/v1/leads`, {
    method: 'POST', headers: { Authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ client_name: 'Известный Клиент', phone: '+7 999 000 00 01', consent: true }),
  });
  assert.equal(known.status, 201);
  const lines = ['ФИО;Телефон;Сумма;Продукт'];
  for (let i = 2; i <= 40; i++) lines.push(`Клиент Номер${i};+7 999 100 ${String(i).padStart(4, '0').slice(0, 2)} ${String(i).padStart(4, '0').slice(2)};${i * 10000};Ипотека`);
  lines.push('Дубль Базы;8 (999) 000-00-01;;');           // row 41: in the database already
  lines.push('Дубль Файла;+7 999 100 00 02;;');           // row 42: same as row 2
  lines.push('Ещё Дубль;89991000003;;');                  // row 43: same as row 3
  lines.push('Плохой Телефон;12345;;');                   // row 44: invalid
  const dir = mkdtempSync(join(tmpdir(), 'mak-import-'));
  const file = join(dir, 'лиды.csv');
  writeFileSync(file, cp1251(lines.join('\r\n') + '\r\n'));

  const ctx = await s.browser.newContext();
  const page = await ctx.newPage();
  await signIn(page, s.server.url, ADMIN.email, ADMIN.password);
  await page.waitForURL('**/admin/users');
  await page.goto(`${s.server.url}/leads/import`);
  await hydrated(page);
  await page.setInputFiles('[data-testid=upload-form] input[type=file]', file);
  await page.click('[data-testid=upload-form] button[type=submit]');
  await page.waitForURL(/\/leads\/import\/[0-9a-f-]+$/);
  await hydrated(page);
  await page.waitForSelector('[data-testid=encoding]');
  assert.equal(await page.textContent('[data-testid=encoding]'), 'windows-1251');
  assert.equal(await page.getAttribute('[data-testid=delimiter]', 'data-value'), 'semicolon');
  assert.equal(await page.textContent('[data-testid=delimiter]'), 'точка с запятой «;»');
  assert.match(await page.textContent('[data-testid=preview]'), /Клиент Номер2/);
  assert.equal(await page.$eval('select[data-field=phone]', (s) => s.value), '1');
  await page.waitForSelector('[data-testid=live][data-state=on]');
  await page.click('[data-testid=import-start]');
  await page.waitForSelector('[data-testid=import-progress]');
  await page.waitForSelector('[data-testid=import-status][data-status=done]', { timeout: 30000 });
  assert.equal(await page.textContent('[data-count=created]'), '39');
  assert.equal(await page.textContent('[data-count=skipped]'), '3');
  assert.equal(await page.textContent('[data-count=failed]'), '1');
  assert.match(await page.textContent('[data-testid=skipped-rows]'), /41, 42, 43/);
  assert.match(await page.textContent('li[data-row="44"]'), /Некорректный номер телефона/);
  // The report names the matching phone, never an internal id.
  const report = await page.textContent('.report-rows');
  assert.match(report, /Дубль: клиент с телефоном \+7 \(999\) 000-00-01 уже есть/);
  assert.doesNotMatch(report, /[0-9a-f]{8}-[0-9a-f]{4}-/);
  await ctx.close();
});
