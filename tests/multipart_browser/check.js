// Fills the upload form in headless Chromium and submits it: the answer is 201 with the file's size and
// SHA-256, and the upload dir holds exactly those bytes; a 101-character title is a 422 naming `title`.
//   node check.js BASE_URL FILE UPLOAD_DIR
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const [base, file, uploads] = process.argv.slice(2);

function fail(message) {
  throw new Error(message);
}

async function submit(page, title) {
  await page.goto(`${base}/upload.html`);
  await page.fill('#title', title);
  await page.setInputFiles('#file', file);
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/upload') && r.request().method() === 'POST'),
    page.click('#send'),
  ]);
  return { status: response.status(), body: await response.json(), type: response.request().headers()['content-type'] };
}

(async () => {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    const bytes = fs.readFileSync(file);
    const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');

    const ok = await submit(page, 'Holiday ☀');
    if (!ok.type || !ok.type.startsWith('multipart/form-data; boundary=')) fail(`the browser sent ${ok.type}`);
    if (ok.status !== 201) fail(`upload answered ${ok.status}: ${JSON.stringify(ok.body)}`);
    const want = { title: 'Holiday ☀', filename: path.basename(file), bytes: bytes.length, sha256 };
    if (JSON.stringify(ok.body) !== JSON.stringify(want))
      fail(`upload answered ${JSON.stringify(ok.body)}, expected ${JSON.stringify(want)}`);
    const stored = fs.readdirSync(uploads);
    if (stored.length !== 1 || !stored[0].startsWith('keel-upload-')) fail(`upload dir holds ${stored}`);
    if (!fs.readFileSync(path.join(uploads, stored[0])).equals(bytes)) fail('the stored file differs');
    console.log(`browser: ${ok.type.split(';')[0]} upload of ${bytes.length} bytes stored, sha256 ${sha256}`);

    const bad = await submit(page, 'x'.repeat(101));
    if (bad.status !== 422) fail(`a 101-character title answered ${bad.status}`);
    const fields = (bad.body.error && bad.body.error.fields) || [];
    if (!fields.some((f) => f.location === 'multipart' && f.path === 'title')) fail(`422 without title: ${JSON.stringify(bad.body)}`);
    if (fs.readdirSync(uploads).length !== 1) fail('the refused upload left a file');
    console.log('browser: a 101-character title is a 422 naming title, no file kept');
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(`multipart_browser: ${e.message}`);
  process.exit(1);
});
