// Swagger UI's Authorize button against keel's auth demo server, in headless Chromium, as a user would:
// the document declares the bearer scheme and each operation's security; "Execute" on GET /me without
// authorizing shows 401; after typing a token into the Authorize dialog the same "Execute" shows 200 and the
// token's subject, and the request carried `Authorization: Bearer <token>`.
//   node check-authorize.js http://127.0.0.1:PORT ARTIFACT_DIR
// CommonJS on purpose: the modules come from NODE_PATH (installed in the build dir, not next to this file).
'use strict';

const crypto = require('crypto');
const path = require('path');
const { withChromium, authorize } = require('../openapi/chromium.js');

const base = process.argv[2];
const artifacts = process.argv[3];
const secret = 'keel-auth-demo-secret-for-tests-only-0123';  // auth_demo_server's test secret

function fail(message) {
  throw new Error(message);
}

function b64url(buf) {
  return Buffer.from(buf).toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

function token(claims) {
  const header = b64url(JSON.stringify({ alg: 'HS256', kid: 'demo', typ: 'JWT' }));
  const payload = b64url(JSON.stringify(claims));
  const signature = b64url(crypto.createHmac('sha256', secret).update(`${header}.${payload}`).digest());
  return `${header}.${payload}.${signature}`;
}

async function checkDocument() {
  const res = await fetch(`${base}/openapi.json`);
  if (res.status !== 200) fail(`/openapi.json answered ${res.status}`);
  const doc = await res.json();
  const schemes = (doc.components || {}).securitySchemes || {};
  const bearer = schemes.bearerAuth;
  if (!bearer || bearer.type !== 'http' || bearer.scheme !== 'bearer' || bearer.bearerFormat !== 'JWT')
    fail(`securitySchemes.bearerAuth is ${JSON.stringify(bearer)}`);
  const apiKey = schemes.apiKeyHeader;
  if (!apiKey || apiKey.type !== 'apiKey' || apiKey.in !== 'header' || apiKey.name !== 'X-API-Key')
    fail(`securitySchemes.apiKeyHeader is ${JSON.stringify(apiKey)}`);
  const expect = (p, want) => {
    const got = JSON.stringify(doc.paths[p].get.security);
    if (got !== JSON.stringify(want)) fail(`GET ${p} security is ${got}, expected ${JSON.stringify(want)}`);
  };
  expect('/public', []);
  expect('/me', [{ bearerAuth: [] }]);
  expect('/feed', [{ bearerAuth: [] }, {}]);
  expect('/admin/stats', [{ bearerAuth: ['admin'] }]);
  expect('/reports', [{ apiKeyHeader: [] }, { apiKeyQuery: [] }]);
  if (!doc.paths['/me'].get.responses['401']) fail('GET /me documents no 401');
  if (!doc.paths['/admin/stats'].get.responses['403']) fail('GET /admin/stats documents no 403');
  console.log('document: bearerAuth (http bearer JWT) and API key schemes, per-operation security as expected');
}

async function execute(block) {
  await block.getByRole('button', { name: 'Execute' }).click();
  const status = block.locator('.live-responses-table tr.response .response-col_status').first();
  await status.waitFor({ timeout: 30000 });
  return status;
}

async function checkBrowser() {
  await withChromium({ width: 1280, height: 1000 }, async (page) => {
    const sentAuthorization = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/me')) sentAuthorization.push(r.headers()['authorization'] || '');
    });
    const res = await page.goto(`${base}/docs`);
    if (!res || res.status() !== 200) fail(`/docs answered ${res && res.status()}`);
    await page.waitForSelector('.opblock', { timeout: 30000 });

    // Without authorizing: 401.
    const block = page.locator('#operations-me-getMe');
    if ((await block.count()) !== 1) fail('Swagger UI does not list GET /me');
    await block.locator('.opblock-summary').first().click();
    await block.getByRole('button', { name: 'Try it out' }).click();
    let status = await execute(block);
    let code = (await status.innerText()).trim();
    if (code !== '401') fail(`"Execute" on /me without authorizing shows ${code}, expected 401`);
    console.log('browser: GET /me without authorizing: 401');

    // Authorize with a token in the dialog.
    const jwt = token({ sub: 'alice', roles: ['user'], exp: Math.floor(Date.now() / 1000) + 600 });
    await authorize(page, 'bearerAuth', jwt);

    status = await execute(block);
    await page.waitForFunction(
      (sel) => { const e = document.querySelector(sel); return e && e.innerText.trim() === '200'; },
      '#operations-me-getMe .live-responses-table tr.response .response-col_status', { timeout: 30000 });
    const body = await block.locator('.live-responses-table tr.response .response-col_description pre').first().innerText();
    if (!body.includes('hello, alice')) fail(`GET /me after Authorize shows ${body}`);
    if (sentAuthorization[sentAuthorization.length - 1] !== `Bearer ${jwt}`)
      fail(`the browser sent Authorization: ${sentAuthorization[sentAuthorization.length - 1]}`);
    console.log('browser: Authorize with a token, then GET /me: 200, "hello, alice", Authorization: Bearer <token> sent');
    await page.screenshot({ path: path.join(artifacts, 'authorize.png'), fullPage: false });
  });
}

(async () => {
  await checkDocument();
  await checkBrowser();
  console.log('check-authorize: ok');
})().catch((e) => {
  console.error(`check-authorize: FAILED: ${e.message}`);
  process.exit(1);
});
