#!/usr/bin/env node
/**
 * A stand-in for `handoff serve` with the same start-up contract (JSON lines on
 * stdout: listening, stats on SIGUSR2, stopped on SIGTERM), single-threaded,
 * plus misbehaviour on demand for the bench's tests:
 *   --stall-at-ms T --stall-ms D   hold every reply from T ms after the first message for D ms
 *   --error-after N                answer the Nth message of each connection with !ERROR TIMEOUT and close
 *   --close-after N                close each connection after its Nth message, without a word
 *   --bad-reply-after N            answer the Nth message of each connection with bytes that are no frame
 * Flags of the real server it does not need are accepted and ignored.
 */
import net from 'node:net';
import { parseArgs } from 'node:util';
import { ACK_TEXT, encodeFrame, encodeTextFrame, FrameDecoder } from '../../../src/protocol/index.ts';

const { values } = parseArgs({
  strict: false,
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    workers: { type: 'string', default: '2' },
    strategy: { type: 'string', default: 'handoff' },
    mode: { type: 'string', default: 'ack' },
    'header-bytes': { type: 'string', default: '64' },
    'stall-at-ms': { type: 'string', default: '-1' },
    'stall-ms': { type: 'string', default: '0' },
    'error-after': { type: 'string', default: '0' },
    'close-after': { type: 'string', default: '0' },
    'bad-reply-after': { type: 'string', default: '0' },
  },
});
const headerBytes = Number(values['header-bytes']);
const workers = Number(values.workers);
const echo = values.mode === 'echo';
const stallAt = Number(values['stall-at-ms']);
const stallMs = Number(values['stall-ms']);
const errorAfter = Number(values['error-after']);
const closeAfter = Number(values['close-after']);
const badReplyAfter = Number(values['bad-reply-after']);
const ack = encodeTextFrame(ACK_TEXT, headerBytes);

const perWorker = Array.from({ length: workers }, () => ({ activeConnections: 0, totalConnections: 0, messages: 0 }));
const stats = {
  activeConnections: 0,
  totalConnections: 0,
  refusedConnections: 0,
  messages: 0,
  bytesIn: 0,
  bytesOut: 0,
};
let firstMessageAt = -1;
let stallUntil = -1;
let next = 0;
const line = (event: string, fields: object) =>
  process.stdout.write(`${JSON.stringify({ level: 30, pid: process.pid, event, ...fields })}\n`);
const allStats = () => ({ ...stats, workers: perWorker.map((w) => ({ ...w })) });

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  const w = perWorker[next++ % workers]!;
  w.activeConnections++;
  w.totalConnections++;
  stats.activeConnections++;
  stats.totalConnections++;
  let count = 0;
  const held: Buffer[] = [];
  const send = (frame: Buffer) => {
    stats.bytesOut += frame.length;
    if (Date.now() < stallUntil) {
      if (held.length === 0)
        setTimeout(() => {
          for (const f of held.splice(0)) socket.write(f);
        }, stallUntil - Date.now());
      held.push(frame);
    } else socket.write(frame);
  };
  const decoder = new FrameDecoder(
    { headerBytes },
    (payload) => {
      count++;
      stats.messages++;
      w.messages++;
      const now = Date.now();
      if (firstMessageAt < 0) {
        firstMessageAt = now;
        if (stallAt >= 0)
          setTimeout(() => {
            stallUntil = Date.now() + stallMs;
          }, stallAt);
      }
      if (errorAfter > 0 && count === errorAfter) {
        decoder.stop();
        socket.end(encodeTextFrame('!ERROR TIMEOUT no frame arrived in time (fake)', headerBytes));
        return;
      }
      if (closeAfter > 0 && count === closeAfter) {
        decoder.stop();
        socket.destroy();
        return;
      }
      if (badReplyAfter > 0 && count === badReplyAfter) {
        decoder.stop();
        send(Buffer.from('not a header'.padEnd(headerBytes, ' '), 'latin1'));
        return;
      }
      send(echo ? encodeFrame(payload, headerBytes) : ack);
    },
    () => socket.destroy(),
  );
  socket.on('data', (chunk: Buffer) => {
    stats.bytesIn += chunk.length;
    decoder.push(chunk);
  });
  socket.on('error', () => {});
  socket.on('close', () => {
    w.activeConnections--;
    stats.activeConnections--;
  });
});

server.listen(Number(values.port), values.host as string, () => {
  const address = server.address() as net.AddressInfo;
  line('listening', { host: address.address, port: address.port, workers, strategy: values.strategy });
});
process.on('SIGUSR2', () => line('stats', allStats()));
process.on('SIGTERM', () => {
  line('stopped', allStats());
  process.exit(0);
});
