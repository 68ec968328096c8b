/**
 * Memory after load (issue 8): does the server give memory back once the load is gone?
 * Starts `bin/handoff serve --mode echo` (2 workers), samples its RSS when idle, puts load on
 * it (the bench against it: 64 KiB and 1 KiB echo; then vanishing clients: connect, send a
 * 64 KiB frame, go away without reading), and samples RSS again once it has been idle for a
 * while. One JSON line per variant, then a markdown table.
 *
 *   node scripts/memory-after-load.ts [--vanishing 10000] [--bursts 1] [--idle 12] [variant=ENV=VALUE,... ...]
 *
 * --bursts N repeats the vanishing burst N times, RSS once idle after each: whether it keeps growing or levels off.
 *
 * A variant is a name and the environment the server runs with (`base=` is the server as is),
 * or a name and another checkout's bin/handoff (`before@/work/main/bin/handoff`), so that
 * two builds are measured one after the other in one run.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodeFrame } from '../src/protocol/index.ts';

const BIN = fileURLToPath(new URL('../bin/handoff', import.meta.url));
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    vanishing: { type: 'string', default: '10000' },
    bursts: { type: 'string', default: '1' },
    idle: { type: 'string', default: '12' },
    clients: { type: 'string', default: '200' },
    'server-args': { type: 'string', default: '' },
  },
});
const VANISHING = Number(values.vanishing);
const IDLE_S = Number(values.idle);
const BURSTS = Number(values.bursts);
const variants = (positionals.length > 0 ? positionals : ['base=']).map((v) => {
  if (/^[^=]*@/.test(v)) {
    const [name, bin] = v.split(/@(.*)/s);
    return { name: name!, env: {} as Record<string, string>, bin: bin! };
  }
  const [name, env = ''] = v.split(/=(.*)/s);
  const vars = Object.fromEntries(
    env
      .split(',')
      .filter(Boolean)
      .map((kv) => kv.split('=') as [string, string]),
  );
  return { name: name!, env: vars, bin: BIN };
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssMB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

/** Waits `seconds` of idleness and returns the RSS at its end (MB). */
async function idleRss(pid: number, seconds: number): Promise<number> {
  await sleep(seconds * 1000);
  return rssMB(pid);
}

/** `count` clients, `batch` at a time: connect, send one 64 KiB frame, close without reading the echo. */
async function vanishingClients(port: number, count: number, batch = 250): Promise<void> {
  const frame = encodeFrame(Buffer.alloc(64 * 1024, 0x61), 64);
  for (let done = 0; done < count; done += batch) {
    await Promise.all(
      Array.from(
        { length: Math.min(batch, count - done) },
        () =>
          new Promise<void>((resolve) => {
            const s = net.connect({ port, host: '127.0.0.1' }, () =>
              s.write(frame, () => setTimeout(() => s.destroy(), 20)),
            );
            s.on('error', () => {});
            s.on('close', () => resolve());
          }),
      ),
    );
  }
}

const rows: Array<Record<string, unknown>> = [];
for (const variant of variants) {
  const extra = values['server-args'] ? values['server-args'].split(' ') : [];
  const server = spawn(
    variant.bin,
    ['serve', '--port', '0', '--json', '--quiet', '--mode', 'echo', '--workers', '2', ...extra],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, ...variant.env },
    },
  );
  let out = '';
  server.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  let port = 0;
  while (!port) {
    if (server.exitCode !== null) throw new Error(`server ${variant.name} exited with ${server.exitCode}`);
    await sleep(50);
    port = Number(/"event":"listening"[^\n]*"port":(\d+)/.exec(out)?.[1] ?? 0);
  }
  const pid = server.pid!;
  const row: Record<string, unknown> = { variant: variant.name, env: variant.env, bin: variant.bin };
  row.startMB = await idleRss(pid, 2);
  const bench = spawnSync(
    BIN,
    [
      'bench',
      '--target',
      `127.0.0.1:${port}`,
      '--mode',
      'echo',
      '--clients',
      values.clients,
      '--sizes',
      '64k,1k',
      '--duration',
      '4',
      '--warmup',
      '1',
      '--no-save',
      '--no-progress',
      '--workers',
      '1',
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (bench.status !== 0) throw new Error(`bench failed: ${bench.stderr}`);
  row.benchPeakMB = rssMB(pid);
  row.afterBenchIdleMB = await idleRss(pid, IDLE_S);
  const afterEachBurst: number[] = [];
  for (let burst = 0; burst < BURSTS; burst++) {
    await vanishingClients(port, VANISHING);
    row.vanishingPeakMB = Math.max(Number(row.vanishingPeakMB ?? 0), rssMB(pid));
    afterEachBurst.push(Math.round(await idleRss(pid, IDLE_S)));
  }
  row.afterVanishingIdleMB = afterEachBurst.at(-1);
  row.afterEachBurstMB = afterEachBurst;
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
  for (const k of Object.keys(row)) if (typeof row[k] === 'number') row[k] = Math.round(row[k] as number);
  console.log(JSON.stringify(row));
  rows.push(row);
}

console.log(
  `\n${VANISHING.toLocaleString('en-US')} vanishing clients, bench ${values.clients} clients 64k and 1k echo, RSS in MB after ${IDLE_S} s idle\n`,
);
console.log(
  '| variant | server | at start | bench peak | idle after bench | vanishing peak | idle after vanishing (each burst) |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  const env =
    Object.entries(r.env as Record<string, string>)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ') || String(r.bin).replace(/^.*\/(wt-[^/]+|main)\/bin\/handoff$/, '$1');
  console.log(
    `| ${r.variant} | ${env} | ${r.startMB} | ${r.benchPeakMB} | ${r.afterBenchIdleMB} | ${r.vanishingPeakMB} | ${(r.afterEachBurstMB as number[]).join(' -> ')} |`,
  );
}
