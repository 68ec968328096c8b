import { spawn } from 'node:child_process';
import net from 'node:net';
import { createInterface } from 'node:readline';

/**
 * A listener that never accepts: python3 binds 127.0.0.1 port 0 and calls
 * listen(0), and nothing calls accept(). Linux then completes one handshake
 * (the accept queue holds one) and drops every later SYN, as a server with a
 * full backlog does: those connects neither succeed nor fail, they stall.
 * It lives until the test ends (its stdin closes with the test's cleanup).
 */
const SCRIPT = `
import socket, sys
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(0)
print(s.getsockname()[1], flush=True)
sys.stdin.read()
`;

const START_LIMIT_MS = 5_000;

export async function startStalledListener(t: { after(fn: () => void): void }): Promise<number> {
  const child = spawn('python3', ['-c', SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the python3 listener did not start')), START_LIMIT_MS);
    lines.once('line', (line) => {
      clearTimeout(timer);
      resolve(Number(line));
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the python3 listener exited (${code})`)));
  });
  return port;
}

/** Fills the listener's one-place accept queue, so that every later connect stalls. */
export async function fillBacklog(t: { after(fn: () => void): void }, port: number): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port });
  t.after(() => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
}
