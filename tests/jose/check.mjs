// The jose_interop test: for every algorithm keel implements, tokens jose signs verify in keel, and tokens
// keel signs verify in jose (with the PEM public key, and with keel's published JWKS). Keys are generated
// here with the openssl CLI. Usage: node check.mjs JWT_INTEROP_BINARY WORK_DIR
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as jose from 'jose';

const [binary, work] = process.argv.slice(2);
mkdirSync(work, { recursive: true });
const openssl = (...args) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'inherit'] });
const keel = (...args) => execFileSync(binary, args, { encoding: 'utf8' }).trim();

// Keys: one RSA pair for RS256 and PS256, P-256, Ed25519, and random HMAC secrets.
const file = (name) => path.join(work, name);
openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file('rsa.pem'));
openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file('ec.pem'));
openssl('genpkey', '-algorithm', 'ED25519', '-out', file('ed.pem'));
for (const name of ['rsa', 'ec', 'ed']) openssl('pkey', '-in', file(`${name}.pem`), '-pubout', '-out', file(`${name}.pub.pem`));
const secrets = { HS256: 32, HS384: 48, HS512: 64 };
for (const [alg, size] of Object.entries(secrets)) writeFileSync(file(`${alg}.key`), randomBytes(size));

const cases = [
  ['HS256', 'HS256.key', 'HS256.key'], ['HS384', 'HS384.key', 'HS384.key'], ['HS512', 'HS512.key', 'HS512.key'],
  ['RS256', 'rsa.pem', 'rsa.pub.pem'], ['PS256', 'rsa.pem', 'rsa.pub.pem'], ['ES256', 'ec.pem', 'ec.pub.pem'],
  ['EdDSA', 'ed.pem', 'ed.pub.pem'],
];

let failures = 0;
const expect = (what, ok, detail = '') => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ': ' + detail : ''}`);
  if (!ok) failures++;
};

for (const [alg, privateFile, publicFile] of cases) {
  const hmac = alg.startsWith('HS');
  const signingKey = hmac ? new Uint8Array(readFileSync(file(privateFile)))
                          : await jose.importPKCS8(readFileSync(file(privateFile), 'utf8'), alg);
  const verifyingKey = hmac ? signingKey : await jose.importSPKI(readFileSync(file(publicFile), 'utf8'), alg);

  // jose signs, keel verifies (with the public key only).
  const token = await new jose.SignJWT({ name: 'Zoë "Z" Example', roles: ['admin', 'dev'] })
    .setProtectedHeader({ alg, typ: 'JWT' })
    .setSubject('user-42').setIssuer('jose-test').setAudience('keel-test')
    .setIssuedAt().setExpirationTime('10m')
    .sign(signingKey);
  const verdict = keel('verify', alg, file(publicFile), token);
  expect(`${alg}: jose -> keel`, verdict === 'ok user-42 Zoë "Z" Example admin dev', verdict);
  // a tampered payload is refused
  const [h, p, s] = token.split('.');
  const forged = [h, jose.base64url.encode(JSON.stringify({ sub: 'root', exp: 9999999999 })), s].join('.');
  const refused = keel('verify', alg, file(publicFile), forged);
  expect(`${alg}: forged jose token refused by keel`, refused === 'error bad_signature', refused);

  // keel signs, jose verifies: with the PEM public key, and through keel's published JWKS.
  const kid = `kid-${alg}`;
  const ours = keel('sign', alg, file(privateFile), kid);
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(ours, verifyingKey, {
      algorithms: [alg], issuer: 'keel-test', audience: 'jose-test',
    });
    expect(`${alg}: keel -> jose`, payload.sub === 'user-42' && payload.name === 'Zoë "Z" Example' &&
           protectedHeader.kid === kid && protectedHeader.typ === 'JWT', JSON.stringify(payload));
  } catch (e) {
    expect(`${alg}: keel -> jose`, false, String(e));
  }
  if (!hmac) {
    try {
      const jwks = jose.createLocalJWKSet(JSON.parse(keel('jwks', alg, file(privateFile), kid)));
      await jose.jwtVerify(ours, jwks, { algorithms: [alg] });
      expect(`${alg}: keel's JWKS -> jose`, true);
    } catch (e) {
      expect(`${alg}: keel's JWKS -> jose`, false, String(e));
    }
  }
}

if (failures) {
  console.log(`jose_interop: ${failures} failure(s)`);
  process.exit(1);
}
console.log('jose_interop: all checks passed');
