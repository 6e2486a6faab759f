// Checks a running keel app like a user would: its /openapi.json passes a third-party OpenAPI validator, and
// /docs (Swagger UI) in headless Chromium lists every operation and runs one with "Try it out" / "Execute".
//   node check.js http://127.0.0.1:PORT ARTIFACT_DIR [GET-operation-path]
// CommonJS on purpose: the modules come from NODE_PATH (installed in the build dir, not next to this file).
'use strict';

const fs = require('fs');
const path = require('path');
const SwaggerParser = require('@apidevtools/swagger-parser');
const { withChromium } = require('./chromium.js');

const base = process.argv[2];
const artifacts = process.argv[3];
const tryPath = process.argv[4] || null;
// Where the app serves its document (the Conduit example: /api/openapi.json).
const specPath = process.env.KEEL_OPENAPI_SPEC_PATH || '/openapi.json';
const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function fail(message) {
  throw new Error(message);
}

// Swagger UI's element id for a tag: whitespace becomes '_' ("User and Authentication").
const anchor = (tag) => tag.replace(/\s/g, '_');

async function validateDocument() {
  const res = await fetch(`${base}${specPath}`);
  if (res.status !== 200) fail(`${specPath} answered ${res.status}`);
  const text = await res.text();
  fs.writeFileSync(path.join(artifacts, 'openapi.json'), text);
  const doc = JSON.parse(text);
  if (doc.openapi !== '3.1.0') fail(`openapi is ${doc.openapi}, expected 3.1.0`);
  // validate() dereferences in place: give it its own copy.
  await SwaggerParser.validate(JSON.parse(text));
  const operations = [];
  for (const [p, item] of Object.entries(doc.paths))
    for (const m of methods)
      if (item[m]) operations.push({ method: m, path: p, id: item[m].operationId, tag: (item[m].tags || ['default'])[0] });
  console.log(`validator: ${specPath} is a valid OpenAPI ${doc.openapi} document, ${operations.length} operations`);
  return operations;
}

async function checkBrowser(operations) {
  await withChromium({ width: 1280, height: 900 }, async (page) => {
    page.on('response', (r) => { if (r.status() >= 400) console.log(`browser: ${r.status()} for ${r.url()}`); });
    page.on('console', (m) => { if (m.type() === 'error') console.log(`browser console: ${m.text()}`); });
    const res = await page.goto(`${base}/docs`);
    if (!res || res.status() !== 200) fail(`/docs answered ${res && res.status()}`);
    await page.waitForSelector('.opblock', { timeout: 30000 });

    // Every operation of the document is listed, under Swagger UI's id for it.
    for (const op of operations) {
      const block = page.locator(`#operations-${anchor(op.tag)}-${op.id}`);
      if ((await block.count()) !== 1) fail(`Swagger UI does not list ${op.method.toUpperCase()} ${op.path} (${op.id})`);
      const shown = await block.locator('.opblock-summary-path').first().getAttribute('data-path');
      if (shown !== op.path) fail(`operation ${op.id} shows path ${shown}, expected ${op.path}`);
    }
    const listed = await page.locator('.opblock').count();
    if (listed !== operations.length) fail(`Swagger UI lists ${listed} operations, the document has ${operations.length}`);
    console.log(`browser: /docs lists all ${listed} operations`);

    // Try it out on one GET operation and see its live response.
    const target = operations.find((o) => o.method === 'get' && (tryPath ? o.path === tryPath : !o.path.includes('{')));
    if (!target) fail('no GET operation to try');
    const block = page.locator(`#operations-${anchor(target.tag)}-${target.id}`);
    await block.locator('.opblock-summary').first().click();
    await block.getByRole('button', { name: 'Try it out' }).click();
    await block.getByRole('button', { name: 'Execute' }).click();
    const status = block.locator('.live-responses-table tr.response .response-col_status').first();
    await status.waitFor({ timeout: 30000 });
    const code = (await status.innerText()).trim();
    if (code !== '200') fail(`"Execute" on ${target.path} shows status ${code}`);
    const body = await block.locator('.live-responses-table tr.response .response-col_description pre').first().innerText();
    const direct = await (await fetch(`${base}${target.path}`)).text();
    const normalize = (s) => s.replace(/\s+/g, '');
    if (!normalize(body).includes(normalize(direct).slice(0, 40)))
      fail(`the response shown for ${target.path} does not match the server's: ${body.slice(0, 200)}`);
    console.log(`browser: "Try it out" + "Execute" on GET ${target.path} shows 200 and the response body`);

    const shot = path.join(artifacts, 'docs.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot}`);
  });
}

(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  const operations = await validateDocument();
  await checkBrowser(operations);
  console.log('openapi browser check: OK');
})().catch((e) => {
  console.error(`openapi browser check FAILED: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
