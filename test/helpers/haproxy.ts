// A real HAProxy for a test (Debian's package; .ci/run installs it): a config written
// to a temp dir, `haproxy -f cfg -db` on free loopback ports, stopped after the test.
// Missing, the tests that need it are skipped, unless HANDOFF_REQUIRE_SERVICES is set (CI).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { freePort } from './redis.ts';
import { programAvailable } from './programs.ts';

/** Debian installs it in /usr/sbin, which is not on every user's PATH. */
export const HAPROXY =
  process.env.HANDOFF_HAPROXY ?? (existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy');

export function haproxyAvailable(): boolean {
  return programAvailable(HAPROXY, ['-v']);
}

/** One TCP frontend to one backend server, sending the PROXY header `send` (send-proxy or send-proxy-v2). */
export interface Route {
  backendPort: number;
  send: 'send-proxy' | 'send-proxy-v2';
}

/** Starts HAProxy with one frontend per route; resolves with the frontend ports once all accept. */
export async function startHaproxy(t: TestContext, routes: readonly Route[]): Promise<number[]> {
  const ports = await Promise.all(routes.map(() => freePort()));
  const dir = mkdtempSync(join(tmpdir(), 'handoff-haproxy-'));
  const sections = routes.map(
    (route, i) => `
frontend in${i}
  bind 127.0.0.1:${ports[i]}
  default_backend out${i}
backend out${i}
  server handoff 127.0.0.1:${route.backendPort} ${route.send}`,
  );
  const config = join(dir, 'haproxy.cfg');
  writeFileSync(
    config,
    `global
  maxconn 200
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
${sections.join('\n')}
`,
  );
  const child = spawn(HAPROXY, ['-f', config, '-db'], { stdio: 'ignore' });
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const deadline = performance.now() + 10_000;
  for (const port of ports) {
    while (!(await accepts(port))) {
      if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode})`);
      if (performance.now() > deadline) throw new Error(`haproxy did not listen on ${port} in 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return ports;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('error', () => resolve(false));
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
  });
}
