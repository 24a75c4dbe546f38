// Test support: a fresh database and real `mak-crm serve` processes per test,
// headless Chromium through playwright-core, and a TOTP generator.
import { spawn, execFileSync } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import net from 'node:net';
import { chromium } from 'playwright-core';
import { before, after } from 'node:test';

const BIN = process.env.MAK_BIN;
const SITE = process.env.LEPTOS_SITE_ROOT;
const PG = process.env.E2E_PG_BASE; // postgres://postgres@127.0.0.1:PORT
if (!BIN || !SITE || !PG) throw new Error('MAK_BIN, LEPTOS_SITE_ROOT and E2E_PG_BASE must be set (scripts/test does it)');

export const ADMIN = { email: 'admin@mak-crm.test', password: 'admin-password-1' };

export async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

export function freshDatabase() {
  const name = 'e2e_' + randomBytes(6).toString('hex');
  execFileSync('psql', [`${PG}/postgres`, '-qtAc', `create database ${name}`]);
  const url = `${PG}/${name}`;
  execFileSync(BIN, ['migrate'], { env: { ...process.env, DATABASE_URL: url } });
  execFileSync(BIN, ['create-admin', '--email', ADMIN.email, '--password', ADMIN.password], { env: { ...process.env, DATABASE_URL: url } });
  return { url, drop: () => { try { execFileSync('psql', [`${PG}/postgres`, '-qtAc', `drop database if exists ${name} with (force)`]); } catch {} } };
}

export async function startServer(dbUrl, port, extraEnv = {}) {
  port = port ?? await freePort();
  const env = {
    ...process.env, DATABASE_URL: dbUrl, PORT: String(port), HOST: '127.0.0.1',
    LEPTOS_SITE_ROOT: SITE, LEPTOS_OUTPUT_NAME: 'mak-crm', SECRET_KEY: '22'.repeat(32),
    PUBLIC_URL: `http://127.0.0.1:${port}`, RUST_LOG: 'warn', ...extraEnv,
  };
  const child = spawn(BIN, ['serve'], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try { const r = await fetch(`${url}/readyz`); if (r.ok) break; } catch {}
    await new Promise(r => setTimeout(r, 100));
  }
  return {
    url, port, child,
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise(r => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([done, new Promise(r => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/// One of tools/' mock servers as a process on a free port (its binary in
/// the environment variable `binVar`), once its `/_mock/stats` answers.
async function spawnMock(binVar, args = []) {
  const bin = process.env[binVar];
  if (!bin) throw new Error(`${binVar} must be set (scripts/test does it)`);
  const port = await freePort();
  const child = spawn(bin, ['--port', String(port), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try { const r = await fetch(`${url}/_mock/stats`); if (r.ok) break; } catch {}
    await new Promise(r => setTimeout(r, 50));
  }
  return { url, child };
}

/// The mock Telegram Bot API (tools/tg-mock) as a process; `control(path,
/// body)` plays Telegram users through its `/_mock` API.
export async function startTelegramMock() {
  const { url, child } = await spawnMock('TG_MOCK_BIN');
  return {
    url,
    async control(path, body) {
      const r = await fetch(`${url}/_mock/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
      return r.status === 204 ? null : r.json();
    },
    async sent(botId, chatId) {
      return (await fetch(`${url}/_mock/bots/${botId}/sent?chat_id=${chatId}`)).json();
    },
    /// Waits until the bot has sent `chatId` a message matching `re`; returns its text.
    async waitFor(botId, chatId, re, timeout = 15000) {
      const m = await this.waitForMessage(botId, chatId, (x) => typeof x.text === 'string' && re.test(x.text), `a message matching ${re}`, timeout);
      return m.text;
    },
    /// Waits until the bot has sent `chatId` a message (any method) for which
    /// `pred` holds; returns it. `what` names it in the failure.
    async waitForMessage(botId, chatId, pred, what, timeout = 15000) {
      const until = Date.now() + timeout;
      for (;;) {
        const m = (await this.sent(botId, chatId)).find(pred);
        if (m) return m;
        if (Date.now() > until) throw new Error(`no ${what} to chat ${chatId}: ${JSON.stringify(await this.sent(botId, chatId))}`);
        await new Promise(r => setTimeout(r, 100));
      }
    },
    stop() { child.kill('SIGKILL'); },
  };
}

/// The mock amoCRM account (tools/amocrm-mock) as a process, seeded with
/// `seed` deals with contacts; `control(path, body)` plays amoCRM's users
/// through its `/_mock` API, `get(path)` reads it.
export async function startAmoMock({ seed = 0 } = {}) {
  const { url, child } = await spawnMock('AMOCRM_MOCK_BIN', ['--seed', String(seed)]);
  return {
    url,
    env: { AMOCRM_BASE_URL: url, AMOCRM_OAUTH_URL: `${url}/oauth` },
    async control(path, body, method = 'POST') {
      const r = await fetch(`${url}/_mock/${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
      return r.status === 204 ? null : r.json();
    },
    async get(path) { return (await fetch(`${url}/_mock/${path}`)).json(); },
    stop() { child.kill('SIGKILL'); },
  };
}

/// The mock OpenAI-compatible AI (tools/ai-mock) as a process; `control(path,
/// body)` scripts it through its `/_mock` API (latency, failures).
export async function startAiMock() {
  const { url, child } = await spawnMock('AI_MOCK_BIN');
  return {
    url,
    async control(path, body) {
      const r = await fetch(`${url}/_mock/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
      return r.status === 204 ? null : r.json().catch(() => null);
    },
    stop() { child.kill('SIGKILL'); },
  };
}

/// Every page of every context the browser opens reports its uncaught
/// errors and console errors to the test's output, so a page that breaks
/// says how (a refused request's "Failed to load resource" is left out:
/// tests make those on purpose).
function watchContexts(browser) {
  const open = browser.newContext.bind(browser);
  browser.newContext = async (...args) => {
    const ctx = await open(...args);
    ctx.on('weberror', (e) => {
      const message = e.error()?.message || '';
      console.error('page error:', message);
      if (/failed to fetch Wasm/i.test(message) && e.page()) e.page().__bundleRefused = message;
    });
    ctx.on('response', async (r) => {
      if (r.status() >= 400 && /\/pkg\//.test(r.url())) {
        const headers = await r.request().allHeaders().catch(() => ({}));
        console.error('bundle refused:', r.status(), r.url(), JSON.stringify(headers));
      }
    });
    ctx.on('console', (m) => {
      if (m.type() === 'error' && !/^Failed to load resource/.test(m.text())) console.error('console error:', m.text().split('\n').slice(0, 3).join(' | '), 'at', m.page()?.url() ?? '?');
    });
    return ctx;
  };
}

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/// A page whose wasm has hydrated (the live indicator and handlers work).
export async function open(context, url) {
  const page = await context.newPage();
  page.on('pageerror', e => console.error('pageerror:', e.message));
  page.on('console', m => { if (m.type() === 'error' && /hydrat|panicked/.test(m.text())) console.error('console:', m.text().split('\n')[0]); });
  await page.goto(url);
  await hydrated(page);
  return page;
}

/// Waits for the wasm to hydrate the page; a panic on the way (kept in
/// `window.__mak_panic` by the frontend) or a bundle the server refused
/// (the page's «failed to fetch Wasm», caught by `watchContexts`) fails at
/// once with its message.
export async function hydrated(page) {
  const until = Date.now() + 30000;
  for (;;) {
    const st = await page
      .evaluate(() => ({ ok: window.__mak_hydrated === true, panic: window.__mak_panic || null }))
      .catch(() => ({ ok: false, panic: null })); // mid-navigation
    if (st.panic) throw new Error(`${page.url()} panicked while hydrating: ${st.panic}`);
    if (st.ok) return;
    if (page.__bundleRefused) throw new Error(`${page.url()} got no bundle: ${page.__bundleRefused}`);
    if (Date.now() > until) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // What the page got of its bundle: a resource entry appears once its
  // download ends, so a missing `.wasm` means it never arrived.
  const state = await page.evaluate(() => ({
    ready: document.readyState,
    bundle: performance.getEntriesByType('resource')
      .filter((r) => /\/pkg\//.test(r.name))
      .map((r) => `${r.name.split('/').pop()} ${Math.round(r.duration)} ms ${r.transferSize} B status ${r.responseStatus}`)
      .join(', ') || 'none arrived',
    since: Math.round(performance.now()),
  })).catch((err) => ({ ready: `unreadable (${err.message})` }));
  throw new Error(`${page.url()} did not hydrate in 30 s (document ${state.ready}, ${state.since} ms after navigation; bundle: ${state.bundle})`);
}

export async function signIn(page, base, email, password) {
  await page.goto(`${base}/login`);
  await hydrated(page);
  await page.fill('[data-testid=login-form] input[name=email]', email);
  await page.fill('[data-testid=login-form] input[name=password]', password);
  await page.click('[data-testid=login-form] button[type=submit]');
}

function base32Decode(s) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of s.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/// RFC 6238 TOTP (SHA-1, 6 digits, 30 s), as authenticator apps compute it.
export function totp(secretBase32, at = Date.now()) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const h = createHmac('sha1', base32Decode(secretBase32)).update(counter).digest();
  const o = h[h.length - 1] & 0xf;
  const n = ((h[o] & 0x7f) << 24) | (h[o + 1] << 16) | (h[o + 2] << 8) | h[o + 3];
  return String(n % 1_000_000).padStart(6, '0');
}

export async function apiToken(dbUrl, email) {
  return execFileSync(BIN, ['create-token', '--email', email], { env: { ...process.env, DATABASE_URL: dbUrl } }).toString().trim();
}

/// One test file's fixtures: a fresh database, a server, a browser and the
/// admin's API token, set up in `before` and torn down in `after`; plus
/// `api(method, path, body)` as the admin and `adminPage(path)` (a signed-in
/// admin's page, hydrated). `env()` (maybe async), called when the server starts, adds to
/// its environment.
export function suite({ telegram = false, amocrm = null, env = () => ({}) } = {}) {
  const s = { db: null, server: null, browser: null, token: null, telegram: null, amo: null };
  before(async () => {
    s.db = freshDatabase();
    if (telegram) s.telegram = await startTelegramMock();
    if (amocrm) s.amo = await startAmoMock(amocrm);
    s.server = await startServer(s.db.url, undefined, {
      ...(telegram ? { TELEGRAM_API_URL: s.telegram.url } : {}),
      ...(s.amo ? s.amo.env : {}),
      ...(await env()),
    });
    s.browser = await launch();
    watchContexts(s.browser);
    s.token = await apiToken(s.db.url, ADMIN.email);
  });
  after(async () => { await s.browser?.close(); await s.server?.stop(); s.telegram?.stop(); s.amo?.stop(); s.db?.drop(); });
  s.api = async (method, path, body) => {
    const r = await fetch(`${s.server.url}/api/v1${path}`, {
      method, headers: { Authorization: `Bearer ${s.token}`, 'content-type': 'application/json' },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  };
  s.adminPage = async (path) => {
    const ctx = await s.browser.newContext();
    const page = await ctx.newPage();
    await signIn(page, s.server.url, ADMIN.email, ADMIN.password);
    await page.waitForURL('**/admin/users');
    await page.goto(`${s.server.url}${path}`);
    await hydrated(page);
    return { ctx, page };
  };
  return s;
}

/// A partner invited by HQ who accepted in a fresh browser context: the
/// page is signed in, on the partner cabinet.
export async function invitedPartner(s, email, name, password = 'partner-pass-1') {
  const inv = await s.api('POST', '/invitations', { email, role: 'partner' });
  if (inv.status !== 201) throw new Error(`invitation refused: ${JSON.stringify(inv.body)}`);
  const ctx = await s.browser.newContext();
  const page = await ctx.newPage();
  page.on('pageerror', (e) => console.error('pageerror:', e.message));
  await page.goto(inv.body.url);
  await hydrated(page);
  await page.fill('[data-testid=invite-form] input[name=full_name]', name);
  await page.fill('[data-testid=invite-form] input[name=password]', password);
  await page.click('[data-testid=invite-form] button[type=submit]');
  await page.waitForURL('**/partner');
  await hydrated(page);
  return { ctx, page };
}
