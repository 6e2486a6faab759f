// Shared by the Swagger UI checks (check.js, check-conduit.js, tests/auth/check-authorize.js): a headless
// Chromium with a throwaway profile, and Swagger UI's Authorize dialog.
// CommonJS on purpose: playwright-core comes from NODE_PATH (installed in the build dir).
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

// Runs `use(page)` in a fresh headless Chromium; fails when the page threw (a Swagger UI error), and always
// closes the browser and removes its profile.
async function withChromium(viewport, use) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'keel-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    viewport,
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await use(page);
    if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join('; ')}`);
  } finally {
    await context.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

// Types `credential` into the Authorize dialog's entry for `scheme` (a securitySchemes name), applies it and
// closes the dialog.
async function authorize(page, scheme, credential) {
  await page.locator('.auth-wrapper .authorize').first().click();
  const modal = page.locator('.modal-ux');
  await modal.waitFor({ timeout: 10000 });
  const container = modal.locator('.auth-container').filter({ hasText: scheme });
  if ((await container.count()) !== 1) throw new Error(`the Authorize dialog has no ${scheme} entry`);
  await container.locator('input').first().fill(credential);
  // Swagger UI labels its buttons "Apply credentials" / "Remove authorization" for screen readers.
  await container.locator('button.authorize').click();
  await container.locator('button[aria-label="Remove authorization"]').waitFor({ timeout: 10000 });
  await container.locator('button.btn-done').click();
  await modal.waitFor({ state: 'detached', timeout: 10000 });
}

module.exports = { withChromium, authorize };
