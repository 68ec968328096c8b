// A real NATS cluster for a test: N nats-server processes on free loopback ports, each routed
// to all the others (`--cluster`, `--routes`), stopped after the test. A node can be killed
// and started again on its ports; the helper waits until every node has its routes again.
// Debian's nats-server (.ci/run installs it); missing, the tests that need it are skipped,
// except where HANDOFF_REQUIRE_SERVICES is set (CI).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import type { TestContext } from 'node:test';
import { killAndWait, portPicker } from './service-process.ts';
import { programAvailable } from './programs.ts';
import { untilRouted as untilBusRouted } from '../../src/bench/load/chat/bus-services.ts';

export const NATS_SERVER = process.env.HANDOFF_NATS_SERVER ?? findNatsServer();

function findNatsServer(): string {
  // Debian installs it in /usr/sbin, which is not on every PATH.
  for (const candidate of ['nats-server', '/usr/sbin/nats-server', '/usr/local/sbin/nats-server']) {
    try {
      execFileSync(candidate, ['--version'], { stdio: 'ignore' });
      return candidate;
    } catch {
      // next
    }
  }
  return 'nats-server';
}

export function natsAvailable(): boolean {
  return programAvailable(NATS_SERVER);
}

export interface NatsNode {
  port: number;
  clusterPort: number;
  monitorPort: number;
  child: ChildProcess;
}

export interface NatsClusterProcess {
  nodes: NatsNode[];
  /** `nats://127.0.0.1:port` of node `index`. */
  url(index: number): string;
  kill(index: number): Promise<void>;
  /** Starts node `index` again on its ports; resolves once every node is routed to every other. */
  restart(index: number): Promise<void>;
  /** Kills every node and starts them all again. */
  restartAll(): Promise<void>;
}

/** Starts `n` routed nodes; resolves once each has a route to every other. */
export async function startNatsCluster(t: TestContext, n = 3): Promise<NatsClusterProcess> {
  const nodes: NatsNode[] = [];
  t.after(() => Promise.all(nodes.map((node) => killAndWait(node.child))));
  const free = portPicker();
  const spawnNode = (index: number) => {
    const node = nodes[index]!;
    const routes = nodes.filter((_, j) => j !== index).map((other) => `nats://127.0.0.1:${other.clusterPort}`);
    return spawn(
      NATS_SERVER,
      [
        '-a', '127.0.0.1',
        '-p', String(node.port),
        '-m', String(node.monitorPort),
        '-n', `handoff-test-${index}`,
        '--cluster_name', 'handoff-test',
        '--cluster', `nats://127.0.0.1:${node.clusterPort}`,
        '--routes', routes.join(','),
      ], // prettier-ignore
      { stdio: 'ignore' },
    );
  };
  // A port found free can be taken before the server binds it (by another test's client, say):
  // then the whole cluster starts again on new ports, since each node names the others' ports.
  for (let attempt = 1; ; attempt++) {
    nodes.length = 0;
    for (let i = 0; i < n; i++) {
      nodes.push({ port: await free(), clusterPort: await free(), monitorPort: await free(), child: undefined! });
    }
    for (let i = 0; i < n; i++) nodes[i]!.child = spawnNode(i);
    try {
      await untilRouted(nodes);
      break;
    } catch (err) {
      await Promise.all(nodes.map((node) => killAndWait(node.child)));
      if (attempt === 3) throw err;
    }
  }
  return {
    nodes,
    url: (index) => `nats://127.0.0.1:${nodes[index]!.port}`,
    async kill(index) {
      await killAndWait(nodes[index]!.child);
    },
    async restart(index) {
      await killAndWait(nodes[index]!.child);
      nodes[index]!.child = spawnNode(index);
      await untilRouted(nodes);
    },
    async restartAll() {
      await Promise.all(nodes.map((node) => killAndWait(node.child)));
      for (let i = 0; i < nodes.length; i++) nodes[i]!.child = spawnNode(i);
      await untilRouted(nodes);
    },
  };
}

/** Every node routed to every other (the bench's wait, src/bench/load/chat/bus-services.ts); a node that exited fails it at once. */
function untilRouted(nodes: NatsNode[]): Promise<void> {
  return untilBusRouted(
    nodes.map((node) => node.monitorPort),
    () => {
      for (const node of nodes) {
        if (node.child.exitCode !== null)
          throw new Error(`nats-server exited (${node.child.exitCode}) on ${node.port}`);
      }
    },
  );
}
