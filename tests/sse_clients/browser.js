// examples/chat's page in headless Chromium (playwright-core, installed for tests/openapi, launched the way
// tests/openapi/check.js launches it): two pages join a room over WebSocket and a third over EventSource; a
// message typed in the first appears in the other two with the same seq, and a message sent from the
// EventSource page (POST) appears in the WebSocket pages.
//   node browser.js http://127.0.0.1:PORT ARTIFACT_DIR
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const base = process.argv[2];
const artifacts = process.argv[3];

function fail(message) {
  throw new Error(message);
}

async function open(context, user, transport) {
  const page = await context.newPage();
  page.on('pageerror', (e) => fail(`page error (${user}): ${e}`));
  page.on('console', (m) => { if (m.type() === 'error') console.log(`browser console (${user}): ${m.text()}`); });
  const res = await page.goto(`${base}/?room=browser&user=${user}${transport === 'sse' ? '&transport=sse' : ''}`);
  if (!res || res.status() !== 200) fail(`/ answered ${res && res.status()}`);
  await page.waitForSelector('body[data-state="open"]', { timeout: 15000 });
  return page;
}

// The seq of the line `text` in the page's log (waits for it to appear).
async function seqOf(page, text) {
  const line = page.locator('#log li', { has: page.locator('.text', { hasText: text }) });
  await line.first().waitFor({ timeout: 15000 });
  return line.first().getAttribute('data-seq');
}

async function say(page, text) {
  await page.fill('#text', text);
  await page.click('#send');
}

async function main() {
  fs.mkdirSync(artifacts, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    viewport: { width: 900, height: 700 },
  });
  try {
    const ann = await open(context, 'ann', 'ws');
    const bob = await open(context, 'bob', 'ws');
    const sse = await open(context, 'sid', 'sse');

    await say(ann, 'hello from ann');
    const seqs = await Promise.all([ann, bob, sse].map((p) => seqOf(p, 'hello from ann')));
    if (new Set(seqs).size !== 1 || seqs[0] === null) fail(`the pages saw seqs ${seqs}`);
    console.log(`browser: typed in one WebSocket page, seen by the other and by the EventSource page (seq ${seqs[0]})`);

    await say(sse, 'hello from the EventSource page');
    const back = await Promise.all([ann, bob, sse].map((p) => seqOf(p, 'hello from the EventSource page')));
    if (new Set(back).size !== 1 || Number(back[0]) !== Number(seqs[0]) + 1) fail(`the pages saw seqs ${back}`);
    const who = await bob.locator('#log li .user').last().textContent();
    if (who !== 'sid') fail(`the last line's user is ${who}`);
    console.log(`browser: POSTed from the EventSource page, seen by both WebSocket pages (seq ${back[0]})`);
    await bob.screenshot({ path: path.join(artifacts, 'chat.png') });
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e) => { console.error(`browser: FAILED: ${e.stack || e}`); process.exit(1); });
