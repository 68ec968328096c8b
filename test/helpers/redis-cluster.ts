// A real Redis Cluster for a test: N masters (no replicas) on free loopback ports, joined with
// `redis-cli --cluster create`, stopped and their files removed after the test. A master can
// be killed and started again on its ports with its nodes.conf (it comes back with its slots,
// its data gone: nothing is persisted), and one slot can be moved to another master while
// traffic flows (the CLUSTER SETSLOT / MIGRATE steps `redis-cli --cluster reshard` takes).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { REDIS_SERVER } from './redis.ts';
import { killAndWait, portPicker } from './service-process.ts';
import { programAvailable } from './programs.ts';

const run = promisify(execFile);
export const REDIS_CLI = process.env.HANDOFF_REDIS_CLI ?? 'redis-cli';
/** How long a master may be silent before the others mark it failed (Redis's default is 15 s). */
const NODE_TIMEOUT_MS = 2_000;
const READY_BOUND_MS = 20_000;

export interface ClusterNode {
  port: number;
  /** The cluster bus port (`--cluster-port`), also found free at run time. */
  busPort: number;
  child: ChildProcess;
}

export interface RedisClusterProcess {
  nodes: ClusterNode[];
  /** `host:port` of every master, the seeds a client starts from. */
  seeds: Array<{ host: string; port: number }>;
  /** The index in `nodes` of the master that serves `slot` now. */
  ownerOf(slot: number): Promise<number>;
  /** SIGKILL of master `index` (its slots have no one to serve them until it is back). */
  kill(index: number): Promise<void>;
  /** Starts master `index` again on its ports; resolves once every master sees the cluster whole. */
  restart(index: number): Promise<void>;
  /** Kills every master and starts them all again (the whole service restarts, its data gone). */
  restartAll(): Promise<void>;
  /** Moves `slot` (and its keys) to master `to`, as a resharding does. */
  moveSlot(slot: number, to: number): Promise<void>;
  /** The slot of `key` (or of a shard channel). */
  slotOf(key: string): Promise<number>;
  /** A plain connection to master `index` (closed after the test). */
  admin(index: number): Redis;
}

export function redisClusterAvailable(): boolean {
  return programAvailable(REDIS_SERVER) && programAvailable(REDIS_CLI);
}

/** Starts an `n`-master cluster; resolves once `cluster info` says ok on every master and all agree on the slots. */
export async function startRedisCluster(t: TestContext, n = 3): Promise<RedisClusterProcess> {
  const dir = mkdtempSync(path.join(tmpdir(), 'handoff-redis-cluster-'));
  const nodes: ClusterNode[] = [];
  const admins = new Map<number, Redis>();
  t.after(async () => {
    for (const client of admins.values()) client.disconnect();
    await Promise.all(nodes.map((node) => killAndWait(node.child)));
    rmSync(dir, { recursive: true, force: true });
  });

  const spawnNode = (port: number, busPort: number) =>
    spawn(
      REDIS_SERVER,
      [
        '--port', String(port),
        '--bind', '127.0.0.1',
        '--cluster-enabled', 'yes',
        '--cluster-port', String(busPort),
        '--cluster-config-file', path.join(dir, `nodes-${port}.conf`),
        '--cluster-node-timeout', String(NODE_TIMEOUT_MS),
        // A dead master stops only its own slots, not the whole cluster (there are no replicas to fail over to).
        '--cluster-require-full-coverage', 'no',
        '--dir', dir,
        '--save', '',
        '--appendonly', 'no',
      ], // prettier-ignore
      { stdio: 'ignore' },
    );

  const free = portPicker();
  for (let i = 0; i < n; i++) {
    // A port found free can be taken before redis-server binds it (by another test's client,
    // say): that node starts again on new ports.
    for (let attempt = 1; ; attempt++) {
      const node = { port: await free(), busPort: await free(), child: undefined! as ChildProcess };
      node.child = spawnNode(node.port, node.busPort);
      try {
        await untilAnswers(node);
        nodes.push(node);
        break;
      } catch (err) {
        await killAndWait(node.child);
        if (attempt === 3) throw err;
      }
    }
  }
  const admin = (index: number): Redis => {
    let client = admins.get(index);
    if (!client) {
      client = new Redis({
        host: '127.0.0.1',
        port: nodes[index]!.port,
        lazyConnect: false,
        maxRetriesPerRequest: 1,
        retryStrategy: () => 100,
        commandTimeout: 2_000,
      });
      client.on('error', () => {});
      admins.set(index, client);
    }
    return client;
  };
  await run(REDIS_CLI, [
    '--cluster', 'create',
    ...nodes.map((node) => `127.0.0.1:${node.port}`),
    '--cluster-replicas', '0',
    '--cluster-yes',
  ], { timeout: READY_BOUND_MS }); // prettier-ignore
  await untilWhole(nodes, admin);

  const idOf = async (index: number) => String(await admin(index).call('CLUSTER', 'MYID'));
  const ownerOf = async (slot: number) => {
    const slots = (await admin(0).call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number]]>;
    for (const [from, to, [, port]] of slots) {
      if (slot >= from && slot <= to) return nodes.findIndex((node) => node.port === Number(port));
    }
    throw new Error(`slot ${slot} has no master`);
  };

  return {
    nodes,
    seeds: nodes.map((node) => ({ host: '127.0.0.1', port: node.port })),
    ownerOf,
    admin,
    slotOf: async (key) => Number(await admin(0).call('CLUSTER', 'KEYSLOT', key)),
    async kill(index) {
      await killAndWait(nodes[index]!.child);
    },
    async restart(index) {
      const node = nodes[index]!;
      await killAndWait(node.child);
      node.child = spawnNode(node.port, node.busPort);
      await untilAnswers(node);
      await untilWhole(nodes, admin);
    },
    async restartAll() {
      await Promise.all(nodes.map((node) => killAndWait(node.child)));
      for (const node of nodes) node.child = spawnNode(node.port, node.busPort);
      await Promise.all(nodes.map((node) => untilAnswers(node)));
      await untilWhole(nodes, admin);
    },
    async moveSlot(slot, to) {
      const from = await ownerOf(slot);
      if (from === to) return;
      const [fromId, toId] = [await idOf(from), await idOf(to)];
      const source = admin(from);
      const target = admin(to);
      await target.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', fromId);
      await source.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', toId);
      for (;;) {
        const keys = (await source.call('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
        if (keys.length === 0) break;
        await source.call('MIGRATE', '127.0.0.1', nodes[to]!.port, '', 0, 5_000, 'KEYS', ...keys);
      }
      // The new owner first, then the old one (which then redirects with MOVED), then everyone else.
      await target.call('CLUSTER', 'SETSLOT', slot, 'NODE', toId);
      await source.call('CLUSTER', 'SETSLOT', slot, 'NODE', toId);
      for (let i = 0; i < nodes.length; i++) {
        if (i !== from && i !== to) await admin(i).call('CLUSTER', 'SETSLOT', slot, 'NODE', toId);
      }
      await untilWhole(nodes, admin);
    },
  };
}

async function untilAnswers(node: ClusterNode): Promise<void> {
  const deadline = performance.now() + READY_BOUND_MS;
  for (;;) {
    try {
      const { stdout } = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(node.port), 'PING'], { timeout: 2_000 });
      if (stdout.trim() === 'PONG') return;
    } catch {
      // not yet
    }
    if (node.child.exitCode !== null) throw new Error(`redis-server exited (${node.child.exitCode}) on ${node.port}`);
    if (performance.now() > deadline) throw new Error(`redis-server did not answer on ${node.port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Every master says cluster_state:ok, knows all of them, none failed, and all agree on who serves each slot. */
async function untilWhole(nodes: ClusterNode[], admin: (index: number) => Redis): Promise<void> {
  const deadline = performance.now() + READY_BOUND_MS;
  let last = '';
  for (;;) {
    try {
      const views: string[] = [];
      let whole = true;
      for (let i = 0; i < nodes.length; i++) {
        const info = String(await admin(i).call('CLUSTER', 'INFO'));
        const table = String(await admin(i).call('CLUSTER', 'NODES'));
        const field = (name: string) => new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1];
        whole &&=
          field('cluster_state') === 'ok' &&
          field('cluster_slots_ok') === '16384' &&
          field('cluster_known_nodes') === String(nodes.length) &&
          !/fail/.test(table);
        views.push(slotView(table));
        last = info;
      }
      if (whole && views.every((v) => v === views[0])) return;
    } catch (err) {
      last = String(err);
    }
    if (performance.now() > deadline) throw new Error(`the cluster did not become whole in time: ${last}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** `CLUSTER NODES` reduced to "port: slot ranges", sorted: what two masters must agree on. */
function slotView(table: string): string {
  return table
    .trim()
    .split('\n')
    .map((line) => {
      const parts = line.split(' ');
      const port = parts[1]!.split('@')[0]!.split(':')[1];
      return `${port}:${parts.slice(8).join(',')}`;
    })
    .sort()
    .join(' ');
}
