/**
 * Entry of a pool thread. A task per connection: the acceptor transfers the
 * accepted socket here, and the task's promise settles when the connection
 * closes (the tutorial's thread-per-client, as a task per client).
 */
import net from 'node:net';
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import { ConnectionHost } from './connection-host.ts';
import { ServerCounters } from './counters.ts';
import { createServerLog } from './log.ts';
import type { SessionSummary } from './session.ts';
import { SHUTDOWN_MESSAGE, type WorkerBoot } from './worker-boot.ts';

const boot = workerData as WorkerBoot;
const counters = new ServerCounters(boot.counters);
const host = new ConnectionHost({
  options: boot.options,
  counters,
  thread: counters.claimSlot(),
  log: createServerLog(boot.options),
});

let listener: net.Server | undefined;
let stopping: Promise<void> | undefined;
const stopped = Promise.withResolvers<void>();

const control = new BroadcastChannel(boot.channel);
control.unref(); // the pool keeps the thread alive, not this channel
control.onmessage = (event) => {
  if ((event as MessageEvent).data === SHUTDOWN_MESSAGE) void stop();
};

function stop(): Promise<void> {
  stopping ??= (async () => {
    listener?.close();
    await host.shutdown();
    control.close();
    stopped.resolve();
  })();
  return stopping;
}

/** Default task: serve one transferred connection until it closes. */
export default function serveConnection(task: { socket: net.Socket }): Promise<SessionSummary> {
  return host.serve(task.socket);
}

/** Starts the thread before the first client needs it. */
export function warmup(): number {
  return threadId;
}

/**
 * Strategy reuseport: this thread listens on the shared port itself and the
 * kernel spreads connections. The task lasts until the server stops.
 */
export function listen(task: { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = net.createServer({ pauseOnConnect: true }, (socket) => host.accept(socket));
    server.once('error', reject);
    server.listen({ host: task.host, port: task.port, reusePort: true }, () => {
      listener = server;
      counters.markListening();
      void stopped.promise.then(resolve);
    });
  });
}
