/**
 * Buffers for large echo replies, recycled once the socket has flushed them.
 *
 * An echoed payload that is a view into the shared read buffer must be copied
 * before the next read overwrites it. A fresh 64 KiB allocation per message
 * costs page faults and garbage collection on top of the copy (a third of the
 * server's CPU in a 64 KiB echo profile); a recycled buffer is already mapped.
 */
const MIN_POOLED_BYTES = 16 * 1024;
const MAX_POOLED_BYTES = 2 * 1024 * 1024;
/**
 * Free buffers kept per size class: enough for a burst, bounded memory (at most 32 of
 * each power of two from 16 KiB to 2 MiB: about 128 MiB per thread after large echoes;
 * ThreadSessions drops them all when the thread's last connection closes).
 */
const MAX_FREE_PER_CLASS = 32;

export class ReplyBufferPool {
  readonly #free = new Map<number, Buffer[]>();

  /** A buffer of at least `size` bytes, or null when `size` is outside what is worth pooling. */
  take(size: number): Buffer | null {
    if (size < MIN_POOLED_BYTES || size > MAX_POOLED_BYTES) return null;
    const capacity = 2 ** Math.ceil(Math.log2(size));
    return this.#free.get(capacity)?.pop() ?? Buffer.allocUnsafeSlow(capacity);
  }

  /** Bytes held in free buffers. */
  get freeBytes(): number {
    let bytes = 0;
    for (const [capacity, free] of this.#free) bytes += capacity * free.length;
    return bytes;
  }

  /** Lets every free buffer go (to the garbage collector, and its memory to the system). */
  clear(): void {
    this.#free.clear();
  }

  /** Gives back a buffer from take() once nothing refers to it any more. */
  give(buffer: Buffer): void {
    let free = this.#free.get(buffer.length);
    if (!free) this.#free.set(buffer.length, (free = []));
    if (free.length < MAX_FREE_PER_CLASS) free.push(buffer);
  }
}
