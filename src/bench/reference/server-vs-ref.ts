/**
 * The server's CPU per message against the reference C epoll server, measured
 * side by side with the reference load generator (loadgen -S reads each
 * server's CPU from /proc). Servers take turns, round by round (A B C A B C),
 * so drift on this noisy machine hits all alike; the figure is the ratio of
 * medians. Writes results/server-vs-reference.{md,json}.
 *
 *   scripts/reference.sh server-vs-ref [--cases 16:ack,64k:ack,64k:echo] [--rounds 5]
 *        [-c 500] [-d 4] [--servers ref,handoff,single] [--server-workers 2] [--out results] [--pin]
 *
 * --pin (Linux, taskset): every thread of each server on CPU 1, loadgen on CPU 0 (loadgen.ts,
 * PINNED_CPUS says why). A 2-worker server then shares one core between its workers: pinned
 * figures compare CPU per message, not what a second core adds.
 *
 * A server is `ref` (ref_epoll), `node_fast` (../shared/reference/node_fast.mjs on the pinned
 * Node, the hand-tuned single-file floor), or a strategy, optionally with its worker count
 * (`handoff:1,handoff:2`; without one, --server-workers).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseSize, splitList } from '../../options/validators.ts';
import type { Mode, Strategy } from '../../server/options.ts';
import { fmtInt, formatSize } from '../shared/format.ts';
import { startEmbeddedServer, type ServerUnderTest } from '../load/embedded-server.ts';
import { describeEnvironment, environment } from '../shared/system.ts';
import { markdownTable } from '../shared/table.ts';
import { median } from '../shared/stats.ts';
import {
  DEFAULT_LOADGEN,
  DEFAULT_REF_SERVER,
  pinServer,
  PINNED_CPUS,
  requireInstruments,
  runLoadgen,
  saveReferenceReport,
  startListeningProcess,
  startRefServer,
} from './loadgen.ts';

const { values } = parseArgs({
  options: {
    loadgen: { type: 'string', default: DEFAULT_LOADGEN },
    'ref-server': { type: 'string', default: DEFAULT_REF_SERVER },
    cases: { type: 'string', default: '16:ack,64k:ack,64k:echo' },
    servers: { type: 'string', default: 'ref,handoff,single' },
    rounds: { type: 'string', default: '5' },
    clients: { type: 'string', short: 'c', default: '500' },
    duration: { type: 'string', short: 'd', default: '4' },
    'server-workers': { type: 'string', default: '2' },
    'ref-threads': { type: 'string', default: '1' },
    'ref-port': { type: 'string', default: '5799' },
    out: { type: 'string', default: 'results' },
    pin: { type: 'boolean', default: false },
    'node-fast': {
      type: 'string',
      default: fileURLToPath(new URL('../../../../shared/reference/node_fast.mjs', import.meta.url)),
    },
  },
});

requireInstruments('server-vs-ref', [
  { program: values.loadgen, flag: '--loadgen', source: 'loadgen.c' },
  ...(splitList(values.servers).includes('ref')
    ? [{ program: values['ref-server'], flag: '--ref-server', source: 'ref_epoll.c' }]
    : []),
]);

if (splitList(values.servers).includes('node_fast') && !existsSync(values['node-fast'])) {
  process.stderr.write(
    `server-vs-ref: ${values['node-fast']} is missing (../shared/reference/node_fast.mjs; --node-fast PATH)\n`,
  );
  process.exit(2);
}

const cases = splitList(values.cases).map((c) => {
  const [size, mode = 'ack'] = c.split(':');
  return { sizeBytes: parseSize('cases', size), mode: mode as Mode };
});
const serverNames = splitList(values.servers);
const rounds = Number(values.rounds);
const clients = Number(values.clients);
const durationS = Number(values.duration);
const serverWorkers = Number(values['server-workers']);
const refThreads = Number(values['ref-threads']);

interface Row {
  sizeBytes: number;
  mode: Mode;
  server: string;
  round: number;
  msgsPerSec: number;
  serverCpuSPerMillion: number;
  p50Us: number;
  p99Us: number;
  errors: number;
}
const rows: Row[] = [];

/** `handoff:1` -> strategy handoff, 1 worker; `handoff` -> --server-workers. */
function strategyOf(name: string): { strategy: Strategy; workers: number } {
  const [strategy, workers] = name.split(':');
  return { strategy: strategy as Strategy, workers: workers === undefined ? serverWorkers : Number(workers) };
}

function describeServer(name: string): string {
  if (name === 'ref') return `ref_epoll -t ${refThreads}`;
  if (name === 'node_fast') return 'node_fast.mjs (single thread)';
  const { strategy, workers } = strategyOf(name);
  return `bin/handoff serve --quiet --strategy ${strategy}${strategy === 'single' ? '' : ` --workers ${workers}`}`;
}

for (const mode of [...new Set(cases.map((c) => c.mode))]) {
  // One instance of each server per mode, kept for every size and round of that mode.
  const started: Array<{ name: string; port: number; pid: number; stop: () => Promise<void> }> = [];
  try {
    for (const name of serverNames) {
      if (name === 'ref') {
        const port = Number(values['ref-port']);
        started.push({ name, ...(await startRefServer(values['ref-server'], port, refThreads, mode === 'echo')) });
      } else if (name === 'node_fast') {
        const port = Number(values['ref-port']) + 1;
        const args = [values['node-fast'], '--host', '127.0.0.1', '--port', String(port), '--quiet'];
        const server = await startListeningProcess(
          process.execPath,
          mode === 'echo' ? [...args, '--echo'] : args,
          port,
          'node_fast.mjs',
        );
        started.push({ name, ...server });
      } else {
        const s: ServerUnderTest = await startEmbeddedServer({
          ...strategyOf(name),
          mode,
          headerBytes: 64,
          maxConnections: clients * 2 + 16,
        });
        started.push({ name, port: s.port, pid: s.pid!, stop: () => s.stop() });
      }
      if (values.pin) pinServer(started.at(-1)!.pid);
    }
    for (let round = 1; round <= rounds; round++) {
      for (const c of cases.filter((x) => x.mode === mode)) {
        for (const s of started) {
          const r = await runLoadgen(
            values.loadgen,
            {
              port: s.port,
              clients,
              sizeBytes: c.sizeBytes,
              durationS,
              warmupS: 1,
              depth: 1,
              threads: 1,
              echo: mode === 'echo',
              serverPids: [s.pid],
            },
            values.pin,
          );
          rows.push({
            sizeBytes: c.sizeBytes,
            mode,
            server: s.name,
            round,
            msgsPerSec: r.msgs_per_s,
            serverCpuSPerMillion: r.server_cpu_s_per_million_msgs,
            p50Us: r.p50_us,
            p99Us: r.p99_us,
            errors: r.errors,
          });
          process.stderr.write(
            `round ${round} ${formatSize(c.sizeBytes)} ${mode} ${s.name}: ${fmtInt(r.msgs_per_s)} msgs/s, ${r.server_cpu_s_per_million_msgs.toFixed(2)} CPU-s/M msgs\n`,
          );
        }
      }
    }
  } finally {
    for (const s of started) await s.stop();
  }
}

const summary = cases.flatMap((c) => {
  const of = (server: string) =>
    rows.filter((r) => r.sizeBytes === c.sizeBytes && r.mode === c.mode && r.server === server);
  const refCpu = median(of('ref').map((r) => r.serverCpuSPerMillion));
  return serverNames.map((server) => {
    const mine = of(server);
    const cpu = median(mine.map((r) => r.serverCpuSPerMillion));
    return {
      sizeBytes: c.sizeBytes,
      mode: c.mode,
      server,
      description: describeServer(server),
      medianMsgsPerSec: median(mine.map((r) => r.msgsPerSec)),
      medianCpuSPerMillion: cpu,
      minCpu: Math.min(...mine.map((r) => r.serverCpuSPerMillion)),
      maxCpu: Math.max(...mine.map((r) => r.serverCpuSPerMillion)),
      ratioToRef: Number.isFinite(refCpu) && refCpu > 0 ? cpu / refCpu : null,
      errors: mine.reduce((a, r) => a + r.errors, 0),
    };
  });
});

const env = environment();
const md = [
  '# Server CPU per message: handoff vs the reference C server',
  '',
  `loadgen (C, closed loop) with ${clients} connections, depth 1, ${durationS} s per measurement after 1 s warm-up, ` +
    `${rounds} rounds with the servers taking turns. Server CPU from /proc (loadgen -S), all threads of the process. ` +
    (values.pin
      ? `Pinned (--pin): each server on CPU ${PINNED_CPUS.server}, loadgen on CPU ${PINNED_CPUS.tool}. `
      : '') +
    `${describeEnvironment(env)}.`,
  '',
  `Command: \`scripts/reference.sh server-vs-ref --cases ${values.cases} --servers ${values.servers} --rounds ${rounds} -c ${clients} -d ${durationS} --server-workers ${serverWorkers}${values.pin ? ' --pin' : ''}\``,
  '',
  markdownTable(
    ['size', 'mode', 'server', 'median msgs/s', 'median CPU-s / M msgs', 'range', 'ratio to ref (CPU/msg)', 'errors'],
    summary.map((s) => [
      formatSize(s.sizeBytes),
      s.mode,
      s.description,
      fmtInt(s.medianMsgsPerSec),
      s.medianCpuSPerMillion.toFixed(2),
      `${s.minCpu.toFixed(2)}–${s.maxCpu.toFixed(2)}`,
      s.ratioToRef === null ? '-' : `${s.ratioToRef.toFixed(2)}×`,
      String(s.errors),
    ]),
    new Set([3, 4, 6, 7]),
  ),
  '',
  '## Every measurement',
  '',
  markdownTable(
    ['round', 'size', 'mode', 'server', 'msgs/s', 'CPU-s / M msgs', 'p50 µs', 'p99 µs', 'errors'],
    rows.map((r) => [
      String(r.round),
      formatSize(r.sizeBytes),
      r.mode,
      r.server,
      fmtInt(r.msgsPerSec),
      r.serverCpuSPerMillion.toFixed(2),
      r.p50Us.toFixed(0),
      r.p99Us.toFixed(0),
      String(r.errors),
    ]),
    new Set([0, 4, 5, 6, 7, 8]),
  ),
  '',
].join('\n');
await saveReferenceReport(values.out, 'server-vs-reference', md, { environment: env, options: values, summary, rows });
