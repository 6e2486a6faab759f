// The chat room's page, served by examples/chat at GET / from the binary: plain HTML and JavaScript, no build
// step, nothing from a CDN. /?room=R&user=U joins at once; &transport=sse receives with EventSource (and
// sends with POST /rooms/R/messages) instead of the WebSocket.
#pragma once

#include <string_view>

namespace chat {

inline constexpr std::string_view page = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>keel chat</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  form { display: flex; gap: .5rem; margin: .5rem 0; flex-wrap: wrap; }
  input, select, button { font: inherit; padding: .3rem .5rem; }
  #text { flex: 1; }
  #log { list-style: none; padding: 0; border: 1px solid #ccc; border-radius: 4px; height: 22rem; overflow-y: auto; }
  #log li { padding: .2rem .6rem; border-bottom: 1px solid #eee; }
  #log .user { font-weight: 600; margin-right: .4rem; }
  #log .meta { color: #888; font-size: 80%; margin-left: .4rem; }
  #status { color: #666; }
</style>
</head>
<body>
<h1>keel chat</h1>
<form id="join">
  <label>room <input id="room" value="lobby" required maxlength="64" pattern="[A-Za-z0-9_.\-]+"></label>
  <label>name <input id="user" required maxlength="64"></label>
  <select id="transport">
    <option value="ws">WebSocket</option>
    <option value="sse">EventSource + POST</option>
  </select>
  <button>Join</button>
</form>
<p id="status">not connected</p>
<ul id="log"></ul>
<form id="say">
  <input id="text" autocomplete="off" maxlength="2000" placeholder="message" disabled>
  <button id="send" disabled>Send</button>
</form>
<script>
'use strict';
const $ = (id) => document.getElementById(id);
let conn = null;       // { send(text), close() }
let room = '', user = '';

function status(text, state) {
  $('status').textContent = text;
  document.body.dataset.state = state;
}

function show(m) {
  const li = document.createElement('li');
  li.dataset.seq = m.seq;
  const who = document.createElement('span');
  who.className = 'user';
  who.textContent = m.user;
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = '#' + m.seq + ' ' + new Date(m.ts).toLocaleTimeString();
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = m.text;
  li.append(who, text, meta);
  $('log').append(li);
  $('log').scrollTop = $('log').scrollHeight;
}

function ready(yes) {
  $('text').disabled = !yes;
  $('send').disabled = !yes;
}

function viaWebSocket() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const q = new URLSearchParams({ room, user });
  const ws = new WebSocket(`${scheme}://${location.host}/ws?${q}`, ['chat.v1']);
  ws.onopen = () => { status(`in ${room} as ${user} (WebSocket)`, 'open'); ready(true); };
  ws.onmessage = (e) => show(JSON.parse(e.data));
  ws.onclose = (e) => { status(`disconnected (${e.code}${e.reason ? ' ' + e.reason : ''})`, 'closed'); ready(false); };
  return { send: (text) => ws.send(JSON.stringify({ text })), close: () => ws.close() };
}

function viaEventSource() {
  const es = new EventSource('/events?' + new URLSearchParams({ room }));
  es.onopen = () => { status(`in ${room} as ${user} (EventSource)`, 'open'); ready(true); };
  es.addEventListener('message', (e) => show(JSON.parse(e.data)));
  es.onerror = () => status('reconnecting...', 'reconnecting');  // EventSource retries with Last-Event-ID
  return {
    send: (text) => fetch(`/rooms/${encodeURIComponent(room)}/messages`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user, text }),
    }).then((r) => { if (r.status !== 202) status(`send failed: ${r.status}`, 'open'); }),
    close: () => es.close(),
  };
}

function join(r, u, transport) {
  if (conn) conn.close();
  room = r; user = u;
  $('log').replaceChildren();
  status('connecting...', 'connecting');
  conn = transport === 'sse' ? viaEventSource() : viaWebSocket();
}

$('join').addEventListener('submit', (e) => {
  e.preventDefault();
  join($('room').value, $('user').value, $('transport').value);
});
$('say').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $('text').value;
  if (!conn || text.length === 0) return;
  conn.send(text);
  $('text').value = '';
});

const params = new URLSearchParams(location.search);
if (params.get('room') && params.get('user')) {
  $('room').value = params.get('room');
  $('user').value = params.get('user');
  $('transport').value = params.get('transport') === 'sse' ? 'sse' : 'ws';
  join($('room').value, $('user').value, $('transport').value);
}
</script>
</body>
</html>
)html";

}  // namespace chat
