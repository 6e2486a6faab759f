// The npm `eventsource` client (v4, a WHATWG EventSource for Node) against examples/chat's /events:
// two subscribers of a room receive POSTed messages as `message` events with `id` = the message's seq and
// the JSON line as data, in order; a client that resumes with Last-Event-ID gets what it missed, then live
// messages.
//   node eventsource.js http://127.0.0.1:PORT
// CommonJS on purpose: the module comes from NODE_PATH (installed in the build dir, not next to this file).
'use strict';

const { EventSource } = require('eventsource');

const base = process.argv[2];
const deadline = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms));

function fail(message) {
  throw new Error(message);
}

async function post(room, user, text) {
  const res = await fetch(`${base}/rooms/${room}/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ user, text }),
  });
  if (res.status !== 202) fail(`POST answered ${res.status}`);
}

// An EventSource that collects `message` events; `extraHeaders` go on every (re)connection.
function subscribe(room, extraHeaders = {}) {
  const got = [];
  const waiters = [];
  const es = new EventSource(`${base}/events?room=${room}`, {
    fetch: (url, init) => fetch(url, { ...init, headers: { ...init.headers, ...extraHeaders } }),
  });
  es.addEventListener('message', (e) => {
    got.push({ id: e.lastEventId, type: e.type, data: JSON.parse(e.data) });
    for (const w of waiters.splice(0)) w();
  });
  const opened = new Promise((resolve, reject) => {
    es.onopen = resolve;
    es.onerror = (e) => { if (es.readyState === EventSource.CLOSED) reject(new Error(`EventSource failed: ${e.message}`)); };
  });
  const count = async (n, what) => {
    const until = deadline(10000, what);
    while (got.length < n) await Promise.race([new Promise((r) => waiters.push(r)), until]);
  };
  return { es, got, opened, count };
}

function checkOrder(events, room, firstSeq, texts) {
  if (events.length !== texts.length) fail(`expected ${texts.length} events, got ${events.length}`);
  events.forEach((e, i) => {
    const seq = firstSeq + i;
    if (e.type !== 'message') fail(`event type ${e.type}`);
    if (e.id !== String(seq)) fail(`event ${i}: id ${e.id}, expected ${seq}`);
    if (e.data.seq !== seq) fail(`event ${i}: seq ${e.data.seq}, expected ${seq}`);
    if (e.data.room !== room) fail(`event ${i}: room ${e.data.room}`);
    if (e.data.text !== texts[i]) fail(`event ${i}: text ${JSON.stringify(e.data.text)}, expected ${JSON.stringify(texts[i])}`);
    if (typeof e.data.ts !== 'number') fail(`event ${i}: no ts`);
  });
}

async function main() {
  // Two live subscribers, one order.
  const a = subscribe('node');
  const b = subscribe('node');
  await Promise.race([Promise.all([a.opened, b.opened]), deadline(10000, 'open')]);
  const texts = ['one', 'two\nlines', 'ünïcödé ☃', 'x'.repeat(2000)];
  for (const t of texts) await post('node', 'client', t);
  await a.count(texts.length, 'subscriber a');
  await b.count(texts.length, 'subscriber b');
  checkOrder(a.got, 'node', 1, texts);
  checkOrder(b.got, 'node', 1, texts);
  b.es.close();
  console.log('eventsource: two subscribers received 4 messages in order, ids = seq');

  // Resuming with Last-Event-ID: 2 replays 3 and 4, then goes on live.
  const c = subscribe('node', { 'Last-Event-ID': '2' });
  await Promise.race([c.opened, deadline(10000, 'open c')]);
  await c.count(2, 'replay');
  await post('node', 'client', 'five');
  await c.count(3, 'live after replay');
  checkOrder(c.got, 'node', 3, [texts[2], texts[3], 'five']);
  await a.count(5, 'a sees five');
  if (a.got[4].data.text !== 'five' || a.got[4].id !== '5') fail('subscriber a missed message 5');
  a.es.close();
  c.es.close();
  console.log('eventsource: Last-Event-ID 2 replayed 3 and 4, then message 5 live');
}

main().then(() => process.exit(0), (e) => { console.error(`eventsource: FAILED: ${e.stack || e}`); process.exit(1); });
