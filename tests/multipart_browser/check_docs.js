// Swagger UI (/docs) on a keel::multipart<T> route in headless Chromium: "Try it out" shows a file picker for
// the keel::upload field and a text box for the title; choosing a file and executing answers 201 with its
// SHA-256. The document itself passes the openapi harness's validator.
//   node check_docs.js BASE_URL FILE
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const SwaggerParser = require('@apidevtools/swagger-parser');
const { chromium } = require('playwright-core');

const [base, file] = process.argv.slice(2);

function fail(message) {
  throw new Error(message);
}

(async () => {
  const doc = await (await fetch(`${base}/openapi.json`)).json();
  await SwaggerParser.validate(JSON.parse(JSON.stringify(doc)));
  const body = doc.paths['/photos'].post.requestBody;
  if (!body.content['multipart/form-data']) fail(`requestBody is ${JSON.stringify(body)}`);
  console.log('validator: /openapi.json is valid, POST /photos takes multipart/form-data');

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    const res = await page.goto(`${base}/docs`);
    if (!res || res.status() !== 200) fail(`/docs answered ${res && res.status()}`);
    await page.waitForSelector('.opblock', { timeout: 30000 });
    const block = page.locator('.opblock-post').first();
    await block.locator('.opblock-summary').first().click();
    await block.getByRole('button', { name: 'Try it out' }).click();
    const picker = block.locator('input[type=file]');
    await picker.waitFor({ timeout: 10000 });
    if ((await picker.count()) !== 1) fail(`Swagger UI shows ${await picker.count()} file pickers`);
    console.log('browser: Swagger UI shows a file picker for the keel::upload field');
    await picker.setInputFiles(file);
    // The title's text box: the form row of the request body named "title".
    const title = block.locator('tr[data-param-name="title"] input, input[placeholder="title"]').first();
    await title.fill('From Swagger UI');
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/photos') && r.request().method() === 'POST'),
      block.getByRole('button', { name: 'Execute' }).click(),
    ]);
    const answer = await response.json();
    const sha256 = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    if (response.status() !== 201 || answer.sha256 !== sha256 || answer.title !== 'From Swagger UI')
      fail(`Execute answered ${response.status()} ${JSON.stringify(answer)}`);
    console.log(`browser: Execute uploaded the file through Swagger UI: 201, sha256 ${sha256}`);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
})().catch((e) => {
  console.error(`multipart_browser: ${e.message}`);
  process.exit(1);
});
