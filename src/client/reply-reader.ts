import { ACK_TEXT, BadReplyError, FrameDecoder, type HandoffError } from '../protocol/index.ts';
import type { ClientAckStyle } from './options.ts';

/** Called once per reply. `payload` may be a view into a socket chunk: copy it to keep it past the call. */
export type ReplyHandler = (payload: Buffer) => void;
/** Called at most once: the server's bytes cannot be read as replies. Nothing is delivered after it. */
export type ReplyErrorHandler = (err: HandoffError) => void;

/** Turns the bytes a server sends into replies, whatever the TCP reads look like. */
export interface ReplyReader {
  push(chunk: Buffer): void;
  /** Ignore everything from now on. */
  stop(): void;
  /** True while a reply has been started and not finished (a dropped connection then lost it). */
  readonly inReply: boolean;
}

export interface ReplyReaderOptions {
  ack: ClientAckStyle;
  headerBytes: number;
  maxMessageBytes: number;
}

export function createReplyReader(
  options: ReplyReaderOptions,
  onReply: ReplyHandler,
  onError: ReplyErrorHandler,
): ReplyReader {
  if (options.ack === 'raw') return new RawAckReader(options, onReply, onError);
  const decoder = new FrameDecoder(options, onReply, onError);
  return {
    push: (chunk) => decoder.push(chunk),
    stop: () => decoder.stop(),
    get inReply() {
      return decoder.inFrame;
    },
  };
}

const ACK_BYTES = Buffer.from(ACK_TEXT, 'latin1');

/**
 * Reads the tutorial's original server, which answers every message with the 12 bytes
 * `Msg received` and no header. The stream is not self-describing, so a reply is
 * exactly those 12 bytes. Limitation: such a server can only ack; an echo reply or
 * any other text cannot be read this way.
 *
 * A reply that starts with anything but `M` cannot be a raw ack. Our own server in
 * `--ack raw` keeps `!ERROR` frames framed, and a header starts with a digit or a
 * space, so from there on the stream is read as frames: that error, or a framed
 * server the user pointed `--ack raw` at, are still understood.
 */
class RawAckReader implements ReplyReader {
  #options: ReplyReaderOptions;
  #onReply: ReplyHandler;
  #onError: ReplyErrorHandler;
  /** Bytes of the current raw ack matched so far. */
  #matched = 0;
  #framed: FrameDecoder | null = null;
  #stopped = false;

  constructor(options: ReplyReaderOptions, onReply: ReplyHandler, onError: ReplyErrorHandler) {
    this.#options = options;
    this.#onReply = onReply;
    this.#onError = onError;
  }

  get inReply(): boolean {
    return this.#framed ? this.#framed.inFrame : this.#matched > 0;
  }

  stop(): void {
    this.#stopped = true;
    this.#framed?.stop();
  }

  push(chunk: Buffer): void {
    for (let pos = 0; pos < chunk.length;) {
      if (this.#stopped) return;
      if (this.#framed) {
        this.#framed.push(pos === 0 ? chunk : chunk.subarray(pos));
        return;
      }
      const byte = chunk[pos]!;
      if (this.#matched === 0 && byte !== ACK_BYTES[0]) {
        this.#framed = new FrameDecoder(this.#options, this.#onReply, this.#onError);
        continue;
      }
      if (byte !== ACK_BYTES[this.#matched]) {
        this.stop();
        this.#onError(
          new BadReplyError(`with --ack raw every reply must be the ${ACK_BYTES.length} bytes "${ACK_TEXT}"`),
        );
        return;
      }
      pos++;
      if (++this.#matched === ACK_BYTES.length) {
        this.#matched = 0;
        this.#onReply(ACK_BYTES);
      }
    }
  }
}
