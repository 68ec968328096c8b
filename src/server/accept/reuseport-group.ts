/**
 * Strategy reuseport with no listener in the main thread: the first pool thread to
 * start binds the port (port 0 becomes a concrete port there) and publishes it in
 * shared memory; every other thread, and every replacement of a thread that died,
 * joins its SO_REUSEPORT group on that port. The port therefore accepts only once a
 * thread that can serve is listening: nothing accepts a connection it would reset.
 */
import type net from 'node:net';

const STATE = 0;
const PORT = 1;
const UNCLAIMED = 0;
const BINDING = 1;
const BOUND = 2;
const FAILED = 3;

/** The memory every thread of one server shares for it (WorkerBoot). */
export function allocatePortCell(): SharedArrayBuffer {
  return new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
}

/** Listens with `options`; rejects with the listen error (EADDRINUSE...). */
export function listenOn(server: net.Server, options: net.ListenOptions): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve(server.address() as net.AddressInfo);
    });
  });
}

/**
 * Puts `server` into the group: the first caller binds `requestedPort`, the others wait
 * for it (without blocking their event loop) and bind the port it got. Resolves null
 * when the first thread could not listen (it reports that error itself, once).
 */
export async function listenInGroup(
  server: net.Server,
  host: string,
  requestedPort: number,
  cell: SharedArrayBuffer,
): Promise<net.AddressInfo | null> {
  const shared = new Int32Array(cell);
  if (Atomics.compareExchange(shared, STATE, UNCLAIMED, BINDING) === UNCLAIMED) {
    try {
      const address = await listenOn(server, { host, port: requestedPort, reusePort: true });
      Atomics.store(shared, PORT, address.port);
      Atomics.store(shared, STATE, BOUND);
      return address;
    } catch (err) {
      Atomics.store(shared, STATE, FAILED);
      throw err;
    } finally {
      Atomics.notify(shared, STATE);
    }
  }
  while (Atomics.load(shared, STATE) === BINDING) await Atomics.waitAsync(shared, STATE, BINDING).value;
  if (Atomics.load(shared, STATE) === FAILED) return null;
  return listenOn(server, { host, port: Atomics.load(shared, PORT), reusePort: true });
}
