/**
 * The bus between the chat bench's handoff servers (`--bus`), started here on
 * free loopback ports and stopped after the run: one redis-server, a 3-master
 * Redis Cluster (joined with `redis-cli --cluster create`, no replicas), or a
 * 3-node NATS cluster (each node routed to the others). Each is seen as the
 * `--bus` URL handoff server i is given and the processes whose CPU it costs.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { EmbeddedServerError } from '../../../protocol/index.ts';
import type { BenchBus } from '../../results/chat-result.ts';
import { findProgram, freePort, startListeningProgram, type StartedProcess } from '../processes.ts';

const run = promisify(execFile);

/** Nodes of the clusters the bench starts (the size the issue and docs/several-servers.md measure). */
const CLUSTER_NODES = 3;
const READY_BOUND_MS = 20_000;

export interface BusPrograms {
  redisServer: string;
  redisCli: string;
  natsServer: string;
}

export interface BusService {
  readonly bus: Exclude<BenchBus, 'local'>;
  /** The `--bus` URL of handoff server `index` (NATS: one node each, round-robin, so deliveries cross routes). */
  urlFor(index: number): string;
  readonly processes: Array<{ name: string; pid: number }>;
  stop(): Promise<void>;
}

/** Starts `bus`; a failure part-way stops what was started. */
export async function startBusService(bus: Exclude<BenchBus, 'local'>, programs: BusPrograms): Promise<BusService> {
  const started: StartedProcess[] = [];
  let dir: string | null = null;
  const stopAll = async () => {
    await Promise.all(started.map((p) => p.stop()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (bus === 'redis') {
      started.push(await startRedisNode(programs.redisServer, 'redis-server', []));
      const url = `redis://127.0.0.1:${started[0]!.port}`;
      return service(bus, started, () => url, stopAll);
    }
    if (bus === 'redis-cluster') {
      dir = mkdtempSync(path.join(tmpdir(), 'handoff-bench-cluster-'));
      await startRedisCluster(programs, dir, started);
      const url = `redis-cluster://${started.map((p) => `127.0.0.1:${p.port}`).join(',')}`;
      return service(bus, started, () => url, stopAll);
    }
    await startNatsCluster(programs.natsServer, started);
    return service(bus, started, (i) => `nats://127.0.0.1:${started[i % started.length]!.port}`, stopAll);
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function service(
  bus: BusService['bus'],
  started: StartedProcess[],
  urlFor: (index: number) => string,
  stop: () => Promise<void>,
): BusService {
  return { bus, urlFor, processes: started.map((p) => ({ name: p.name, pid: p.pid })), stop };
}

/** A redis-server on a free loopback port, no persistence, loopback only; `more` adds flags (a cluster's, a limit). */
export function startRedisNode(program: string, name: string, more: string[]): Promise<StartedProcess> {
  return startListeningProgram(name, program, (port) => [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--save', '',
    '--appendonly', 'no',
    '--loglevel', 'warning',
    ...more,
  ]); // prettier-ignore
}

async function startRedisCluster(programs: BusPrograms, dir: string, started: StartedProcess[]): Promise<void> {
  const cli = findProgram(programs.redisCli);
  if (!cli) throw new EmbeddedServerError(`cannot find ${programs.redisCli} (install it, or give its path)`);
  for (let i = 0; i < CLUSTER_NODES; i++) {
    // The cluster bus port would be port + 10000 by default: found free instead.
    const busPort = await freePort();
    started.push(
      await startRedisNode(programs.redisServer, `redis-cluster ${i + 1}`, [
        '--cluster-enabled', 'yes',
        '--cluster-port', String(busPort),
        '--cluster-config-file', path.join(dir, `nodes-${i}.conf`),
        '--cluster-node-timeout', '5000',
        '--dir', dir,
      ]), // prettier-ignore
    );
  }
  const nodes = started.map((p) => `127.0.0.1:${p.port}`);
  try {
    await run(cli, ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: READY_BOUND_MS,
    });
  } catch (err) {
    throw new EmbeddedServerError(`redis-cli --cluster create failed: ${(err as Error).message}`, { cause: err });
  }
  await untilClusterOk(cli, started);
}

/** Every master says cluster_state:ok and knows all the others (the slots are then served everywhere). */
async function untilClusterOk(cli: string, nodes: StartedProcess[]): Promise<void> {
  const deadline = performance.now() + READY_BOUND_MS;
  let last = '';
  for (;;) {
    let ok = 0;
    for (const node of nodes) {
      try {
        const { stdout } = await run(cli, ['-h', '127.0.0.1', '-p', String(node.port), 'CLUSTER', 'INFO'], {
          timeout: 2_000,
        });
        last = stdout.replace(/\r/g, '').split('\n').slice(0, 3).join(' ');
        if (/cluster_state:ok/.test(stdout) && new RegExp(`cluster_known_nodes:${nodes.length}\\b`).test(stdout)) ok++;
      } catch (err) {
        last = (err as Error).message;
      }
    }
    if (ok === nodes.length) return;
    if (performance.now() > deadline) throw new EmbeddedServerError(`the Redis Cluster did not form in time: ${last}`);
    await sleep(100);
  }
}

async function startNatsCluster(program: string, started: StartedProcess[]): Promise<void> {
  const clusterPorts: number[] = [];
  const monitorPorts: number[] = [];
  for (let i = 0; i < CLUSTER_NODES; i++) {
    clusterPorts.push(await freePort());
    monitorPorts.push(await freePort());
  }
  for (let i = 0; i < CLUSTER_NODES; i++) {
    const routes = clusterPorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`);
    started.push(
      await startListeningProgram(`nats ${i + 1}`, program, (port) => [
        '-a', '127.0.0.1',
        '-p', String(port),
        '-m', String(monitorPorts[i]),
        '-n', `handoff-bench-${i}`,
        '--cluster_name', 'handoff-bench',
        '--cluster', `nats://127.0.0.1:${clusterPorts[i]}`,
        '--routes', routes.join(','),
      ]), // prettier-ignore
    );
  }
  await untilRouted(monitorPorts);
}

/**
 * Each node's monitoring endpoint (`/routez`) lists a route to every other node.
 * `stillRunning` (called before each look) throws when a node has exited, so a
 * dead node fails the wait at once instead of at the deadline (the tests' helper).
 */
export async function untilRouted(monitorPorts: number[], stillRunning: () => void = () => {}): Promise<void> {
  const deadline = performance.now() + READY_BOUND_MS;
  let last = '';
  for (;;) {
    let routed = 0;
    for (const port of monitorPorts) {
      stillRunning();
      try {
        const response = await fetch(`http://127.0.0.1:${port}/routez`, { signal: AbortSignal.timeout(1_000) });
        const routez = (await response.json()) as { num_routes?: number };
        last = `node monitored on ${port}: ${routez.num_routes} routes`;
        if (routez.num_routes === monitorPorts.length - 1) routed++;
      } catch (err) {
        last = `node monitored on ${port}: ${String(err)}`;
      }
    }
    if (routed === monitorPorts.length) return;
    if (performance.now() > deadline) throw new EmbeddedServerError(`the NATS cluster did not form in time: ${last}`);
    await sleep(50);
  }
}
