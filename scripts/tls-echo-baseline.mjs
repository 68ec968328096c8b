// What Node's TLS costs on its own: a bare tls.Server echo (socket.pipe(socket)) in a child process,
// one client keeping 4 frames of 64 KiB in flight; prints the server's CPU per message.
// Usage: node scripts/tls-echo-baseline.mjs   (needs openssl for a throw-away certificate)
import tls from 'node:tls'; import fs from 'node:fs'; import { fork, execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os'; import { join } from 'node:path';
const dir = process.env.TLS_BASELINE_DIR ?? fs.mkdtempSync(join(tmpdir(), 'tls-baseline-'));
const CERT = join(dir, 'cert.pem'), KEY = join(dir, 'key.pem');
if (!process.env.TLS_BASELINE_DIR) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', KEY, '-out', CERT], { stdio: 'ignore' });
}
const N = 2000, SIZE = 65536 + 64;
if (process.argv[2] === 'server') {
  const srv = tls.createServer({cert: fs.readFileSync(CERT), key: fs.readFileSync(KEY)}, (s) => s.pipe(s));
  srv.listen(0, () => process.send(srv.address().port));
  process.on('message', () => { const u = process.cpuUsage(); process.send((u.user + u.system) / 1000); });
} else {
  const child = fork(new URL(import.meta.url).pathname, ['server'], { env: { ...process.env, TLS_BASELINE_DIR: dir } });
  const port = await new Promise(r => child.once('message', r));
  const c = tls.connect({port, ca: fs.readFileSync(CERT), servername: 'localhost'});
  await new Promise(r => c.once('secureConnect', r));
  const cpu0 = await new Promise(r => { child.once('message', r); child.send('cpu'); });
  const buf = Buffer.alloc(SIZE, 97); let got = 0; const t0 = performance.now();
  let sent = 0; const send = () => { while (sent < N && sent - Math.floor(got / SIZE) < 4) { c.write(buf); sent++; } };
  c.on('data', d => { got += d.length; if (got >= N * SIZE) done(); else send(); }); send();
  async function done() { const cpu1 = await new Promise(r => { child.once('message', r); child.send('cpu'); }); console.log('bare node tls echo: server CPU µs per 64 KiB msg', ((cpu1 - cpu0) * 1000 / N).toFixed(1), 'wall ms', (performance.now() - t0).toFixed(0)); child.kill(); fs.rmSync(dir, { recursive: true, force: true }); process.exit(0); }
}
