// A real SMTP server for keel::smtp_client's tests: smtp-server, with each received message parsed by
// mailparser and written as one flat JSON file (<out>/<n>.json) the C++ test reads with keel's JSON layer.
// Usage: node server.js PORT MODE OUT_DIR [KEY CERT] [USER PASS [AUTH_METHODS]]
//   MODE: plain (no STARTTLS, no AUTH), starttls (STARTTLS offered, AUTH required after it), tls (implicit TLS)
'use strict';
const fs = require('fs');
const path = require('path');
const { SMTPServer } = require('smtp-server');
const { simpleParser } = require('mailparser');

const [port, mode, out, keyFile, certFile, user, pass, methods] = process.argv.slice(2);
let count = 0;

const addresses = (field) => (field ? field.value.map((a) => ({ name: a.name, address: a.address })) : []);

const options = {
  logger: false,
  secure: mode === 'tls',
  disabledCommands: mode === 'plain' ? ['STARTTLS', 'AUTH'] : [],
  authOptional: !user,
  authMethods: (methods || 'PLAIN,LOGIN').split(','),
  allowInsecureAuth: false,
  size: 10 * 1024 * 1024,
  onAuth(auth, session, callback) {
    if (auth.username === user && auth.password === pass) {
      callback(null, { user: { name: auth.username, method: auth.method } });
    } else {
      callback(new Error('Invalid username or password'));
    }
  },
  onData(stream, session, callback) {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', async () => {
      const raw = Buffer.concat(chunks);
      try {
        const mail = await simpleParser(raw);
        const record = {
          mail_from: session.envelope.mailFrom.address,
          rcpt_to: session.envelope.rcptTo.map((r) => r.address),
          secure: !!session.secure,
          user: session.user ? session.user.name : '',
          auth_method: session.user ? session.user.method : '',
          subject: mail.subject || '',
          from: addresses(mail.from),
          to: addresses(mail.to),
          cc: addresses(mail.cc),
          text: mail.text || '',
          html: typeof mail.html === 'string' ? mail.html : '',
          content_type: (mail.headers.get('content-type') || {}).value || '',
          message_id: mail.messageId || '',
          has_date: !!mail.date,
          has_bcc_header: mail.headers.has('bcc'),
          raw: raw.toString('utf8'),
        };
        count += 1;
        const file = path.join(out, `${count}.json`);
        fs.writeFileSync(`${file}.tmp`, JSON.stringify(record));
        fs.renameSync(`${file}.tmp`, file);
        callback();
      } catch (e) {
        callback(e);
      }
    });
  },
};
if (mode !== 'plain') {
  options.key = fs.readFileSync(keyFile);
  options.cert = fs.readFileSync(certFile);
}
const server = new SMTPServer(options);
server.on('error', (e) => console.error('smtp-server:', e.message));
server.listen(Number(port), '127.0.0.1', () => console.log('ready'));
