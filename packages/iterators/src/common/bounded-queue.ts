/**
 * A queue between one producer and one consumer that holds at most `maxItems` items or `maxBytes`
 * bytes: the producer awaits `push` and so stops reading its source while the consumer is behind.
 * It lets ffmpeg encode the next frames while the previous one is being written, without letting
 * a slow consumer pull a whole video into memory.
 */
export class BoundedQueue<T> {
  private items: Array<{ item: T; bytes: number }> = [];
  private bytes = 0;
  private closed = false;
  private error: unknown;
  private wakeConsumer: (() => void) | undefined;
  private wakeProducer: (() => void) | undefined;

  constructor(
    private readonly maxItems: number,
    private readonly maxBytes: number,
  ) {}

  async push(item: T, bytes: number): Promise<void> {
    this.items.push({ item, bytes });
    this.bytes += bytes;
    this.wake('consumer');
    while (!this.closed && (this.items.length >= this.maxItems || this.bytes >= this.maxBytes)) {
      await new Promise<void>((r) => (this.wakeProducer = r));
    }
  }

  close(): void {
    this.closed = true;
    this.wake('consumer');
    this.wake('producer');
  }

  fail(error: unknown): void {
    this.error = error;
    this.close();
  }

  async next(): Promise<IteratorResult<T>> {
    while (this.items.length === 0) {
      if (this.error !== undefined) throw this.error;
      if (this.closed) return { value: undefined, done: true };
      await new Promise<void>((r) => (this.wakeConsumer = r));
    }
    const { item, bytes } = this.items.shift()!;
    this.bytes -= bytes;
    this.wake('producer');
    return { value: item, done: false };
  }

  private wake(who: 'consumer' | 'producer'): void {
    const w = who === 'consumer' ? this.wakeConsumer : this.wakeProducer;
    if (who === 'consumer') this.wakeConsumer = undefined;
    else this.wakeProducer = undefined;
    w?.();
  }
}
