/**
 * What a refusal costs the server (issue 14): a plain SERVER_FULL against one sent through
 * TLS (the refused client completes its handshake first). A full server (--max-connections 1,
 * one client held) takes refused clients in two loads, plain and TLS taking turns each round:
 * - paced: `--rate` refusals a second for `--seconds`: the server's CPU per refusal;
 * - flood: `--loops` clients reconnecting as fast as they can: the share of a core the server
 *   spends, and how many of the refused could read their SERVER_FULL (TLS refusal handshakes
 *   are capped per second, so past the cap a TLS client is closed without a word).
 * Server CPU is read from /proc/<pid>/stat (the whole process), less its idle CPU.
 *
 *   node scripts/tls-refusal-cost.ts [--rounds 5] [--seconds 3] [--rate 50] [--loops 16] [--json FILE]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { throwawayCertificate } from '../src/bench/load/throwaway-cert.ts';
import { encodeFrame } from '../src/protocol/index.ts';

const BIN = fileURLToPath(new URL('../bin/handoff', import.meta.url));
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '3' },
    rate: { type: 'string', default: '50' },
    loops: { type: 'string', default: '16' },
    json: { type: 'string' },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const RATE = Number(values.rate);
const LOOPS = Number(values.loops);
const TICKS_PER_S = 100; // USER_HZ on Linux
const cert = throwawayCertificate();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The process's CPU seconds so far (user + system). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

type Side = 'plain' | 'tls';

function connectTo(port: number, side: Side): net.Socket {
  if (side === 'plain') return net.connect({ port, host: '127.0.0.1' });
  return tls.connect({ port, host: '127.0.0.1', ca: cert.ca, servername: 'localhost' });
}

/** One client: connects, reads until the server closes. True if it read a SERVER_FULL frame. */
function refusedClient(port: number, side: Side): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connectTo(port, side);
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(chunks).subarray(64).toString().startsWith('!ERROR SERVER_FULL')));
    setTimeout(() => socket.destroy(), 5000).unref();
  });
}

async function startServer(side: Side) {
  const args = ['serve', '--port', '0', '--json', '--quiet', '--workers', '1', '--max-connections', '1'];
  if (side === 'tls') args.push('--tls-cert', cert.certFile, '--tls-key', cert.keyFile);
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  for (;;) {
    const m = /"event":"listening".*?"port":(\d+)/.exec(out);
    if (m) {
      const port = Number(m[1]);
      // Hold the one place: every later client is refused.
      const held = connectTo(port, side);
      await once(held, side === 'tls' ? 'secureConnect' : 'connect');
      held.write(encodeFrame(Buffer.from('hold'), 64));
      await once(held, 'data');
      return { child, port, held };
    }
    if (child.exitCode !== null) throw new Error('the server exited');
    await sleep(20);
  }
}

async function measure(side: Side) {
  const { child, port, held } = await startServer(side);
  const pid = child.pid!;
  await sleep(500);
  let cpu = cpuSeconds(pid);
  await sleep(SECONDS * 1000);
  const idleCpuPerS = (cpuSeconds(pid) - cpu) / SECONDS;

  // Paced.
  const paced: Array<Promise<boolean>> = [];
  cpu = cpuSeconds(pid);
  const start = performance.now();
  for (let i = 0; i < RATE * SECONDS; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    paced.push(refusedClient(port, side));
  }
  const pacedReadable = (await Promise.all(paced)).filter(Boolean).length;
  const pacedWall = (performance.now() - start) / 1000;
  const pacedCpu = cpuSeconds(pid) - cpu - idleCpuPerS * pacedWall;

  // Flood.
  let readable = 0;
  let silent = 0;
  const until = performance.now() + SECONDS * 1000;
  cpu = cpuSeconds(pid);
  const floodStart = performance.now();
  await Promise.all(
    Array.from({ length: LOOPS }, async () => {
      while (performance.now() < until) {
        if (await refusedClient(port, side)) readable++;
        else silent++;
      }
    }),
  );
  const floodWall = (performance.now() - floodStart) / 1000;
  const floodCpuShare = (cpuSeconds(pid) - cpu) / floodWall - idleCpuPerS;
  held.destroy();
  child.kill();
  await once(child, 'exit');
  return {
    side,
    pacedRefusals: paced.length,
    pacedReadable,
    cpuUsPerRefusal: (pacedCpu / paced.length) * 1e6,
    floodRefusalsPerS: (readable + silent) / floodWall,
    floodReadablePerS: readable / floodWall,
    floodServerCpuShare: floodCpuShare,
    idleCpuShare: idleCpuPerS,
  };
}

const rows: Array<Awaited<ReturnType<typeof measure>> & { round: number }> = [];
for (let round = 1; round <= ROUNDS; round++) {
  for (const side of ['plain', 'tls'] as const) {
    const row = { round, ...(await measure(side)) };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const med = (side: Side, key: keyof (typeof rows)[number]) =>
  median(rows.filter((r) => r.side === side).map((r) => Number(r[key])));
console.log(
  `\n| refusal | CPU-µs per refusal (paced ${RATE}/s) | readable (paced) | flood: refusals/s | flood: readable/s | flood: server CPU (cores) |`,
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const side of ['plain', 'tls'] as const) {
  console.log(
    `| ${side} | ${med(side, 'cpuUsPerRefusal').toFixed(0)} | ${med(side, 'pacedReadable')}/${med(side, 'pacedRefusals')} | ${med(side, 'floodRefusalsPerS').toFixed(0)} | ${med(side, 'floodReadablePerS').toFixed(0)} | ${med(side, 'floodServerCpuShare').toFixed(2)} |`,
  );
}
console.log(
  `\nTLS / plain CPU per refusal: ${(med('tls', 'cpuUsPerRefusal') / med('plain', 'cpuUsPerRefusal')).toFixed(1)}x`,
);
if (values.json)
  writeFileSync(
    values.json,
    JSON.stringify({ rounds: ROUNDS, seconds: SECONDS, rate: RATE, loops: LOOPS, rows }, null, 2),
  );
