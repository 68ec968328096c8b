/**
 * `npm run fuzz:chat -- --inputs N [--seed S]`: random chat sessions and random Redis bus
 * batches against two chat servers on one redis-server; writes
 * results/<date>-fuzz-chat-<N>-seed-<S>.{md,json} and exits 1 (one line per problem) on a
 * crash, a wrong outcome or a session left open.
 */
import { integer, text } from '../../options/validators.ts';
import { runScript } from '../script.ts';
import { chatFuzzMarkdown } from './chat-report.ts';
import { CHAT_FUZZ_DEFAULTS, type ChatFuzzOptions, chatFuzzProblems, runChatFuzz } from './chat-run.ts';

type Flags = Omit<ChatFuzzOptions, 'onProgress'>;
const DEFAULTS: Flags = { inputs: 10_000, ...CHAT_FUZZ_DEFAULTS };

export function resolveChatFuzzOptions(input: Partial<Flags>): Flags {
  const get = <K extends keyof Flags>(name: K) => input[name] ?? DEFAULTS[name];
  const headerBytes = integer('headerBytes', get('headerBytes'), 4, 1024);
  return {
    inputs: integer('inputs', get('inputs'), 1, 1e9),
    seed: integer('seed', get('seed'), 0, 2 ** 32 - 1),
    concurrency: integer('concurrency', get('concurrency'), 1, 5_000),
    workers: integer('workers', get('workers'), 1, 256),
    headerBytes,
    // Deliveries and !WHO are up to 100 bytes longer than a message, and must fit the header.
    maxMessageBytes: integer(
      'maxMessageBytes',
      get('maxMessageBytes'),
      200,
      Math.min(2 ** 31 - 1, 10 ** Math.min(headerBytes, 15) - 101),
    ),
    closeDeadlineMs: integer('closeDeadlineMs', get('closeDeadlineMs'), 1, 3_600_000),
    redisServer: text('redisServer', get('redisServer'), { nonEmpty: true }),
  };
}

await runScript<Flags, Awaited<ReturnType<typeof runChatFuzz>>>({
  name: 'fuzz:chat',
  flags: [
    { option: 'inputs', flag: 'inputs', kind: 'count', describe: 'inputs to try: sessions and batches' },
    { option: 'seed', flag: 'seed', kind: 'integer', describe: 'seed: the same seed gives the same inputs' },
    { option: 'concurrency', flag: 'concurrency', kind: 'integer', describe: 'inputs in flight at once' },
    { option: 'workers', flag: 'workers', kind: 'integer', describe: "each server's worker threads" },
    { option: 'headerBytes', flag: 'header-bytes', kind: 'integer', describe: 'header size H' },
    { option: 'maxMessageBytes', flag: 'max-message-bytes', kind: 'integer', describe: "the servers' size limit" },
    { option: 'redisServer', flag: 'redis-server', kind: 'string', describe: 'the redis-server program' },
  ],
  defaults: DEFAULTS,
  resolve: resolveChatFuzzOptions,
  run: (options) =>
    runChatFuzz({
      ...options,
      onProgress: (done) => process.stderr.write(`fuzz:chat: ${done} of ${options.inputs} inputs\n`),
    }),
  stem: (options) => `fuzz-chat-${options.inputs}-seed-${options.seed}`,
  markdown: chatFuzzMarkdown,
  problems: chatFuzzProblems,
  summary: (r) =>
    `fuzz:chat: ${r.inputs} inputs in ${r.durationS.toFixed(0)} s, ${r.crashes.length} crashes, ${r.wrong} wrong, ${r.leftOpen} left open`,
});
