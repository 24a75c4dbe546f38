import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hydrated, suite } from './helpers.mjs';

const s = suite();
const { api, adminPage } = s;

/// A partner joins through an invitation link and lands in the cabinet.
async function partner(email) {
  const inv = await api('POST', '/invitations', { email, role: 'partner' });
  assert.equal(inv.status, 201);
  const ctx = await s.browser.newContext();
  const page = await ctx.newPage();
  await page.goto(inv.body.url);
  await hydrated(page);
  await page.fill('[data-testid=invite-form] input[name=full_name]', `Партнёр ${email}`);
  await page.fill('[data-testid=invite-form] input[name=password]', 'partner-pass-1');
  await page.click('[data-testid=invite-form] button[type=submit]');
  await page.waitForURL('**/partner');
  await hydrated(page);
  return { ctx, page };
}

test('a lead with a phone already known in another format is flagged and attached to the existing client', async () => {
  const first = await api('POST', '/leads', { client_name: 'Смирнова Ольга', phone: '+7 (999) 123-45-67', consent: true });
  assert.equal(first.status, 201);
  const { ctx, page } = await adminPage('/leads/new');
  await page.fill('[data-testid=lead-form] input[name=client_name]', 'Ольга С.');
  await page.fill('[data-testid=lead-form] input[name=phone]', '8 999 123 45 67');
  await page.fill('[data-testid=lead-form] input[name=amount]', '2 500 000');
  await page.check('[data-testid=lead-form] input[name=consent]');
  await page.click('[data-testid=lead-form] button.primary[type=submit]:not([name])');
  await page.waitForSelector('[data-testid=duplicates]');
  assert.match(await page.textContent('[data-testid=duplicates]'), /Смирнова Ольга/);
  assert.match(await page.textContent('[data-testid=duplicates]'), /тот же телефон/);
  await page.click('[data-testid=duplicates] [data-action=attach]');
  await page.waitForURL(/\/leads\/\d+$/);
  await hydrated(page);
  await page.waitForSelector('[data-testid=lead-card]');
  assert.match(await page.textContent('[data-testid=lead-card] h1'), /Смирнова Ольга/);
  const list = await api('GET', '/leads?q=9991234567');
  assert.equal(list.body.total, 2, 'both leads belong to one client and the search finds them');
  assert.equal(new Set(list.body.items.map((l) => l.client_id)).size, 1);
  await ctx.close();
});

test('a card dragged on the kanban moves on a second browser\'s board', async () => {
  const lead = await api('POST', '/leads', { client_name: 'Канбанов Кирилл', phone: '+7 916 000 11 22', consent: true });
  const number = lead.body.number;
  const a = await adminPage('/kanban');
  const b = await adminPage('/kanban');
  await b.page.waitForSelector('[data-testid=live][data-state=on]');
  await b.page.waitForSelector(`.lead-card[data-lead="${number}"]`);
  const columns = await a.page.$$eval('.column[data-stage]', (els) => els.map((e) => e.dataset.stage).filter(Boolean));
  const from = await b.page.$eval(`.lead-card[data-lead="${number}"]`, (e) => e.closest('.column').dataset.stage);
  const totals = (page) => page.$$eval('.column', (els) => Object.fromEntries(els.map((e) => [e.dataset.stage, Number(e.querySelector('h3 .muted').textContent)])));
  const before = await totals(b.page);
  const calls = { a: [], b: [] };
  for (const [k, p] of Object.entries({ a: a.page, b: b.page })) {
    p.on('request', (r) => {
      const m = new URL(r.url()).pathname.match(/^\/api\/(get_board|lead_rows)/);
      if (m) calls[k].push(m[1]);
    });
  }
  const card = a.page.locator(`.lead-card[data-lead="${number}"]`);
  const target = a.page.locator(`.column[data-stage="${columns[1]}"]`);
  await card.dragTo(target);
  await b.page.waitForSelector(`.column[data-stage="${columns[1]}"] .lead-card[data-lead="${number}"]`, { timeout: 10000 });
  const moved = await api('GET', `/leads/${number}`);
  assert.equal(moved.body.lead.stage_id, columns[1]);
  // The watching board moved the one card: it re-read that card only, and
  // the two columns' counts followed.
  const after = await totals(b.page);
  assert.equal(after[from], before[from] - 1);
  assert.equal(after[columns[1]], before[columns[1]] + 1);
  assert.equal(await b.page.$(`.column[data-stage="${from}"] .lead-card[data-lead="${number}"]`), null);
  assert.ok(calls.b.length > 0 && calls.b.every((c) => c === 'lead_rows'), `patched, not reloaded: ${calls.b}`);
  // The mover's own board too (at once, and again on its event); let it
  // settle before using the card again (a patch replaces the card's menu).
  await a.page.waitForSelector(`.column[data-stage="${columns[1]}"] .lead-card[data-lead="${number}"]`);
  await a.page.waitForTimeout(500);
  assert.ok(!calls.a.includes('get_board'), `the mover's board was not reloaded: ${calls.a}`);

  // On a phone there is no dragging: the card's menu moves it.
  await a.page.setViewportSize({ width: 390, height: 800 });
  const menu = a.page.locator(`.lead-card[data-lead="${number}"] [data-testid=move-select]`);
  await menu.waitFor({ state: 'visible' });
  await menu.selectOption(columns[2]);
  await b.page.waitForSelector(`.column[data-stage="${columns[2]}"] .lead-card[data-lead="${number}"]`, { timeout: 10000 });

  // The menu is an action, not a state: after a move from the top of a
  // column the card that takes its place shows «Перенести в…», not that choice.
  assert.equal((await api('POST', '/leads', { client_name: 'Меню Михаил', phone: '+7 916 000 11 24', consent: true })).status, 201);
  const other = (await api('POST', '/leads', { client_name: 'Меню Марина', phone: '+7 916 000 11 23', consent: true })).body.number;
  const first = a.page.locator(`.column[data-stage="${columns[0]}"] .lead-card`).first();
  await a.page.waitForSelector(`.lead-card[data-lead="${other}"]`, { timeout: 10000 });
  await a.page.waitForTimeout(500);
  assert.equal(await first.getAttribute('data-lead'), String(other));
  assert.ok((await a.page.$$(`.column[data-stage="${columns[0]}"] .lead-card`)).length > 1, 'another card stays in the column');
  await a.page.locator(`.lead-card[data-lead="${other}"] [data-testid=move-select]`).selectOption(columns[1]);
  await a.page.waitForSelector(`.column[data-stage="${columns[1]}"] .lead-card[data-lead="${other}"]`, { timeout: 10000 });
  await a.page.waitForTimeout(500);
  assert.deepEqual([...new Set(await a.page.$$eval('[data-testid=move-select]', (s) => s.map((x) => x.value)))], ['']);
  await a.ctx.close();
  await b.ctx.close();
});

test('a partner hands in a lead from the cabinet and another partner opening it by URL gets "нет доступа"', async () => {
  const p1 = await partner('partner1@example.ru');
  await p1.page.fill('[data-testid=lead-form] input[name=client_name]', 'Клиент Партнёра');
  await p1.page.fill('[data-testid=lead-form] input[name=phone]', '+7 903 555 66 77');
  await p1.page.selectOption('[data-testid=lead-form] select[name=product_id]', { label: 'Ипотека' });
  await p1.page.check('[data-testid=lead-form] input[name=consent]');
  await p1.page.click('[data-testid=lead-form] button.primary[type=submit]:not([name])');
  const created = (await (await p1.page.waitForSelector('[data-testid=lead-created]')).textContent()).trim();
  const number = created.match(/№(\d+)/)[1];
  await p1.page.waitForSelector(`[data-testid=my-leads] tr[data-lead="${number}"]`);

  const p2 = await partner('partner2@example.ru');
  await p2.page.goto(`${s.server.url}/leads/${number}`);
  await p2.page.waitForSelector('[data-testid=forbidden]');
  assert.match(await p2.page.textContent('[data-testid=forbidden] h1'), /Нет доступа/);
  const own = await p1.page.goto(`${s.server.url}/leads/${number}`);
  assert.equal(own.status(), 200);
  await hydrated(p1.page);
  await p1.page.waitForSelector('[data-testid=lead-card]');
  // After handing it in, a partner only comments; staff notes stay internal.
  assert.equal(await p1.page.locator('[data-testid=lead-edit]').count(), 0, 'no edit form for the partner');
  assert.equal(await p1.page.locator('[data-testid=stage-form]').count(), 0);
  await p1.page.fill('[data-testid=comment-form] input[name=body]', 'Клиент ждёт звонка после 18:00');
  await p1.page.click('[data-testid=comment-form] button[type=submit]');
  await p1.page.waitForFunction(() => /ждёт звонка после 18:00/.test(document.querySelector('[data-testid=timeline]')?.textContent || ''));

  // The second partner brings the same person: told only that the office
  // will review it, with nothing about the first partner's client.
  await p2.page.goto(`${s.server.url}/partner`);
  await hydrated(p2.page);
  await p2.page.fill('[data-testid=lead-form] input[name=client_name]', 'Тот же человек');
  await p2.page.fill('[data-testid=lead-form] input[name=phone]', '8 (903) 555-66-77');
  await p2.page.check('[data-testid=lead-form] input[name=consent]');
  await p2.page.click('[data-testid=lead-form] button.primary[type=submit]:not([name])');
  const review = await (await p2.page.waitForSelector('[data-testid=lead-review]')).textContent();
  assert.match(review, /передана в офис на проверку/);
  assert.ok(!(await p2.page.content()).includes('Клиент Партнёра'), 'the known client is not revealed');
  assert.equal(await p2.page.locator('[data-action=attach]').count(), 0);
  await p1.ctx.close();
  await p2.ctx.close();
});

test('a lead is moved from its card, and closed as lost only with a reason', async () => {
  const lead = await api('POST', '/leads', { client_name: 'Этапов Эдуард', phone: '+7 926 000 00 02', consent: true });
  const { ctx, page } = await adminPage(`/leads/${lead.body.number}`);
  await page.waitForSelector('[data-testid=stage-form]');
  const stages = await page.$$eval('[data-testid=stage-form] select[name=stage_id] option', (os) => os.map((o) => [o.value, o.textContent]));
  const lost = stages.find(([, n]) => n === 'Отказ')[0];
  await page.selectOption('[data-testid=stage-form] select[name=stage_id]', lost);
  await page.click('[data-testid=stage-form] button[type=submit]');
  await page.waitForSelector('[data-testid=stage-form] .field-error[data-field=loss_reason_id]');
  assert.match(await page.textContent('[data-testid=stage-form] .field-error'), /Укажите причину отказа/);
  assert.notEqual((await api('GET', `/leads/${lead.body.number}`)).body.lead.stage_id, lost, 'not moved');
  await page.selectOption('[data-testid=stage-form] select[name=loss_reason_id]', { label: 'Передумал' });
  await page.click('[data-testid=stage-form] button[type=submit]');
  await page.waitForFunction(() => /Отказ/.test(document.querySelector('[data-testid=lead-card] .stage')?.textContent || ''));
  const after = (await api('GET', `/leads/${lead.body.number}`)).body;
  assert.equal(after.lead.stage_id, lost);
  assert.ok(after.loss_reason_id, 'the reason is saved with the move');
  // The card links to the client's page, where the contacts are edited —
  // a phone another client has is refused.
  await page.click('[data-testid=client-link]');
  await page.waitForURL(/\/clients\//);
  await hydrated(page);
  await api('POST', '/leads', { client_name: 'Другой Клиент', phone: '+7 926 000 00 03', consent: true });
  await page.fill('[data-testid=client-edit] textarea[name=phones]', '+7 926 000 00 02\n8 926 000-00-03');
  await page.click('[data-testid=client-edit] button[type=submit]');
  await page.waitForSelector('[data-testid=client-edit] .field-error[data-field=phones]');
  assert.match(await page.textContent('[data-testid=client-edit] .field-error[data-field=phones]'), /уже есть у другого клиента/);
  await page.fill('[data-testid=client-edit] textarea[name=phones]', '+7 926 000 00 02\n8 (495) 123-45-67');
  await page.click('[data-testid=client-edit] button[type=submit]');
  await page.waitForSelector('[data-testid=client-saved]');
  await page.waitForFunction(() => /\+7 \(495\) 123-45-67/.test(document.querySelector('[data-testid=client-card]')?.textContent || ''));

  // Deleting the lead (the admin may) asks first, then it is gone from the list.
  await page.goto(`${s.server.url}/leads/${lead.body.number}`);
  await hydrated(page);
  await page.click('[data-action=delete-lead]');
  await page.click('[data-action=confirm-delete]');
  await page.waitForURL(/\/leads$/);
  assert.equal((await api('GET', `/leads/${lead.body.number}`)).status, 404);
  await ctx.close();
});

test('a task reminder appears as a notification at its time', async () => {
  const lead = await api('POST', '/leads', { client_name: 'Задачин Захар', phone: '+7 925 000 00 01', consent: true });
  const { ctx, page } = await adminPage(`/leads/${lead.body.number}`);
  await page.waitForSelector('[data-testid=live][data-state=on]');
  // Due at the start of the next minute, Moscow time (the form's time zone).
  const due = new Date(Math.ceil((Date.now() + 1000) / 60000) * 60000);
  const local = new Date(due.getTime() + 3 * 3600 * 1000).toISOString().slice(0, 16);
  await page.fill('[data-testid=task-form] input[name=text]', 'Перезвонить клиенту');
  await page.fill('[data-testid=task-form] input[name=due]', local);
  await page.click('[data-testid=task-form] button[type=submit]');
  await page.waitForFunction(() => !document.querySelector('[data-testid=task-form] [role=alert]'));
  assert.equal(await page.$('[data-testid=bell-count]'), null, 'nothing before its time');
  await page.waitForSelector('[data-testid=bell-count]', { timeout: 90000 });
  assert.ok(Date.now() >= due.getTime() - 500, 'not before the due time');
  await page.click('.bell-button');
  assert.match(await page.textContent('.bell-panel'), /Напоминание о задаче/);
  await page.goto(`${s.server.url}/tasks`);
  await hydrated(page);
  await page.waitForSelector('[data-testid=tasks] li.overdue');
  await ctx.close();
});

test('exporting a filtered view gives exactly those rows', async () => {
  for (const [name, phone] of [['Экспортов Эдуард', '+7 901 100 00 01'], ['Экспортова Эмма', '+7 901 100 00 02'], ['Другой Клиент', '+7 901 100 00 03']]) {
    assert.equal((await api('POST', '/leads', { client_name: name, phone, amount: '1 000 000', consent: true })).status, 201);
  }
  const { ctx, page } = await adminPage('/leads');
  await page.fill('[data-testid=lead-search]', 'экспорт');
  await page.waitForFunction(() => document.querySelector('[data-testid=leads-total]')?.textContent === '2');
  const shown = await page.$$eval('[data-testid=leads-table] tbody tr', (rows) => rows.map((r) => r.dataset.lead).sort());
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-csv]')]);
  const text = (await import('node:fs')).readFileSync(await download.path(), 'utf8');
  assert.ok(text.startsWith('\uFEFF'), 'UTF-8 BOM for Excel');
  const lines = text.replace(/^\uFEFF/, '').trim().split('\n');
  assert.match(lines[0], /^Номер;Создан;Клиент;Телефон/);
  const exported = lines.slice(1).map((l) => l.split(';')[0]).sort();
  assert.deepEqual(exported, shown);
  assert.ok(lines.slice(1).every((l) => /Экспорт/.test(l)));
  const [xlsx] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=export-xlsx]')]);
  const bytes = (await import('node:fs')).readFileSync(await xlsx.path());
  assert.equal(bytes.subarray(0, 2).toString(), 'PK', 'an XLSX (zip) file');
  // The filter is in the address: a reload shows the same two leads.
  assert.match(page.url(), /q=%D1%8D%D0%BA%D1%81%D0%BF%D0%BE%D1%80%D1%82/);
  await page.reload();
  await hydrated(page);
  await page.waitForFunction(() => document.querySelector('[data-testid=leads-total]')?.textContent === '2');
  await ctx.close();
});

test('three typed digits find phones; a search that finds nothing says so and offers to reset', async () => {
  for (const [name, phone] of [['Короткий Кирилл', '+7 (977) 555-11-22'], ['Другая Дарья', '+7 (903) 100-20-30']]) {
    assert.equal((await api('POST', '/leads', { client_name: name, phone, consent: true })).status, 201);
  }
  const { ctx, page } = await adminPage('/leads');
  await page.fill('[data-testid=lead-search]', '977');
  await page.waitForFunction(() => document.querySelector('[data-testid=leads-total]')?.textContent === '1');
  assert.match(await page.textContent('[data-testid=leads-table] tbody'), /Короткий Кирилл/);
  await page.fill('[data-testid=lead-search]', 'Никтотакой');
  await page.waitForSelector('[data-testid=nothing-found]');
  assert.match(await page.textContent('[data-testid=nothing-found]'), /Ничего не найдено/);
  await page.click('[data-testid=nothing-found] button');
  await page.waitForSelector('[data-testid=leads-table]');
  assert.equal(await page.inputValue('[data-testid=lead-search]'), '');
  await ctx.close();
});

test('two clients with the same name are merged on the client page, keeping the chosen name', async () => {
  const a = await api('POST', '/leads', { client_name: 'Слияние Сергей', phone: '+7 926 700 00 01', consent: true });
  const b = await api('POST', '/leads', { client_name: 'слияние сергей', phone: '+7 926 700 00 02', consent: true });
  const { ctx, page } = await adminPage(`/clients/${a.body.client_id}`);
  await page.waitForSelector('[data-testid=merge]');
  const form = page.locator(`.merge-form[data-other="${b.body.client_id}"]`);
  await form.locator('input[name=full_name][value="слияние сергей"]').check();
  await form.locator('button[type=submit]').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid=merge]'));
  await page.waitForSelector('[data-testid=client-card]');
  const text = await page.textContent('[data-testid=client-card]');
  assert.match(text, /слияние сергей/);
  assert.match(text, /\+7 \(926\) 700-00-01/);
  assert.match(text, /\+7 \(926\) 700-00-02/);
  // The other client's deal is now among this one's deals.
  await page.waitForSelector(`[data-testid=client-deals] a[href="/leads/${b.body.number}"]`);
  await ctx.close();
});

test('an admin adds a stage to a pipeline and the kanban shows it; deleting it asks where its leads go', async () => {
  const { ctx, page } = await adminPage('/admin/pipelines');
  const pipeline = await page.getAttribute('.pipeline', 'data-pipeline');
  const form = page.locator(`[data-add-stage="${pipeline}"]`);
  await form.locator('input[name=name]').fill('Проверка документов');
  await form.locator('button[type=submit]').click();
  await page.waitForSelector('.pipeline input[name=name][value="Проверка документов"]');
  const board = await ctx.newPage();
  await board.goto(`${s.server.url}/kanban`);
  await hydrated(board);
  await board.waitForSelector('.column h3:has-text("Проверка документов")');
  const row = page.locator('tr', { has: page.locator('input[name=name][value="Проверка документов"]') });
  await row.locator('button.danger').click();
  await page.waitForSelector('[role=alert]');
  assert.match(await page.textContent('[role=alert]'), /куда перенести лиды/);
  await ctx.close();
});

test('a comment mentioning a colleague rings their bell', async () => {
  const inv = await api('POST', '/invitations', { email: 'olga@mak-crm.test', role: 'employee' });
  const ectx = await s.browser.newContext();
  const emp = await ectx.newPage();
  await emp.goto(inv.body.url);
  await hydrated(emp);
  await emp.fill('[data-testid=invite-form] input[name=full_name]', 'Ольга Коллегова');
  await emp.fill('[data-testid=invite-form] input[name=password]', 'employee-pass-1');
  await emp.click('[data-testid=invite-form] button[type=submit]');
  await emp.waitForURL('**/admin/users');
  await hydrated(emp);
  await emp.waitForSelector('[data-testid=live][data-state=on]');

  const lead = await api('POST', '/leads', { client_name: 'Упоминаев Ульян', phone: '+7 926 800 00 01', consent: true });
  const { ctx, page } = await adminPage(`/leads/${lead.body.number}`);
  await page.fill('[data-testid=comment-form] input[name=body]', '@olga, перезвони клиенту');
  await page.click('[data-testid=comment-form] button[type=submit]');
  await page.waitForSelector('[data-testid=timeline] li[data-kind=comment]');
  await emp.waitForSelector('[data-testid=bell-count]', { timeout: 10000 });
  await emp.click('.bell-button');
  assert.match(await emp.textContent('.bell-panel'), new RegExp(`лиде №${lead.body.number}`));
  await ctx.close();
  await ectx.close();
});

test('an unsorted lead from a partner is attached to an existing deal from its card', async () => {
  const deal = await api('POST', '/leads', { client_name: 'Сделкин Семён', phone: '+7 926 900 00 01', consent: true });
  const p = await partner('partner3@example.ru');
  await p.page.fill('[data-testid=lead-form] input[name=client_name]', 'Сделкин С.');
  await p.page.fill('[data-testid=lead-form] input[name=phone]', '+7 926 900 00 02');
  await p.page.fill('[data-testid=lead-form] input[name=comment]', 'Повторное обращение');
  await p.page.check('[data-testid=lead-form] input[name=consent]');
  await p.page.click('[data-testid=lead-form] button.primary[type=submit]:not([name])');
  const number = (await (await p.page.waitForSelector('[data-testid=lead-created]')).textContent()).match(/№(\d+)/)[1];
  const { ctx, page } = await adminPage(`/leads/${number}`);
  await page.fill('[data-testid=attach-form] input[name=deal_number]', String(deal.body.number));
  await page.click('[data-testid=attach-form] button[type=submit]');
  await page.waitForURL(`**/leads/${deal.body.number}`);
  await hydrated(page);
  await page.waitForSelector('[data-testid=timeline] li[data-kind=comment]');
  assert.match(await page.textContent('[data-testid=timeline]'), new RegExp(`Повторная заявка №${number}: Повторное обращение`));
  await ctx.close();
  await p.ctx.close();
});

test('an open list patches a changed row in place, drops a deleted one and reloads for a new lead', async () => {
  const made = [];
  for (const name of ['Патчев Пётр', 'Патчева Полина']) {
    const r = await api('POST', '/leads', { client_name: name, phone: `+7 916 55${made.length}-00-11`, consent: true });
    assert.equal(r.status, 201);
    made.push(r.body.number);
  }
  const { ctx, page } = await adminPage(`/leads?q=${encodeURIComponent('Патчев')}`);
  await page.waitForSelector('[data-testid=live][data-state=on]');
  await page.waitForSelector(`[data-testid=leads-table] tr[data-lead="${made[1]}"]`);
  await page.check('[data-testid=columns] input[data-column=amount]');
  const calls = [];
  page.on('request', (r) => {
    const m = new URL(r.url()).pathname.match(/^\/api\/(list_leads|lead_rows)/);
    if (m) calls.push(m[1]);
  });

  // An edit of a row on the page re-reads that row only.
  assert.equal((await api('PATCH', `/leads/${made[0]}`, { amount: '1 500 000,50' })).status, 204);
  await page.waitForFunction((n) => /1\s500\s000,50/.test(document.querySelector(`tr[data-lead="${n}"]`)?.textContent || ''), made[0], { timeout: 10000 });
  assert.deepEqual(calls, ['lead_rows'], 'the row was patched, the list was not reloaded');

  // A deleted lead leaves the list and the total.
  assert.equal((await api('DELETE', `/leads/${made[1]}`)).status, 204);
  await page.waitForSelector(`tr[data-lead="${made[1]}"]`, { state: 'detached', timeout: 10000 });
  assert.equal((await page.textContent('[data-testid=leads-total]')).trim(), '1');
  assert.ok(!calls.includes('list_leads'));

  // A new lead matching the search may belong anywhere: the page reloads.
  const third = await api('POST', '/leads', { client_name: 'Патчев Павел', phone: '+7 916 559-00-11', consent: true });
  await page.waitForSelector(`tr[data-lead="${third.body.number}"]`, { timeout: 10000 });
  assert.ok(calls.includes('list_leads'));
  await ctx.close();
});
