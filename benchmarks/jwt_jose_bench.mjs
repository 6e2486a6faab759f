// jose's side of benchmarks/jwt.sh: sign and verify (jwtVerify with issuer and audience checks) of the same
// claims as jwt_bench.cpp, per algorithm, on this machine's Node. Run from a directory where jose is installed.
import * as jose from 'jose';

const now = Math.floor(Date.now() / 1000);
const claims = {
  sub: '8c2f6d0e-5b1a-4c39-9f0b-2d7e4a1c9b33', username: 'alice', roles: ['user', 'admin'],
  iat: now, exp: now + 3600, iss: 'https://auth.example.com', aud: 'https://api.example.com',
};
const algs = ['HS256', 'HS384', 'HS512', 'RS256', 'PS256', 'ES256', 'EdDSA'];

async function timeIt(fn, minMs = 1000) {
  for (let i = 0; i < 200; i++) await fn();  // warm up
  let n = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  while (elapsed < BigInt(minMs) * 1000000n) {
    for (let i = 0; i < 100; i++) await fn();
    n += 100;
    elapsed = process.hrtime.bigint() - start;
  }
  return Number(elapsed) / n / 1000;  // microseconds per operation
}

console.log(`jose ${JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(new URL('./node_modules/jose/package.json', import.meta.url), 'utf8'))).version}, Node ${process.version}`);
console.log('alg      sign us/op   verify us/op');
for (const alg of algs) {
  const { privateKey, publicKey } = alg.startsWith('HS')
    ? { privateKey: crypto.getRandomValues(new Uint8Array(Number(alg.slice(2)) / 8)), publicKey: null }
    : await jose.generateKeyPair(alg);
  const verifyKey = publicKey ?? privateKey;
  const sign = () => new jose.SignJWT(claims).setProtectedHeader({ alg, typ: 'JWT', kid: 'bench' }).sign(privateKey);
  const token = await sign();
  const verify = () => jose.jwtVerify(token, verifyKey, {
    algorithms: [alg], issuer: claims.iss, audience: claims.aud,
  });
  const s = await timeIt(sign);
  const v = await timeIt(verify);
  console.log(`${alg.padEnd(8)} ${s.toFixed(2).padStart(11)} ${v.toFixed(2).padStart(14)}`);
}
