// A real redis-server for a test: started on a free loopback port, stopped after the test.
// Debian's package (.ci/run installs it). Missing, the tests that need it are skipped,
// except where HANDOFF_REQUIRE_SERVICES is set (CI), where that is a failure.
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import type { TestContext } from 'node:test';
import { programAvailable } from './programs.ts';

export const REDIS_SERVER = process.env.HANDOFF_REDIS_SERVER ?? 'redis-server';

/** Whether redis-server can run here; when it cannot and CI requires it, throws. */
export function redisAvailable(): boolean {
  return programAvailable(REDIS_SERVER);
}

/** A port nothing listens on right now (the kernel's choice for port 0). */
export async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

export interface RedisProcess {
  port: number;
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Resolves once the server answers PING. `port` lets a test start it again where it was. */
export async function startRedis(t: TestContext, port?: number): Promise<RedisProcess> {
  const at = port ?? (await freePort());
  const child = spawn(REDIS_SERVER, ['--port', String(at), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  };
  t.after(stop);
  const deadline = performance.now() + 10_000;
  for (;;) {
    if (await ping(at)) break;
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode}) on port ${at}`);
    if (performance.now() > deadline) throw new Error(`redis-server did not answer on port ${at} in 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port: at, url: `redis://127.0.0.1:${at}`, child, stop };
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d: Buffer) => done(d.toString().startsWith('+PONG')));
    socket.setTimeout(1000, () => done(false));
  });
}
