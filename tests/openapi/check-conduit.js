// The Conduit example's /docs (Swagger UI) in headless Chromium, used like a reader of the docs would: the
// document declares bearerAuth and each operation's security; "Try it out" on CreateUser registers a user;
// CreateArticle without authorizing shows 401; the token from the sign-up goes into the Authorize dialog;
// CreateArticle then shows 201 (the browser sent `Authorization: Bearer <token>`), and GetArticles filtered
// by the new author lists the article. Runs through run-browser-test (KEEL_BROWSER_CHECK=check-conduit.js).
//   node check-conduit.js http://127.0.0.1:PORT ARTIFACT_DIR
// CommonJS on purpose: the modules come from NODE_PATH (installed in the build dir, not next to this file).
'use strict';

const fs = require('fs');
const path = require('path');
const { withChromium, authorize } = require('./chromium.js');

const base = process.argv[2];
const artifacts = process.argv[3];
const specPath = process.env.KEEL_OPENAPI_SPEC_PATH || '/api/openapi.json';

function fail(message) {
  throw new Error(message);
}

// The operations the RealWorld spec secures: required, optional (anonymous allowed) and open.
const required = ['GetCurrentUser', 'UpdateCurrentUser', 'FollowUserByUsername', 'UnfollowUserByUsername',
                  'GetArticlesFeed', 'CreateArticle', 'UpdateArticle', 'DeleteArticle', 'CreateArticleComment',
                  'DeleteArticleComment', 'CreateArticleFavorite', 'DeleteArticleFavorite'];
const optional = ['GetProfileByUsername', 'GetArticles', 'GetArticle', 'GetArticleComments'];
const open = ['Login', 'CreateUser', 'GetTags'];

async function checkDocument() {
  const res = await fetch(`${base}${specPath}`);
  if (res.status !== 200) fail(`${specPath} answered ${res.status}`);
  const doc = await res.json();
  const bearer = ((doc.components || {}).securitySchemes || {}).bearerAuth;
  if (!bearer || bearer.type !== 'http' || bearer.scheme !== 'bearer')
    fail(`securitySchemes.bearerAuth is ${JSON.stringify(bearer)}`);
  const security = {};
  for (const item of Object.values(doc.paths))
    for (const op of Object.values(item))
      if (op && op.operationId) security[op.operationId] = JSON.stringify(op.security);
  const expect = (ids, want) => {
    for (const id of ids)
      if (security[id] !== JSON.stringify(want)) fail(`${id} security is ${security[id]}, expected ${JSON.stringify(want)}`);
  };
  expect(required, [{ bearerAuth: [] }]);
  expect(optional, [{ bearerAuth: [] }, {}]);
  expect(open, []);
  console.log(`document: bearerAuth; ${required.length} operations require it, ${optional.length} take it optionally, ` +
              `${open.length} are open`);
}

// Swagger UI's element id of an operation: the tag with whitespace as '_', then the operationId.
const operation = (page, tag, id) => page.locator(`#operations-${tag.replace(/\s/g, '_')}-${id}`);

async function open_try_it_out(block) {
  await block.locator('.opblock-summary').first().click();
  await block.getByRole('button', { name: 'Try it out' }).click();
}

// Clicks Execute and waits until the live response shows `want`; returns the response body as shown.
async function execute(page, block, selector, want) {
  await block.getByRole('button', { name: 'Execute', exact: true }).click();
  const cell = `${selector} .live-responses-table tr.response .response-col_status`;
  try {
    await page.waitForFunction(([sel, w]) => { const e = document.querySelector(sel); return e && e.innerText.trim() === w; },
                               [cell, want], { timeout: 30000 });
  } catch (e) {
    const shown = await page.locator(cell).first().innerText().catch(() => '(nothing)');
    fail(`${selector}: "Execute" shows ${shown.trim()}, expected ${want}`);
  }
  return block.locator('.live-responses-table tr.response .response-col_description pre').first().innerText();
}

async function checkBrowser() {
  await withChromium({ width: 1280, height: 1000 }, async (page) => {
    const sent = [];  // Authorization of each POST /api/articles the page sends
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/articles') sent.push(r.headers()['authorization'] || '');
    });
    const res = await page.goto(`${base}/docs`);
    if (!res || res.status() !== 200) fail(`/docs answered ${res && res.status()}`);
    await page.waitForSelector('.opblock', { timeout: 30000 });

    // Register through "Try it out" on CreateUser.
    const name = `swagger${Date.now() % 1000000}`;
    const signup = operation(page, 'User and Authentication', 'CreateUser');
    await open_try_it_out(signup);
    await signup.locator('textarea.body-param__text').fill(
      JSON.stringify({ user: { username: name, email: `${name}@example.com`, password: 'correct horse battery' } }));
    let body = await execute(page, signup, '#operations-User_and_Authentication-CreateUser', '201');
    const token = JSON.parse(body).user.token;
    if (!token || token.split('.').length !== 3) fail(`CreateUser answered ${body}`);
    console.log(`browser: CreateUser ("Try it out") registered ${name}: 201 with a token`);

    // CreateArticle before authorizing: 401.
    const title = `Written in Swagger UI ${name}`;
    const article = JSON.stringify({ article: { title, description: 'from /docs', body: 'Hello from headless Chromium', tagList: ['swagger'] } });
    const create = operation(page, 'Articles', 'CreateArticle');
    await open_try_it_out(create);
    await create.locator('textarea.body-param__text').fill(article);
    await execute(page, create, '#operations-Articles-CreateArticle', '401');
    console.log('browser: CreateArticle without authorizing: 401');

    // Authorize with the token, then create the article.
    await authorize(page, 'bearerAuth', token);
    body = await execute(page, create, '#operations-Articles-CreateArticle', '201');
    const slug = JSON.parse(body).article.slug;
    if (!slug || JSON.parse(body).article.author.username !== name) fail(`CreateArticle answered ${body}`);
    if (sent[sent.length - 1] !== `Bearer ${token}`) fail(`the browser sent Authorization: ${sent[sent.length - 1]}`);
    console.log(`browser: Authorize, then CreateArticle: 201, slug ${slug}, Authorization: Bearer <token> sent`);

    // GetArticles by the new author lists it.
    const list = operation(page, 'Articles', 'GetArticles');
    await open_try_it_out(list);
    await list.locator('tr[data-param-name="author"] input').fill(name);
    body = await execute(page, list, '#operations-Articles-GetArticles', '200');
    const listed = JSON.parse(body);
    if (listed.articlesCount !== 1 || listed.articles[0].slug !== slug || listed.articles[0].title !== title)
      fail(`GetArticles?author=${name} answered ${body}`);
    console.log(`browser: GetArticles?author=${name}: 200, articlesCount 1, the new article`);

    await page.screenshot({ path: path.join(artifacts, 'conduit-docs.png'), fullPage: false });
  });
}

(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  await checkDocument();
  await checkBrowser();
  console.log('check-conduit: ok');
})().catch((e) => {
  console.error(`check-conduit: FAILED: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
