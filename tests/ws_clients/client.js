// npm `ws` against examples/chat's /echo: text, binary, large and compressed messages, a ping, a clean close.
// Usage: node client.js URL [CA_FILE]     prints "ok <checks>" or exits 1 naming the failed check.
'use strict';
const fs = require('fs');
const WebSocket = require('ws');

const [url, caFile] = process.argv.slice(2);
const fail = (what) => { console.error('ws client: ' + what); process.exit(1); };
setTimeout(() => fail('timed out'), 30000).unref();

async function session(compress) {
  const options = { perMessageDeflate: compress ? { threshold: 0 } : false, maxPayload: 64 << 20 };
  if (caFile) options.ca = fs.readFileSync(caFile);
  const ws = new WebSocket(url, options);
  const queue = [];
  let waiting = null;
  ws.on('message', (data, isBinary) => {
    const m = { data, isBinary };
    if (waiting) { const w = waiting; waiting = null; w(m); } else queue.push(m);
  });
  const next = () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => { waiting = r; }));
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  const ext = ws.extensions || '';
  if (compress !== ext.includes('permessage-deflate')) fail('permessage-deflate negotiated: ' + ext);

  ws.send('hello keel');
  let m = await next();
  if (m.isBinary || m.data.toString() !== 'hello keel') fail('text echo');

  const bin = Buffer.from([0, 1, 2, 255, 254, 128]);
  ws.send(bin);
  m = await next();
  if (!m.isBinary || !m.data.equals(bin)) fail('binary echo');

  const large = Buffer.alloc(3 << 20);
  for (let i = 0; i < large.length; i++) large[i] = (i * 7) & 0xff;
  ws.send(large);
  m = await next();
  if (!m.data.equals(large)) fail('large binary echo');

  const text = 'ünïcødé ✓ '.repeat(20000);
  ws.send(text);
  m = await next();
  if (m.data.toString() !== text) fail('large text echo');

  // Several messages in flight at once come back in order.
  for (let i = 0; i < 50; i++) ws.send('n' + i);
  for (let i = 0; i < 50; i++) { m = await next(); if (m.data.toString() !== 'n' + i) fail('ordering'); }

  await new Promise((resolve) => { ws.once('pong', resolve); ws.ping('p'); });
  const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
  ws.close(1000, 'done');
  const code = await closed;
  if (code !== 1000) fail('close code ' + code);
}

(async () => {
  await session(false);
  await session(true);
  console.log('ok ws ' + (caFile ? 'wss' : 'ws'));
})().catch((e) => fail(String(e)));
