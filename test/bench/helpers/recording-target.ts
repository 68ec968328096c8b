// A target for `--target` runs, in the test's process: frames with `headerBytes`, records every
// payload as it arrived (bytes, per connection), and answers each with the ack (or an echo).
import net from 'node:net';
import type { TestContext } from 'node:test';
import { ACK_TEXT, encodeFrame, encodeTextFrame, FrameDecoder } from '../../../src/protocol/index.ts';

export interface RecordingTarget {
  port: number;
  /** Every payload of every connection, in the order each connection sent them. */
  connections: Buffer[][];
  all(): Buffer[];
}

export async function startRecordingTarget(
  t: TestContext,
  { headerBytes = 64, echo = false }: { headerBytes?: number; echo?: boolean } = {},
): Promise<RecordingTarget> {
  const connections: Buffer[][] = [];
  const ack = encodeTextFrame(ACK_TEXT, headerBytes);
  const server = net.createServer((socket) => {
    const seen: Buffer[] = [];
    connections.push(seen);
    const decoder = new FrameDecoder(
      { headerBytes, maxMessageBytes: 1 << 20 },
      (payload) => {
        seen.push(Buffer.from(payload));
        socket.write(echo ? encodeFrame(payload, headerBytes) : ack);
      },
      () => socket.destroy(),
    );
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    all: () => connections.flat(),
  };
}
