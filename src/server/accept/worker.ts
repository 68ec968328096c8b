/**
 * Entry of a pool thread. Strategy handoff: a task per connection (the
 * tutorial's thread-per-client, as a task per client): the acceptor transfers
 * the accepted socket here, and the task settles when the connection closes.
 * Strategy reuseport: the thread listens on the shared port itself from its
 * start (the first thread binds it: reuseport-group.ts), so a replacement thread
 * serves again without being told.
 */
import net from 'node:net';
import { BroadcastChannel, threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import { WorkerStartError } from '../../protocol/index.ts';
import { guardAccepts, type GuardedListener } from './accept-guard.ts';
import { Admission } from './acceptor.ts';
import { ServerCounters } from '../observe/counters.ts';
import { listenInGroup } from './reuseport-group.ts';
import { createServerLog } from '../observe/log.ts';
import type { SessionSummary } from '../session/session.ts';
import { ThreadSessions } from '../session/thread-sessions.ts';
import { injectedFaults } from '../session/injected-faults.ts';
import { type ControlMessage, type WorkerBoot } from './worker-boot.ts';

const boot = workerData as WorkerBoot;
const { options } = boot;
const log = createServerLog(options);

// The control channel first: a `gone` about a thread this one counts as alive must reach it.
const control = new BroadcastChannel(boot.channel);
control.unref(); // the pool keeps the thread alive, not this channel
const say = (message: ControlMessage) => control.postMessage(message);
control.onmessage = (event) => {
  const message = (event as { data: ControlMessage }).data;
  if (message.type === 'shutdown') void stop();
  else if (message.type === 'gone') sessions.chat?.onPeerGone(message.threadId);
};

const counters = new ServerCounters(boot.counters);
const thread = counters.claimSlot(threadId);
const sessions = new ThreadSessions({
  options,
  counters,
  thread,
  log,
  faults: injectedFaults(), // read once, at start: only tests set it
  chat: boot.chat && { threadId, ...boot.chat },
  tls: boot.tls,
});

let listener: net.Server | undefined;
let guard: GuardedListener | undefined;
let stopping: Promise<void> | undefined;

function stop(): Promise<void> {
  stopping ??= (async () => {
    guard?.stop();
    listener?.close();
    thread.listening(false);
    await sessions.shutdown();
    say({ type: 'stopped', threadId });
    control.close();
  })();
  return stopping;
}

// Chat mode: ready once this thread has the roster of every other one.
await sessions.chat?.ready;
if (boot.reuseport === null) {
  say({ type: 'ready', threadId, address: null });
} else {
  const admission = new Admission(counters, options, log, boot.tls);
  // serve() never rejects.
  const server = net.createServer(
    { pauseOnConnect: true },
    admission.onConnection((socket) => void sessions.serve(socket)),
  );
  let address: net.AddressInfo | null;
  try {
    address = await listenInGroup(server, options.host, options.port, boot.reuseport);
  } catch (err) {
    throw new WorkerStartError(`thread ${threadId} cannot listen on port ${options.port}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // null: the first thread could not listen and has said why; the pool stops this one.
  if (address !== null) {
    guard = guardAccepts(server, { host: options.host, port: address.port, reusePort: true }, log);
    listener = server;
    thread.listening(true);
    say({ type: 'ready', threadId, address });
  }
}

/** Strategy handoff: serves one transferred connection until it closes. */
export function serveConnection(task: { socket: net.Socket }): Promise<SessionSummary> {
  thread.taskStarted();
  return sessions.serve(task.socket);
}
