// Receiver leniency (spaces around the digits, leading zeros) and BAD_HEADER for
// everything else: one `!ERROR BAD_HEADER <text>` frame, then the connection closes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeFrame } from '../../../src/protocol/index.ts';
import {
  assertEndedWithError,
  connect,
  errorOf,
  forEachVariant,
  sharedServer,
  variantOptions,
  VARIANTS_AND_TLS,
} from '../../helpers/wire.ts';

const H = 64;

/** A 64-byte header from its leading bytes, padded with spaces. */
function header(lead: Buffer | string): Buffer {
  const bytes = typeof lead === 'string' ? Buffer.from(lead, 'latin1') : lead;
  const out = Buffer.alloc(H, 0x20);
  bytes.copy(out);
  return out;
}

/** Headers the receiver must accept, with the payload length they announce. */
const LENIENT: Array<[string, Buffer, number]> = [
  ['spaces before the digits', header('     5'), 5],
  ['spaces on both sides of the digits', header('  12'), 12],
  ['leading zeros', header('007'), 7],
  ['zero written as 000', header('000'), 0],
  ['64 digits of which 63 leading zeros', Buffer.from(`${'0'.repeat(63)}3`, 'latin1'), 3],
  ['digits right-aligned (spaces before only)', Buffer.from('4'.padStart(H, ' '), 'latin1'), 4],
];

/** Headers that are not spaces + decimal digits + spaces. */
const BAD: Array<[string, Buffer]> = [
  ['a plus sign', header('+5')],
  ['a minus sign', header('-5')],
  ['an underscore between digits', header('1_0')],
  ['a tab after the digits', header('5\t')],
  ['a tab before the digits', header('\t5')],
  ['a newline after the digits', header('5\n')],
  ['a CR LF after the digits', header('5\r\n')],
  ['a letter after the digits', header('5a')],
  ['a letter alone', header('a')],
  ['hex 0x10', header('0x10')],
  ['a decimal point', header('1.0')],
  ['an exponent', header('1e3')],
  ['a fullwidth digit (UTF-8 EF BC 95)', header(Buffer.from('５', 'utf8'))],
  ['an Arabic-Indic digit (UTF-8 D9 A3)', header(Buffer.from('٣', 'utf8'))],
  ['a latin1 superscript two (B2)', header(Buffer.from([0xb2]))],
  ['a digit then a high byte (5 FF)', header(Buffer.from([0x35, 0xff]))],
  ['spaces only', header('')],
  ['digits space digits', header('1 2')],
  ['a NUL before the digits', header(Buffer.from([0x00, 0x35]))],
  ['a NUL after the digits', header(Buffer.from([0x35, 0x00]))],
  ['all NUL bytes', Buffer.alloc(H, 0)],
  ['a non-space byte at the very end', Buffer.from('5'.padEnd(H - 1, ' ') + 'x', 'latin1')],
];

forEachVariant(
  (variant) => {
    describe('lenient headers', { concurrency: true }, () => {
      const server = sharedServer(variantOptions(variant, { mode: 'echo' }));
      for (const [what, head, length] of LENIENT) {
        test(`a header with ${what} is accepted`, async (t) => {
          const client = await connect(t, server());
          const payload = Buffer.from('abcdefghijklmnopqrstuvwxyz'.slice(0, length));
          await client.sendRaw(Buffer.concat([head, payload]));
          const [reply] = await client.readFrames(1);
          assert.ok(
            reply!.equals(payload),
            `echo of ${JSON.stringify(payload.toString())}, got ${JSON.stringify(reply!.toString())}`,
          );
          assert.equal(errorOf(reply), null);
          // The connection goes on.
          await client.send('next');
          assert.equal(await client.readText(), 'next');
        });
      }
    });

    describe('bad headers', { concurrency: true }, () => {
      const server = sharedServer(variantOptions(variant, { mode: 'echo' }));
      for (const [what, head] of BAD) {
        test(`a header with ${what} gets one !ERROR BAD_HEADER frame, then the connection closes`, async (t) => {
          const client = await connect(t, server());
          await client.sendRaw(head);
          const result = await client.readUntilClose();
          assert.equal(result.frames.length, 1, `exactly one frame, got ${client.describe()}`);
          assertEndedWithError(client, result, 'BAD_HEADER');
          assert.equal(client.decodeError, null, 'the error frame itself is well-formed');
        });
      }

      test('a bad header after good frames: the good ones are answered, then BAD_HEADER, then close', async (t) => {
        const client = await connect(t, server());
        await client.sendRaw(
          Buffer.concat([encodeFrame(Buffer.from('one'), H), encodeFrame(Buffer.from('two'), H), header('-1')]),
        );
        const { frames } = await client.readUntilClose();
        assert.deepEqual(
          frames.slice(0, 2).map((f) => f.toString()),
          ['one', 'two'],
        );
        assert.equal(frames.length, 3);
        assert.equal(errorOf(frames[2])?.code, 'BAD_HEADER');
      });

      test('a bad header on one connection leaves the other connections unaffected', async (t) => {
        const bystander = await connect(t, server());
        const other = await connect(t, server());
        // The bystander is mid-frame while the other connection fails.
        const frame = encodeFrame(Buffer.from('bystander'), H);
        await bystander.sendRaw(frame.subarray(0, 30));
        await other.send('ok');
        assert.equal(await other.readText(), 'ok');
        const bad = await connect(t, server());
        await bad.sendRaw(header('1_000'));
        const { frames } = await bad.readUntilClose();
        assert.equal(errorOf(frames[0])?.code, 'BAD_HEADER');
        await bystander.sendRaw(frame.subarray(30));
        assert.equal(await bystander.readText(), 'bystander');
        await other.send('still ok');
        assert.equal(await other.readText(), 'still ok');
        assert.equal(bystander.closed || other.closed, false);
      });
    });
  },
  { variants: VARIANTS_AND_TLS },
);
