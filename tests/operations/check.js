// Drives examples/site (see run): /metrics through parse-prometheus-text-format and keel's own checks of the
// text format's rules, counts after known requests, /healthz, /readyz with a failing check, and /readyz
// answering 503 on a keep-alive connection once SIGTERM began the graceful shutdown.
// Usage: node check.js BASE_URL SITE_PID ROOT_DIR
'use strict';
const http = require('http');
const net = require('net');
const fs = require('fs');
const assert = require('assert');
const parsePrometheusTextFormat = require('parse-prometheus-text-format');

const [base, sitePid, root] = process.argv.slice(2);

function get(path, agent) {
  return new Promise((resolve, reject) => {
    const req = http.get(base + path, { agent: agent || false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One persistent connection, as a load balancer keeps for its health checks: requests one at a time,
// answers read by Content-Length.
function keepAlive() {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => {
      let buffer = Buffer.alloc(0);
      let waiting = null;
      const pump = () => {
        if (!waiting) return;
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.subarray(0, end + 4).toString('latin1');
        const length = Number((/\r\ncontent-length: *(\d+)/i.exec(head) || [0, 0])[1]);
        if (buffer.length < end + 4 + length) return;
        const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
        buffer = buffer.subarray(end + 4 + length);
        const w = waiting;
        waiting = null;
        w.resolve({ status: Number(head.split(' ')[1]), head, body });
      };
      socket.on('data', (d) => { buffer = Buffer.concat([buffer, d]); pump(); });
      socket.on('close', () => { if (waiting) waiting.reject(new Error('the server closed the connection')); });
      resolve({
        socket,
        get: (path) => new Promise((res, rej) => {
          waiting = { resolve: res, reject: rej };
          socket.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`);
        }),
      });
    });
    socket.on('error', reject);
  });
}

// The format rules keel promises, checked on the raw text: every family has one HELP and one TYPE line
// before its samples; names and label names are valid; label values only use \\, \" and \n escapes; a
// histogram's buckets are cumulative, ascending in le, end with le="+Inf" equal to _count, and have a _sum.
function checkFormat(text) {
  assert.ok(text.endsWith('\n'), 'the text ends with a line feed');
  const families = new Map();
  let current = null;
  const sampleRe = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (\S+)$/;
  const labelRe = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"/g;
  for (const line of text.slice(0, -1).split('\n')) {
    let m;
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line))) {
      assert.ok(!families.has(m[1]), `one HELP for ${m[1]}`);
      assert.ok(!/\\[^\\n]/.test(m[2].replace(/\\\\/g, '')), `HELP escapes of ${m[1]}`);
      current = { name: m[1], type: null, samples: [] };
      families.set(m[1], current);
      continue;
    }
    if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      assert.ok(current && current.name === m[1] && current.type === null && current.samples.length === 0,
        `TYPE of ${m[1]} follows its HELP, before its samples`);
      current.type = m[2];
      continue;
    }
    m = sampleRe.exec(line);
    assert.ok(m, `a valid sample line: ${JSON.stringify(line)}`);
    assert.ok(current && current.type, `sample ${m[1]} after HELP and TYPE`);
    const suffixes = current.type === 'histogram' ? ['_bucket', '_sum', '_count'] : [''];
    assert.ok(suffixes.some((s) => m[1] === current.name + s), `${m[1]} belongs to ${current.name}`);
    const labels = {};
    for (const l of (m[2] || '').matchAll(labelRe)) {
      assert.ok(!(l[1] in labels), `label ${l[1]} once`);
      labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    const value = m[3] === '+Inf' ? Infinity : Number(m[3]);
    assert.ok(!Number.isNaN(value), `numeric value in ${line}`);
    current.samples.push({ name: m[1], labels, value });
  }
  for (const f of families.values()) {
    if (f.type !== 'histogram') continue;
    const series = new Map();
    for (const s of f.samples) {
      const { le, ...rest } = s.labels;
      const key = JSON.stringify(rest);
      if (!series.has(key)) series.set(key, { buckets: [], count: null, sum: null });
      const e = series.get(key);
      if (s.name.endsWith('_bucket')) e.buckets.push([le === '+Inf' ? Infinity : Number(le), s.value]);
      else if (s.name.endsWith('_count')) e.count = s.value;
      else e.sum = s.value;
    }
    for (const [key, e] of series) {
      for (let i = 1; i < e.buckets.length; i++) {
        assert.ok(e.buckets[i][0] > e.buckets[i - 1][0], `${f.name} ${key}: le ascending`);
        assert.ok(e.buckets[i][1] >= e.buckets[i - 1][1], `${f.name} ${key}: cumulative`);
      }
      assert.strictEqual(e.buckets[e.buckets.length - 1][0], Infinity, `${f.name} ${key}: ends with +Inf`);
      assert.strictEqual(e.buckets[e.buckets.length - 1][1], e.count, `${f.name} ${key}: +Inf == _count`);
      assert.ok(e.sum !== null && e.sum >= 0, `${f.name} ${key}: _sum`);
    }
  }
  return families;
}

async function scrape() {
  const r = await get('/metrics');
  assert.strictEqual(r.status, 200);
  assert.strictEqual(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const own = checkFormat(r.body);
  // The third-party parser throws on text it cannot parse. (It folds the series of a labelled histogram into
  // one, so histograms are read from keel's own parse above.)
  const parsed = parsePrometheusTextFormat(r.body);
  const byName = new Map(parsed.map((f) => [f.name, f]));
  return { text: r.body, byName, own };
}
function value(fams, name, labels) {
  const f = fams.byName.get(name);
  assert.ok(f, `family ${name}`);
  const hit = f.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels && m.labels[k] === v));
  return hit ? Number(hit.value !== undefined ? hit.value : hit.count) : 0;
}

(async () => {
  // Known traffic, then a scrape.
  for (let i = 0; i < 3; i++) assert.strictEqual((await get('/')).status, 200);
  assert.strictEqual((await get('/notes.txt')).status, 200);
  assert.strictEqual((await get('/missing.txt')).status, 404);
  const a = await scrape();
  for (const [name, type] of [
    ['keel_http_requests_total', 'COUNTER'], ['keel_http_request_duration_seconds', 'HISTOGRAM'],
    ['keel_http_requests_in_flight', 'GAUGE'], ['keel_http_connections_open', 'GAUGE'],
    ['keel_http_connections_total', 'COUNTER'], ['keel_http_received_bytes_total', 'COUNTER'],
    ['keel_http_sent_bytes_total', 'COUNTER']]) {
    assert.ok(a.byName.has(name), `${name} is exposed`);
    assert.strictEqual(a.byName.get(name).type, type, `${name} is a ${type}`);
  }
  assert.strictEqual(value(a, 'keel_http_requests_total', { route: '/', method: 'GET', status: '2xx' }), 3);
  const tail = a.byName.get('keel_http_requests_total').metrics.find(
    (m) => m.labels.route !== '/' && m.labels.route !== '/metrics' && m.labels.status === '2xx');
  assert.ok(tail, 'the file route is counted under its template');
  assert.ok(tail.labels.route.includes('{'), `a template, not a raw path: ${tail.labels.route}`);
  assert.ok(!a.text.includes('route="/notes.txt"'), 'raw paths never become labels');
  assert.strictEqual(value(a, 'keel_http_requests_total', { route: tail.labels.route, method: 'GET', status: '4xx' }), 1);
  const hist = a.own.get('keel_http_request_duration_seconds').samples.filter((m) => m.labels.route === '/');
  assert.strictEqual(hist.find((m) => m.name.endsWith('_count')).value, 3);
  assert.strictEqual(hist.find((m) => m.labels.le === '+Inf').value, 3);
  assert.ok(hist.some((m) => m.labels.le === '0.0005'), 'le values in plain decimal');
  assert.strictEqual(value(a, 'keel_http_requests_in_flight', {}), 1, 'the scrape itself is in flight');

  // Counts move by exactly the requests made.
  for (let i = 0; i < 5; i++) await get('/');
  const b = await scrape();
  assert.strictEqual(value(b, 'keel_http_requests_total', { route: '/', method: 'GET', status: '2xx' }), 8);
  assert.strictEqual(value(b, 'keel_http_requests_total', { route: '/metrics', method: 'GET', status: '2xx' }), 1);
  assert.strictEqual(value(b, 'keel_http_connections_total', {}), value(a, 'keel_http_connections_total', {}) + 6);
  assert.ok(value(b, 'keel_http_sent_bytes_total', {}) > value(a, 'keel_http_sent_bytes_total', {}) + a.text.length);
  assert.ok(value(b, 'keel_http_received_bytes_total', {}) > value(a, 'keel_http_received_bytes_total', {}));

  // Health.
  const live = await get('/healthz');
  assert.strictEqual(live.status, 200);
  assert.deepStrictEqual(JSON.parse(live.body), { status: 'ok' });
  let ready = await get('/readyz');
  assert.strictEqual(ready.status, 200, ready.body);
  assert.deepStrictEqual(JSON.parse(ready.body), { status: 'ready', checks: { root: 'ok' } });
  fs.renameSync(root, root + '.gone');  // the "root" check fails while the directory is away
  ready = await get('/readyz');
  fs.renameSync(root + '.gone', root);
  assert.strictEqual(ready.status, 503);
  const failing = JSON.parse(ready.body);
  assert.strictEqual(failing.status, 'unavailable');
  assert.strictEqual(failing.failing, 'root');
  assert.match(failing.checks.root, /cannot read/);
  assert.strictEqual((await get('/readyz')).status, 200);

  // Graceful shutdown: a load balancer's keep-alive connection sees 503 from the moment SIGTERM is handled.
  const conn = await keepAlive();
  assert.strictEqual((await conn.get('/readyz')).status, 200);
  process.kill(Number(sitePid), 'SIGTERM');
  let answer = null;
  for (let i = 0; i < 100 && answer === null; i++) {
    const r = await conn.get('/readyz');  // 200 only while the signal is not handled yet
    if (r.status === 503) answer = r;
    else await sleep(5);
  }
  assert.ok(answer, '/readyz never answered 503 after SIGTERM');
  assert.deepStrictEqual(JSON.parse(answer.body), { status: 'shutting_down' });
  assert.match(answer.head, /\r\nConnection: close\r\n/i, 'the 503 closes the connection');
  conn.socket.destroy();
  console.log('operations: all checks passed');
})().catch((e) => {
  console.error('operations: FAILED:', e && e.stack ? e.stack : e);
  process.exit(1);
});
