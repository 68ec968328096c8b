import { DEFAULT_HEADER_BYTES, DEFAULT_MAX_MESSAGE_BYTES } from './constants.ts';
import { BadHeaderError, type ProtocolError, TooLargeError } from './errors.ts';
import { assertHeaderBytes, HEADER_MALFORMED, parseHeader } from './header.ts';

export interface FrameDecoderOptions {
  headerBytes?: number;
  maxMessageBytes?: number;
  /**
   * When set, only payloads of exactly this many bytes are handed to `onFrame`; every
   * other frame is only counted (`frames`), its payload never viewed nor copied. The
   * server's ack mode reads nothing but `!DISCONNECT`, so it passes that length: a large
   * payload split across reads then costs no allocation and no copy.
   */
  onlyPayloadsOfLength?: number;
  /**
   * When set, a payload that arrives whole inside one push() is handed here as where it
   * lies in that chunk, `chunk[start, end)`, instead of as a view to `onFrame`: no
   * allocation per frame (a Buffer view costs one). Payloads split across pushes are
   * gathered into a buffer of their own and still go to `onFrame`. The load tester's
   * reply check reads a byte and a length per reply; it needs no view.
   */
  onWholePayload?: WholePayloadHandler;
}

/**
 * Called once per complete frame. `payload` may be a view into the chunk given to
 * push(): it is valid only until the callback returns if the caller reuses that
 * chunk's memory (the server's shared read buffer does). Copy it to keep it.
 */
export type FrameHandler = (payload: Buffer) => void;
export type DecodeErrorHandler = (err: ProtocolError) => void;
/** A payload at `chunk[start, end)`, valid only until the handler returns (see FrameHandler). */
export type WholePayloadHandler = (chunk: Buffer, start: number, end: number) => void;

// Integer states, as in ws's receiver: cheap to compare on every byte run.
const READ_HEADER = 0;
const READ_PAYLOAD = 1;
const STOPPED = 2;

/** A partial payload starts this small and grows, so a declared 1 MiB that never comes costs little. */
const FIRST_PAYLOAD_CAPACITY = 64 * 1024;

/**
 * Streaming decoder for `header + payload` frames. Takes arbitrary chunks (one
 * byte, many frames, a frame split anywhere) and calls `onFrame` per frame.
 *
 * Hot path notes: a payload that arrives whole inside one chunk is handed out
 * as a view (no copy); a split payload is copied into one growing buffer
 * (amortised O(n), never a concat of everything buffered); nothing is
 * allocated from a declared length above `maxMessageBytes`.
 */
export class FrameDecoder {
  readonly headerBytes: number;
  readonly maxMessageBytes: number;
  #onFrame: FrameHandler;
  #onError: DecodeErrorHandler;
  #state = READ_HEADER;
  /** Bytes of a split header gathered so far, in #headerScratch. */
  #headerFilled = 0;
  #headerScratch: Buffer;
  /** Declared length of the payload being gathered. */
  #payloadLength = 0;
  #payloadFilled = 0;
  #payload: Buffer | null = null;
  /** -1: every payload is handed out; else the one length that is. */
  readonly #onlyLength: number;
  readonly #onWhole: WholePayloadHandler | null;
  /** Frames completed since the decoder was made, handed out or not. */
  frames = 0;

  constructor(options: FrameDecoderOptions, onFrame: FrameHandler, onError: DecodeErrorHandler) {
    this.headerBytes = options.headerBytes ?? DEFAULT_HEADER_BYTES;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    assertHeaderBytes(this.headerBytes);
    this.#onlyLength = options.onlyPayloadsOfLength ?? -1;
    this.#onWhole = options.onWholePayload ?? null;
    this.#headerScratch = Buffer.allocUnsafe(this.headerBytes);
    this.#onFrame = onFrame;
    this.#onError = onError;
  }

  /** True while a frame has been started (some header byte read) and not finished. */
  get inFrame(): boolean {
    return this.#headerFilled > 0 || this.#state === READ_PAYLOAD;
  }

  /** True between frames, before any byte of the next one, and not stopped: the next byte starts a header. */
  get atFrameStart(): boolean {
    return this.#state === READ_HEADER && this.#headerFilled === 0;
  }

  /** True once the decoder failed or was stopped: further input is ignored. */
  get stopped(): boolean {
    return this.#state === STOPPED;
  }

  /** Ignore everything from now on (after `!DISCONNECT`, or once the connection is going away). */
  stop(): void {
    this.#state = STOPPED;
    this.#headerFilled = 0;
    this.#payload = null;
  }

  /** Decodes `chunk[0, end)`; `end` lets a caller pass a reused read buffer without slicing it. */
  push(chunk: Buffer, end: number = chunk.length): void {
    const headerBytes = this.headerBytes;
    const onlyLength = this.#onlyLength;
    let pos = 0;
    while (pos < end) {
      const state = this.#state;
      if (state === READ_HEADER) {
        let length: number;
        if (this.#headerFilled === 0 && end - pos >= headerBytes) {
          // Whole header inside the chunk: parse in place, no copy.
          length = parseHeader(chunk, pos, headerBytes, this.maxMessageBytes);
          pos += headerBytes;
        } else {
          const take = Math.min(headerBytes - this.#headerFilled, end - pos);
          chunk.copy(this.#headerScratch, this.#headerFilled, pos, pos + take);
          this.#headerFilled += take;
          pos += take;
          if (this.#headerFilled < headerBytes) return;
          this.#headerFilled = 0;
          length = parseHeader(this.#headerScratch, 0, headerBytes, this.maxMessageBytes);
        }
        if (length < 0) {
          this.#fail(length === HEADER_MALFORMED);
          return;
        }
        if (end - pos >= length) {
          // Whole payload inside the chunk: hand out a view, or where it is (none when it is only counted).
          const start = pos;
          pos += length;
          this.frames++;
          if (onlyLength < 0 || length === onlyLength) {
            if (this.#onWhole !== null) this.#onWhole(chunk, start, pos);
            else this.#onFrame(chunk.subarray(start, pos));
          }
          continue;
        }
        this.#payloadLength = length;
        this.#payload =
          onlyLength < 0 || length === onlyLength
            ? Buffer.allocUnsafe(Math.min(length, Math.max(FIRST_PAYLOAD_CAPACITY, end - pos)))
            : null;
        this.#payloadFilled = 0;
        this.#state = READ_PAYLOAD;
      } else if (state === READ_PAYLOAD) {
        const take = Math.min(this.#payloadLength - this.#payloadFilled, end - pos);
        let payload = this.#payload;
        if (payload === null) {
          // A payload that is only counted: skip its bytes.
          this.#payloadFilled += take;
          pos += take;
          if (this.#payloadFilled < this.#payloadLength) return;
          this.#state = READ_HEADER;
          this.frames++;
          continue;
        }
        if (this.#payloadFilled + take > payload.length) {
          // Grow 4x at a time (capped at the declared length): total copying stays linear
          // and a 1 MiB payload is re-copied twice, not four times.
          const grown = Buffer.allocUnsafe(
            Math.min(this.#payloadLength, Math.max(payload.length * 4, this.#payloadFilled + take)),
          );
          payload.copy(grown, 0, 0, this.#payloadFilled);
          payload = this.#payload = grown;
        }
        chunk.copy(payload, this.#payloadFilled, pos, pos + take);
        this.#payloadFilled += take;
        pos += take;
        if (this.#payloadFilled < this.#payloadLength) return;
        this.#payload = null;
        this.#state = READ_HEADER;
        this.frames++;
        this.#onFrame(payload);
      } else {
        return; // STOPPED
      }
    }
  }

  #fail(malformed: boolean): void {
    this.stop();
    this.#onError(
      malformed
        ? new BadHeaderError('header must be ASCII decimal digits padded with spaces')
        : new TooLargeError(`message exceeds the limit of ${this.maxMessageBytes} bytes`),
    );
  }
}
